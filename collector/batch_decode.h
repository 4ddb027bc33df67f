/*
 * batch_decode.h - turns one untrusted JetStream message into a validated Batch, or a reason to
 * reject it. Everything here assumes the bytes are hostile: the compressed size, the inflated size
 * (a zlib bomb stops at the cap) and the memory protobuf-c may allocate while unpacking are all
 * bounded (per fetched group, see struct batch_budget), a batch with more fields the schema does
 * not know than schema drift explains is refused, and the batch must name the same host as the subject it arrived on (the subject is the
 * authenticated identity: nats-server lets a certificate publish only to its own subject).
 * No I/O, no logging: the consumer decides what to do with a verdict.
 */
#ifndef GWC_BATCH_DECODE_H
#define GWC_BATCH_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ghostwatch.pb-c.h"

#define GW_SUBJECT_PREFIX "ghostwatch.v1.telemetry."
#define GW_HOST_ID_MAX 64

enum batch_verdict {
	BATCH_OK = 0,
	BATCH_BAD_SUBJECT,	/* not ghostwatch.v1.telemetry.<valid host id> */
	BATCH_TOO_LARGE,	/* compressed size over max_compressed */
	BATCH_BAD_ZLIB,		/* not a complete zlib stream (garbage, truncated, trailing bytes) */
	BATCH_INFLATE_CAP,	/* inflates past max_inflated: a zlib bomb or a runaway agent */
	BATCH_BAD_PROTOBUF,	/* does not unpack as a Batch */
	BATCH_DECODE_MEMORY,	/* unpacking would allocate more than max_decode_memory */
	BATCH_NO_HOST,		/* no host identity */
	BATCH_BAD_HOST_ID,	/* host_id empty or not a subject token */
	BATCH_HOST_MISMATCH,	/* batch host_id != subject host id */
	BATCH_BAD_SEQ,		/* seq 0 */
	BATCH_BAD_MSG_ID,	/* Nats-Msg-Id missing or not <host_id>:<nonce>:<seq> (or <host_id>:<seq>) */
	BATCH_TOO_MANY_EVENTS,
	BATCH_UNKNOWN_FIELD,	/* more fields the schema does not have (at any depth) than schema
				 * drift explains: 4 per event and 16 per batch */
	BATCH_DEAD_LETTER,	/* delivered max-deliver times without being settled: set aside */
	BATCH_VERDICT_COUNT
};

struct batch_limits {
	size_t max_compressed;
	size_t max_inflated;
	size_t max_decode_memory;
	size_t max_events;
};

/* Defaults: 4 MiB on the wire (the nats-server max_payload), 32 MiB inflated, 256 MiB of decoded
 * structures, 200k events. */
void batch_limits_default(struct batch_limits *lim);

/* Stable short name of a verdict ("ok", "bad_zlib", ...), used in counters and the report. */
const char *batch_verdict_name(enum batch_verdict v);
/* Inverse of batch_verdict_name; BATCH_VERDICT_COUNT if unknown. */
enum batch_verdict batch_verdict_from_name(const char *name);

/* Letters, digits, '-' and '_', 1..GW_HOST_ID_MAX characters. */
bool host_id_valid(const char *id, size_t len);

/* The host id in a telemetry subject (a pointer into subject), or NULL when the subject is not
 * GW_SUBJECT_PREFIX followed by a valid host id. */
const char *subject_host_id(const char *subject);

struct strbuf;

/* What decoding found besides the verdict. */
struct batch_info {
	size_t inflated_len;	/* protobuf size after inflate */
	size_t bad_events;	/* events that did not decode (corrupt or incompatible schema):
				 * dropped from the batch, the rest is kept */
};

/*
 * Decodes data (len bytes, zlib-compressed protobuf Batch) that arrived on `subject` with the
 * Nats-Msg-Id header `msg_id` (NULL when absent; pass check_msg_id=false to skip that check).
 * scratch (may be NULL) is a buffer reused across calls for the inflated bytes: it saves a large
 * malloc/free per message. On BATCH_OK *out is the batch (free with batch_free()) and *info (if
 * not NULL) says how big it was and how many of its events had to be dropped. Otherwise *out is
 * NULL and detail (if not NULL) holds a one-line explanation.
 */
enum batch_verdict batch_decode(struct strbuf *scratch, const void *data, size_t len,
				const char *subject,
				const char *msg_id, bool check_msg_id,
				const struct batch_limits *lim, Ghostwatch__V1__Batch **out,
				struct batch_info *info, char *detail, size_t detail_len);

void batch_free(Ghostwatch__V1__Batch *batch);

/*
 * The memory decoded batches may hold together, counted with the allocator's overhead: the
 * consumer gives each fetched group one, so a group of batches that each fit a per-batch budget
 * cannot add up past it.
 */
struct batch_budget {
	size_t used;
	size_t limit;
	bool refused;
};

void batch_budget_init(struct batch_budget *b, size_t limit);

/* batch_decode() drawing on a shared budget (lim->max_decode_memory is then not used); a batch
 * decoded so must be freed with batch_free_in() on the same budget, which gives its memory back. */
enum batch_verdict batch_decode_in(struct batch_budget *budget, struct strbuf *scratch,
				   const void *data, size_t len, const char *subject,
				   const char *msg_id, bool check_msg_id,
				   const struct batch_limits *lim, Ghostwatch__V1__Batch **out,
				   struct batch_info *info, char *detail, size_t detail_len);
void batch_free_in(struct batch_budget *budget, Ghostwatch__V1__Batch *batch);

#endif
