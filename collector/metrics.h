/*
 * metrics.h - the collector's Prometheus text metrics and health check over HTTP (libmicrohttpd,
 * its own thread), off unless `--metrics ADDR:PORT` is given. The consumer thread renders a
 * snapshot of what it alone touches (the fleet view, its connection and ack times) and hands it
 * over under a mutex; the HTTP thread only copies the latest snapshot, so no counter is ever read
 * while it is written. /healthz answers 200 "ok" or 503 "degraded: <why>" (no NATS connection,
 * or the consumer thread has not handed a snapshot over for GWC_METRICS_STALL_S seconds: stuck
 * on a full disk or a hung server).
 */
#ifndef GWC_METRICS_H
#define GWC_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <sys/socket.h>

#include <nats/nats.h>

#include "common/log.h"
#include "fleet_view.h"

#define GWC_METRICS_STALL_S 30

struct gwc_metrics;

/* What the consumer knows beyond the fleet view. */
struct gwc_metrics_state {
	bool connected;			/* to nats-server, with the consumer bound */
	uint64_t reconnects;		/* reconnections and re-opened connections since start */
	uint64_t last_ack_unix_ns;	/* 0 = nothing acked yet */
	uint64_t write_failures;	/* NDJSON writes that failed (retried, nothing acked) */
};

/* Parses "IPv4:PORT" or "[IPv6]:PORT" (numeric only); false on anything else. */
bool gwc_metrics_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/* Listens on addr; NULL with err filled when it cannot. */
struct gwc_metrics *gwc_metrics_start(const char *addr, struct gw_log *log, char *err,
				      size_t err_size);
/* Renders and hands over a snapshot (the consumer thread only): at most once a second unless
 * the connection state changed. */
void gwc_metrics_publish(struct gwc_metrics *m, struct fleet_view *v,
			 const struct gwc_metrics_state *s);
/* Writes the Prometheus text of v and s to out (also used by the unit test). */
void gwc_metrics_render(FILE *out, struct fleet_view *v, const struct gwc_metrics_state *s,
			uint64_t now_unix_ns);
/* Reconnections cnats made on nc (0 for NULL). */
uint64_t gwc_metrics_conn_reconnects(natsConnection *nc);
void gwc_metrics_stop(struct gwc_metrics *m);

#endif
