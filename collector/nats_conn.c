#include "nats_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERVERS 16

/* These run on the library's threads; the logger is read-only after start. */
static void on_disconnected(natsConnection *nc, void *closure)
{
	/* also called when we close the connection ourselves at exit: not news */
	if (natsConnection_IsClosed(nc))
		return;
	gw_warn(closure, "disconnected from nats-server: reconnecting");
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	char url[256] = "";

	natsConnection_GetConnectedUrl(nc, url, sizeof(url));
	gw_info(closure, "reconnected to %s", url);
}

static natsStatus fail(natsStatus s, const char *what, char *err, size_t err_len)
{
	natsStatus last;
	const char *text = nats_GetLastError(&last);

	snprintf(err, err_len, "%s: %s%s%s", what, natsStatus_GetText(s), text && *text ? ": " : "",
		 text ? text : "");
	return s;
}

/*
 * cnats loads OpenSSL's default trust store (the system's public CAs) into every TLS context it
 * makes (SSL_CTX_set_default_verify_paths), besides the CA file it is given, so a server
 * certificate from any public CA would pass. Those defaults are read from SSL_CERT_FILE and
 * SSL_CERT_DIR when set: the fleet CA and no directory leave the fleet CA the only trust anchor.
 * Must run before natsOptions_SetSecure(), which makes the context.
 */
static int trust_only_fleet_ca(const char *ca_file)
{
	if (setenv("SSL_CERT_FILE", ca_file, 1) || setenv("SSL_CERT_DIR", "", 1))
		return -1;
	return 0;
}

natsStatus nats_conn_open(natsConnection **nc, const struct nats_conn_opts *o, char *err,
			  size_t err_len)
{
	natsOptions *opts = NULL;
	natsStatus s;
	char *list = strdup(o->servers ? o->servers : "");
	const char *servers[MAX_SERVERS];
	int n = 0;

	*nc = NULL;
	if (!list)
		return fail(NATS_NO_MEMORY, "servers", err, err_len);
	for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok && n < MAX_SERVERS;
	     tok = strtok_r(NULL, ",", &save))
		servers[n++] = tok;
	if (!n) {
		free(list);
		snprintf(err, err_len, "no server URL given");
		return NATS_INVALID_ARG;
	}

	if (!o->ca_file || trust_only_fleet_ca(o->ca_file)) {
		free(list);
		snprintf(err, err_len, "CA file: %s", o->ca_file ? strerror(errno) : "not given");
		return NATS_INVALID_ARG;
	}
	s = natsOptions_Create(&opts);
	if (s == NATS_OK)
		s = natsOptions_SetServers(opts, servers, n);
	if (s == NATS_OK)
		s = natsOptions_SetSecure(opts, true);
	if (s == NATS_OK)
		s = natsOptions_LoadCATrustedCertificates(opts, o->ca_file);
	if (s != NATS_OK) {
		fail(s, "loading the CA file", err, err_len);
		goto out;
	}
	/* Without a client certificate nats-server refuses the handshake; allowed here only so
	 * tests can prove exactly that. */
	if (o->cert_file && *o->cert_file)
		s = natsOptions_LoadCertificatesChain(opts, o->cert_file, o->key_file);
	if (s != NATS_OK) {
		fail(s, "loading the client certificate/key", err, err_len);
		goto out;
	}
	if (o->inbox_prefix)
		s = natsOptions_SetCustomInboxPrefix(opts, o->inbox_prefix);
	if (s == NATS_OK && o->name)
		s = natsOptions_SetName(opts, o->name);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(opts, o->connect_timeout_ms ? o->connect_timeout_ms : 2000);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(opts, o->retry_forever ? -1 : 0);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(opts, 250);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectJitter(opts, 250, 500);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectBufSize(opts, 64 << 20);
	if (s == NATS_OK && o->log)
		s = natsOptions_SetDisconnectedCB(opts, on_disconnected, (void *)o->log);
	if (s == NATS_OK && o->log)
		s = natsOptions_SetReconnectedCB(opts, on_reconnected, (void *)o->log);
	if (s == NATS_OK && o->closed_cb)
		s = natsOptions_SetClosedCB(opts, o->closed_cb, o->closed_closure);
	if (s != NATS_OK) {
		fail(s, "setting connection options", err, err_len);
		goto out;
	}
	s = natsConnection_Connect(nc, opts);
	if (s != NATS_OK)
		fail(s, "connecting", err, err_len);
out:
	natsOptions_Destroy(opts);
	free(list);
	return s;
}
