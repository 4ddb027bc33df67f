/*
 * nats_conn.h - opening a mutual-TLS connection to nats-server the way every ghostwatch fleet
 * component must: TLS only, the fleet CA as the only trust anchor, a client certificate (its CN is
 * the identity nats-server maps to permissions), an inbox prefix the account's permissions allow
 * (_GW_INBOX.<identity>), endless reconnects with jitter across all listed servers.
 */
#ifndef GWC_NATS_CONN_H
#define GWC_NATS_CONN_H

#include <stddef.h>

#include <nats/nats.h>

#include "common/log.h"

struct nats_conn_opts {
	const char *servers;	/* comma-separated URLs, tls://host:port */
	const char *ca_file;
	const char *cert_file;
	const char *key_file;
	const char *inbox_prefix;
	const char *name;	/* connection name shown by nats-server */
	int connect_timeout_ms;
	bool retry_forever;	/* reconnect forever once connected */
	const struct gw_log *log;	/* if set, disconnects and reconnects are logged */
	natsConnectionHandler closed_cb;	/* if set, called (on cnats' thread) once closed */
	void *closed_closure;
};

/* On failure returns the status and writes why (with nats' own error text) into err. */
natsStatus nats_conn_open(natsConnection **nc, const struct nats_conn_opts *o, char *err,
			  size_t err_len);

#endif
