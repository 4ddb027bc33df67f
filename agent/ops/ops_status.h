/*
 * ops_status.h - `ghostwatch status`: the running agent's health for a person. Reads the ops
 * endpoint the config names (metrics.listen) over HTTP, /healthz and /metrics, and prints them
 * as a few lines: health, version and uptime, hooks, events, drops, spool and collector, score,
 * findings. The numbers are the endpoint's, so they match what a scraper sees.
 */
#ifndef GW_OPS_STATUS_H
#define GW_OPS_STATUS_H

#include <stddef.h>
#include <stdio.h>

/* Prints the status; the exit status: 0 healthy, 1 degraded or unreachable, 2 bad config. */
int ops_status_main(const char *config_path, FILE *out);

/* Prints a person's view of Prometheus text (the endpoint's /metrics) and the health line. */
void ops_status_print(FILE *out, const char *metrics, const char *health);

#endif
