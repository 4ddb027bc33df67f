/*
 * read.h - `ghostwatch-collector read`: the stored batches of the stream printed back as NDJSON
 * (the event lines the collector writes, and one line per message it would reject), through an
 * ephemeral pull consumer that acknowledges nothing: the durable consumer the collectors share is
 * never touched, and the server removes the ephemeral once it is idle (the collector's NATS user
 * may create consumers but not delete them).
 */
#ifndef GWC_READ_H
#define GWC_READ_H

#include <stdint.h>
#include <stdio.h>

#include "batch_decode.h"
#include "common/log.h"
#include "nats_conn.h"

struct read_opts {
	struct nats_conn_opts nats;
	const char *stream;
	const char *host;		/* NULL = every host */
	int64_t since_unix_ns;		/* 0 = from the first stored message */
	uint64_t from_seq;		/* stream sequence to start at, 0 = see since_unix_ns */
	uint64_t limit;			/* messages at most, 0 = until caught up */
	struct batch_limits limits;
	struct gw_log log;
};

/* Parses an RFC 3339 UTC time (2026-12-07T04:00:00Z) or an age (90s, 30m, 2h, 7d) into Unix ns. */
bool read_parse_since(const char *s, int64_t now_unix_ns, int64_t *out);

/* Prints the messages to out; returns the process exit code (0, 1 on a failure). */
int collector_read(const struct read_opts *o, FILE *out);

#endif
