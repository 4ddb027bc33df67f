/*
 * forwarder_internal.h - what the forwarder's threads share: its state (queue, spool, NATS
 * connection, counters) and the backoff and deadline helpers. The writer thread
 * (forwarder_writer.c) moves batches from the queue to the spool, the publisher
 * (forwarder_publish.c) from the spool to JetStream over the connection forwarder_nats.c sets up
 * and closes. Private to agent/fleet/forwarder*.c; the API is forwarder.h.
 */
#ifndef FORWARDER_INTERNAL_H
#define FORWARDER_INTERNAL_H

#include "forwarder.h"
#include "unacked_ages.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <nats/nats.h>

/* Publish failures are logged at the first one and then every this many, not every retry. */
#define LOG_EVERY_N_FAILURES 20

/*
 * Stopping: how long a drain may take before cnats closes the connection anyway, and how long we
 * wait for its closed callback. A stopping agent must not hang on an unresponsive collector.
 */
#define DRAIN_TIMEOUT_MS 2000
#define CLOSED_CB_WAIT_MS 5000

struct gw_forwarder {
	struct gw_log *log;
	struct gw_host_identity host;
	Ghostwatch__V1__HostIdentity host_pb;
	char subject[512];
	uint32_t publish_timeout_ms;
	uint32_t reconnect_min_ms;
	uint32_t reconnect_max_ms;

	/* queue (event loop -> writer), guarded by qlock */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct gw_batch_draft **queue;
	size_t q_cap, q_head, q_len, q_limit;
	bool stopping;
	uint64_t submitted;
	uint64_t queue_dropped_batches, queue_dropped_events;
	uint64_t reported_queue_batches, reported_queue_events;

	/* spool (writer appends, publisher peeks/acks), guarded by slock */
	pthread_mutex_t slock;
	pthread_cond_t scond; /* new batch spooled, batch acked, or stopping */
	struct gw_spool *spool;
	uint64_t reported_recovered;
	uint64_t spooled, spool_errors;
	struct unacked_ages ages;
	uint64_t last_ack_ns; /* realtime */
	struct gw_forwarder_stats spool_seen; /* peek_stats' last read (the loop's thread only) */

	/* NATS: nc is created by the publisher; stop drains it to cut a pending publish short */
	natsOptions *opts;
	natsConnection *nc;
	jsCtx *js;
	/*
	 * Connections cnats handed us, and those whose closed callback has run (both under qlock,
	 * signalled on qcond). cnats delivers callbacks on its own thread after the close (ours, a
	 * drain's, or its own after an authorization failure); the closed callback is the last one,
	 * so a connection is only destroyed (and f freed) once every opened one has been counted.
	 */
	uint64_t opened_conns;
	uint64_t closed_conns;
	unsigned reconnect_rng;
	unsigned connects_pending; /* connections started before the server answered */

	atomic_uint_fast64_t published, published_events, duplicates, suspicious_duplicates,
		publish_errors,
		bytes_published, disconnects, reconnects, async_errors;
	atomic_bool connected;

	pthread_t writer, publisher;
	bool writer_started, publisher_started;
};

static inline unsigned next_rand(unsigned *state)
{
	/* xorshift32: only for jitter */
	unsigned x = *state ? *state : 0x9e3779b9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

/* Exponential backoff from min to max, with "equal jitter": half fixed, half random. */
static inline int64_t backoff_ms(uint32_t min_ms, uint32_t max_ms, unsigned attempt, unsigned *rng)
{
	uint64_t base = min_ms;

	for (unsigned i = 0; i < attempt && base < max_ms; i++)
		base *= 2;
	if (base > max_ms)
		base = max_ms;
	return (int64_t)(base / 2 + next_rand(rng) % (base / 2 + 1));
}

static inline uint64_t now_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void deadline_after(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* forwarder_nats.c */
void forwarder_nats_on_connected(natsConnection *nc, void *closure);
void forwarder_nats_begin_close(natsConnection *nc);
void forwarder_nats_close(struct gw_forwarder *f, natsConnection *nc, jsCtx *js);
int forwarder_nats_options(struct gw_forwarder *f, const struct gw_config *cfg, char *err,
			   size_t errlen);

/* forwarder_writer.c */
void *forwarder_writer_main(void *arg);

/* forwarder_publish.c */
void *forwarder_publish_main(void *arg);

#endif
