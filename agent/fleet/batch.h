/*
 * batch.h - fleet batches: who this host is (HostIdentity), collecting a window of events into a
 * draft, and turning a draft into the bytes that go to the spool and the wire (a serialized
 * ghostwatch.v1.Batch, zlib-compressed), plus the inverse for tests and the collector.
 *
 * Events are packed into the draft as they arrive (each one as an encoded `Batch.events` field), so
 * the builder keeps no pointers into the caller's event and its memory is just bytes. The fields
 * that are only known when the batch reaches the spool (seq, SpoolState) are encoded then and
 * prepended: protobuf fields may come in any order, so header + events + stats is a valid Batch.
 *
 * Wire format (what the collector decodes): zlib stream (RFC 1950, deflate) of one serialized
 * ghostwatch.v1.Batch. A draft is cut before its serialized events reach GW_BATCH_MAX_RAW_BYTES, so
 * the compressed message stays under NATS's default 1 MiB max_payload even for incompressible data.
 */
#ifndef GW_BATCH_H
#define GW_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ghostwatch.pb-c.h"

#define GW_BATCH_MAX_RAW_BYTES (768u << 10)
/* Decoders refuse a batch that inflates beyond this (zlib bombs). */
#define GW_BATCH_MAX_INFLATED (16u << 20)

#define GW_HOST_FIELD_LEN 256

struct gw_host_identity {
	char host_id[GW_HOST_FIELD_LEN];
	char machine_id[GW_HOST_FIELD_LEN];
	char hostname[GW_HOST_FIELD_LEN];
	char boot_id[GW_HOST_FIELD_LEN];
	char agent_version[GW_HOST_FIELD_LEN];
	char kernel_release[GW_HOST_FIELD_LEN];
	char cert_identity[GW_HOST_FIELD_LEN];
	char employee_id[GW_HOST_FIELD_LEN]; /* the config's employee.id, "" when not declared */
	char employee_timezone[GW_HOST_FIELD_LEN]; /* employee.timezone, "" when not declared */
	uint64_t agent_start_ns; /* wall clock: this agent process's start */
	uint64_t boot_time_ns;	 /* wall clock: the host's boot */
};

/*
 * Reads the host's identity: machine-id (/etc/machine-id, else /var/lib/dbus/machine-id), hostname
 * and kernel release (uname), boot id, and the subject CN of the client certificate at cert_path
 * (NULL or unreadable: error). host_id is host_id_override when non-empty, else the machine-id,
 * which is already a valid NATS subject token (32 hex digits). Returns 0 or -1 with a message.
 */
int gw_host_identity_load(struct gw_host_identity *h, const char *host_id_override,
			  const char *cert_path, char *err, size_t errlen);

/* The subject CN of a PEM certificate; 0 or -1 with a message. */
int gw_cert_subject_cn(const char *cert_path, char *out, size_t outlen, char *err, size_t errlen);

/* Points a HostIdentity message at h's strings (no copies: h must outlive the message). */
void gw_host_identity_to_pb(const struct gw_host_identity *h, Ghostwatch__V1__HostIdentity *pb);

/* A finished window, waiting for its seq: owned bytes, freed with gw_batch_draft_free(). */
struct gw_batch_draft {
	uint8_t *events; /* encoded Batch.events fields */
	size_t events_len;
	uint32_t n_events;
	uint64_t window_start_ns;
	uint64_t window_end_ns;
	uint8_t *stats; /* encoded Batch.stats field, or NULL */
	size_t stats_len;
	uint8_t *score; /* encoded Batch.fraud_score field, or NULL */
	size_t score_len;
	uint8_t *profile; /* encoded Batch.activity_profile field, or NULL */
	size_t profile_len;
	uint8_t *place; /* encoded Batch.place field, or NULL */
	size_t place_len;
};

struct gw_batch_builder {
	uint8_t *buf;
	size_t len, cap;
	uint32_t n_events;
	uint32_t max_events;
	uint64_t window_start_ns;
};

void gw_batch_builder_init(struct gw_batch_builder *b, uint32_t max_events, uint64_t start_ns);
void gw_batch_builder_free(struct gw_batch_builder *b);

/*
 * Adds an event. Returns 0; 1 when the draft is full (max events or bytes; cut it and add again);
 * -E2BIG when this one event alone could never fit (the caller counts it as a drop); -ENOMEM.
 */
int gw_batch_add(struct gw_batch_builder *b, const Ghostwatch__V1__Event *ev);

/*
 * Hands the window's events over as a draft (stats may be NULL) and starts the next window at
 * end_ns. Returns NULL on ENOMEM (the events are then dropped and the builder is reset).
 */
struct gw_batch_draft *gw_batch_cut(struct gw_batch_builder *b, uint64_t end_ns,
				    const Ghostwatch__V1__AgentStats *stats);
/* The host's fraud score when the window was cut (Batch.fraud_score). 0 or -ENOMEM (then the
 * batch goes without it). */
int gw_batch_draft_set_score(struct gw_batch_draft *d, const Ghostwatch__V1__FraudScore *score);
/* The host's activity profile when the window was cut (Batch.activity_profile). 0 or -ENOMEM. */
int gw_batch_draft_set_profile(struct gw_batch_draft *d,
			       const Ghostwatch__V1__ActivityProfile *profile);
/* Where the host was when the window was cut (Batch.place): a serialized Place, copied. 0 or
 * -ENOMEM (then the batch goes without it). */
int gw_batch_draft_set_place(struct gw_batch_draft *d, const uint8_t *place, size_t len);
/* The compact form of a Place event for batch headers (no neighbour list, no change, no
 * changer), serialized into *out (malloc'd). 0 or -ENOMEM. */
int gw_batch_compact_place(const Ghostwatch__V1__Place *p, uint8_t **out, size_t *len);
void gw_batch_draft_free(struct gw_batch_draft *d);

/*
 * Serializes and compresses a draft with its seq, host and spool state. *out is malloc'd.
 * raw_len (may be NULL) receives the uncompressed size. Returns 0 or -errno.
 */
int gw_batch_encode(const struct gw_batch_draft *d, const Ghostwatch__V1__HostIdentity *host,
		    uint64_t seq, const Ghostwatch__V1__SpoolState *spool, int zlib_level,
		    uint8_t **out, size_t *out_len, size_t *raw_len);

/*
 * Inflates (refusing more than max_inflated bytes) and unpacks a batch. Returns the message (free
 * with ghostwatch__v1__batch__free_unpacked(b, NULL)) or NULL with a reason in err.
 */
Ghostwatch__V1__Batch *gw_batch_decode(const uint8_t *data, size_t len, size_t max_inflated,
				       char *err, size_t errlen);

#endif
