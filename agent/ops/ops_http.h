/*
 * ops_http.h - the ops endpoint's HTTP side (libmicrohttpd, its own thread): GET /metrics serves
 * the latest Prometheus text the event loop handed over, /healthz answers 200 "ok" or 503
 * "degraded: <why>" (the loop has not handed anything over for OPS_HTTP_STALL_S seconds, or the
 * hooks verdict it handed over says why). The HTTP thread never touches the agent: the loop calls
 * ops_http_publish() with finished text, which is swapped in under a mutex.
 */
#ifndef GW_OPS_HTTP_H
#define GW_OPS_HTTP_H

#include <stddef.h>

#include "core/listen_addr.h"

#define OPS_HTTP_STALL_S 10

struct ops_http;

/* Listens on la (a unix socket is created 0600, replacing a stale one); NULL with err filled. */
struct ops_http *ops_http_start(const struct listen_addr *la, const char *name, char *err,
				size_t errlen);
/* Takes text (malloc'd, len bytes) and the hooks verdict ("" when healthy). */
void ops_http_publish(struct ops_http *h, char *text, size_t len, const char *why);
/* Stops the thread and removes its unix socket. */
void ops_http_stop(struct ops_http *h);

#endif
