/*
 * consumer_internal.h - what the collector's main loop (consumer.c) shares with its stream
 * connection (consumer_stream.c: stream, durable consumer, bounded close) and its group processing
 * (consumer_group.c: decode, write, fdatasync, store the fleet view, then ack): the collector's
 * state while it runs.
 * Private to collector/consumer*.c; the API is consumer.h.
 */
#ifndef CONSUMER_INTERNAL_H
#define CONSUMER_INTERNAL_H

#include "consumer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "fleet_detect.h"
#include "fleet_kv.h"
#include "metrics.h"
#include "ndjson_writer.h"
#include "strbuf.h"

#define SUBJECT_FILTER GW_SUBJECT_PREFIX ">"
#define FLEET_ALERTS_MAX 64

/*
 * Stopping: how long the last acks may take to flush, and how long we wait for cnats' closed
 * callback. A collector stopping while nats-server does not answer must not hang.
 */
#define FLUSH_TIMEOUT_MS 2000
#define CLOSED_CB_WAIT_S 5

/* What one collector process holds while it runs. */
struct collector {
	struct collector_opts *o;
	natsConnection *nc;
	jsCtx *js;
	natsSubscription *sub;
	kvStore *kv;		/* the fleet bucket */
	bool view_loaded;	/* the bucket was read into `view` (once, at the first connect) */
	/* Connections cnats handed us, and those whose closed callback has run (under lock,
	 * signalled on cond): a connection is destroyed only once cnats is done with it. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t opened_conns, closed_conns;
	struct ndjson_writer out;
	struct fleet_view view;	/* the cache of the fleet bucket */
	int sig_fd;
	uint64_t last_stats_ns, last_msg_ns, last_egress_ns, last_refresh_ns;
	uint64_t first_group_ns, last_group_done_ns;	/* busy time, for throughput figures */
	uint64_t rejected_logged;
	struct strbuf inflated;	/* scratch for batch_decode, reused */
	struct batch_budget budget;	/* decoded batches of the group being processed */
	struct strbuf lines;	/* NDJSON of the chunk being decoded, reused */
	FILE *lines_out;	/* stdio stream appending to `lines` (the JSON emitter writes FILE*) */
	uint64_t write_failures, store_failures, kv_conflicts, findings_unpublished;
	uint64_t own_batches, own_events;	/* written and acked by this process */
	struct gwc_metrics *metrics;
	uint64_t last_ack_unix_ns, reconnects_base;
};

/* One message of a fetched group and what to do with it once its output is on disk. */
struct pending {
	natsMsg *msg;
	Ghostwatch__V1__Batch *batch;	/* accepted and new: record after the write */
	size_t bad_events;		/* of that batch, dropped as undecodable */
	enum batch_verdict verdict;
	char host_id[GW_HOST_ID_MAX + 1];	/* whose it is, "" when the subject names none */
	bool written;	/* its output (if any) is on disk */
	bool recorded;	/* its host's value in the fleet bucket says what it said */
};

static inline uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* consumer.c */
bool consumer_stop_requested(struct collector *c);

/* consumer_stream.c */
void consumer_stream_close(struct collector *c);
int consumer_stream_connect(struct collector *c, bool *stop);
/* Hands the metrics thread what it serves next (no-op when metrics are off). */
void consumer_stream_publish_metrics(struct collector *c);

/* consumer_group.c */
void consumer_group_process(struct collector *c, natsMsgList *list, struct pending *p,
			    bool *stop);
/* Writes alerts to the NDJSON, publishes them on the fleet findings subject and marks them on
 * their hosts in the bucket (one not marked is due again next time). */
void consumer_raise(struct collector *c, struct fleet_alert *alerts, size_t n, uint64_t wall);

#endif
