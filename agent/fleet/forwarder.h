/*
 * forwarder.h - moves finished batch drafts from the event loop to the collector without ever
 * blocking the event loop:
 *
 *   event loop --gw_forwarder_submit()--> bounded queue --writer thread--> spool (seq, encode,
 *   append, fdatasync per group) --publisher thread--> NATS JetStream (mTLS) --PubAck--> spool ack
 *
 * submit() never waits: when the queue is full the draft is dropped and counted, and the count goes
 * into the SpoolState of the next batch that makes it. The writer assigns each batch its seq (from
 * the spool, so it survives restarts) and fills SpoolState. The publisher sends the oldest
 * unacknowledged batch to `<subject_prefix>.<host_id>` with Nats-Msg-Id `<host_id>:<seq>`, and acks
 * it in the spool only after JetStream's PubAck; on failure it retries the same batch with
 * jittered exponential backoff, so delivery is at-least-once and the stream's duplicate window
 * makes it effectively once. cnats reconnects on its own threads, with the same jittered backoff.
 */
#ifndef GW_FORWARDER_H
#define GW_FORWARDER_H

#include <stdbool.h>
#include <stdint.h>

#include "batch.h"
#include "core/config.h"
#include "common/log.h"
#include "spool.h"

struct gw_forwarder;

struct gw_forwarder_stats {
	uint64_t submitted;
	uint64_t queue_depth;
	uint64_t queue_dropped_batches; /* totals since start */
	uint64_t queue_dropped_events;
	uint64_t spooled;
	uint64_t spool_errors;
	uint64_t published;	/* PubAcks received */
	uint64_t published_events;
	uint64_t duplicates;	/* PubAcks saying the stream already had it (a re-send) */
	uint64_t suspicious_duplicates; /* "duplicate" on a batch's first attempt: published again
					 * under a fresh id, since another host may have taken it */
	uint64_t publish_errors;
	uint64_t bytes_published;
	uint64_t disconnects;
	uint64_t reconnects;
	bool connected;
	struct gw_spool_stats spool;
	uint64_t oldest_unacked_ns; /* realtime the oldest unacked batch was spooled, 0: none */
	uint64_t last_ack_ns;	    /* realtime of the last PubAck, 0: none yet */
};

/* Counters not yet reported in a batch, handed from a stopped forwarder to its replacement. */
struct gw_forwarder_carry {
	uint64_t queue_dropped_batches;
	uint64_t queue_dropped_events;
};

/*
 * Opens the spool, loads the TLS material and starts the writer and publisher threads. Connecting
 * happens in the background (a collector that is down is not an error: batches wait in the spool).
 * Returns NULL with a message for what cannot work: unusable spool, unreadable certificate or key.
 * carry may be NULL.
 */
struct gw_forwarder *gw_forwarder_start(const struct gw_config *cfg,
					const struct gw_host_identity *host, struct gw_log *log,
					const struct gw_forwarder_carry *carry, char *err,
					size_t errlen);

/*
 * Queues a draft (takes ownership). Never blocks. Returns 0, or -ENOBUFS when the queue was full:
 * the draft is freed and counted.
 */
int gw_forwarder_submit(struct gw_forwarder *f, struct gw_batch_draft *d);

/* Applies what can change without a new connection: spool limits, queue length. */
void gw_forwarder_reconfigure(struct gw_forwarder *f, const struct gw_config *cfg);

/*
 * Writes every queued draft to the spool, syncs it, drains and closes the connection (a few
 * seconds at most when the collector does not answer) and joins the threads. Unpublished batches
 * stay in the spool for the next start. carry (may be NULL) receives the counters no batch has
 * reported yet.
 */
void gw_forwarder_stop(struct gw_forwarder *f, struct gw_forwarder_carry *carry);

void gw_forwarder_get_stats(struct gw_forwarder *f, struct gw_forwarder_stats *st);

/*
 * The same without waiting for the spool lock, which the writer holds across fdatasync (a slow
 * or hung disk): the spool's part is then the last one this call read. For the event loop only
 * (one thread), which must never block on the disk.
 */
void gw_forwarder_peek_stats(struct gw_forwarder *f, struct gw_forwarder_stats *st);

/* Blocks until the spool holds no unacknowledged batch or timeout_ms passes; true when drained. */
bool gw_forwarder_wait_drained(struct gw_forwarder *f, int timeout_ms);

#endif
