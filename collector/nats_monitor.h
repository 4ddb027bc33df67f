/*
 * nats_monitor.h - what nats-server's monitoring endpoint says about its clients: for each
 * connection, open or recently closed (/connz?auth=true&state=any), the address it came from and
 * the user its certificate mapped to ("CN=<host id>"). Plain HTTP to a loopback listener (the
 * deploy configs bind monitoring to 127.0.0.1), read with a bounded size and timeout.
 */
#ifndef GWC_NATS_MONITOR_H
#define GWC_NATS_MONITOR_H

#include <stdbool.h>
#include <stddef.h>

#define NATS_MONITOR_MAX_BYTES (64u << 20)

struct nats_client_addr {
	char ip[64];
	char user[160];
};

/* Whether url is "http://HOST:PORT" (no path) this module can read. */
bool nats_monitor_url_valid(const char *url);

/* The server's client connections in *out (malloc'd, *n of them): 0, or -1 with err set. */
int nats_monitor_connz(const char *url, struct nats_client_addr **out, size_t *n, char *err,
		       size_t errlen);

/* The connections of a connz JSON document (exposed for tests): same result as above. */
int nats_monitor_parse(const char *json, size_t len, struct nats_client_addr **out, size_t *n);

#endif
