/*
 * cli.h - the collector's command line: its usage text, the option codes its subcommands share,
 * and the parsing of `run`'s options into struct collector_opts.
 */
#ifndef GWC_CLI_H
#define GWC_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "consumer.h"

enum {
	OPT_SERVER = 256, OPT_CA, OPT_CERT, OPT_KEY, OPT_STREAM, OPT_REPLICAS, OPT_MAX_AGE,
	OPT_MAX_STREAM_BYTES, OPT_DUP_WINDOW, OPT_DURABLE, OPT_OUT_DIR, OPT_OUT_NAME,
	OPT_MAX_FILE_BYTES, OPT_KEEP, OPT_BUCKET, OPT_FETCH, OPT_ACK_WAIT, OPT_MAX_BATCH,
	OPT_MAX_INFLATED, OPT_MAX_EVENTS, OPT_MAX_DECODE, OPT_IDLE_EXIT, OPT_STATS_INTERVAL, OPT_LOG_LEVEL,
	OPT_MAX_DELIVER, OPT_MAX_PER_HOST, OPT_FETCH_MAX_BYTES, OPT_METRICS, OPT_NATS_MONITOR,
	OPT_NATS_MONITOR_INTERVAL, OPT_SILENCED_AFTER, OPT_SILENT_DAYS, OPT_ENROLLED,
};

void cli_usage(FILE *f);

/* Parses `run` options into o: 0, -1 after --help, or an exit code. */
int cli_parse_run(int argc, char **argv, struct collector_opts *o);

/* "--opt 'val': why" on stderr; returns the usage exit code. */
int cli_bad_value(const char *opt, const char *val, const char *why);

/* A byte count or number, with K, M or G (binary) after it. */
bool cli_parse_size(const char *s, uint64_t *out);

/* A JetStream bucket name: 1-64 of [A-Za-z0-9_-]. */
bool cli_bucket_name_valid(const char *s);

#endif
