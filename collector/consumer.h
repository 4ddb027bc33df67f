/*
 * consumer.h - the collector's main loop: make sure the GHOSTWATCH stream exists, bind to the
 * shared durable pull consumer, and for each fetched group of messages decode and validate every
 * batch, write the accepted ones as NDJSON, fdatasync, and only then ack them (rejected ones are
 * terminated so they are not redelivered, and counted; one delivered max_deliver times without
 * being settled, which would otherwise come back for ever, is terminated unread and counted as a
 * dead letter). Each batch is recorded in the fleet view's key-value bucket (fleet_kv.h) before
 * its message is acked. The decoded batches of a group share one memory budget. Several collector
 * processes bound to the same durable split the stream between them and share the bucket.
 */
#ifndef GWC_CONSUMER_H
#define GWC_CONSUMER_H

#include <stdint.h>

#include "batch_decode.h"
#include "common/log.h"
#include "nats_conn.h"
#include "tamper.h"

struct collector_opts {
	struct nats_conn_opts nats;
	const char *stream;
	const char *durable;
	int replicas;
	int64_t max_age_ns;
	int64_t max_stream_bytes;
	int64_t duplicate_window_ns;
	const char *out_dir;
	const char *out_name;
	uint64_t max_file_bytes;
	unsigned keep_files;
	const char *bucket;	/* the fleet view's key-value bucket */
	int fetch_batch;
	int64_t ack_wait_ns;
	int max_deliver;		/* the delivery that reaches it is set aside (dead letter) */
	int64_t max_msgs_per_host;	/* per subject, i.e. per host: a flood evicts only its own */
	int64_t fetch_max_bytes;	/* compressed bytes one fetched group may hold */
	int idle_exit_s;	/* 0 = run until SIGINT/SIGTERM */
	int stats_interval_s;
	const char *metrics_addr;	/* NULL = no metrics/health endpoint */
	const char *nats_monitor;	/* http://HOST:PORT of nats-server monitoring, NULL = off */
	int nats_monitor_interval_s;
	struct batch_limits limits;
	struct gw_log log;
	struct tamper_opts tamper;
};

void collector_opts_default(struct collector_opts *o);

/* Runs until SIGINT/SIGTERM (or idle_exit_s without messages). Returns the process exit code. */
int collector_run(struct collector_opts *o);

#endif
