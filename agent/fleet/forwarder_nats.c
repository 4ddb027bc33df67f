/* forwarder_nats.c - the forwarder's NATS connection: options, TLS trust, callbacks, closing. */
#include "forwarder_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <nats/nats.h>

/* ---- NATS callbacks (run on cnats threads) ------------------------------------------------ */

static void on_disconnected(natsConnection *nc, void *closure)
{
	struct gw_forwarder *f = closure;
	const char *last = NULL;

	natsConnection_GetLastError(nc, &last);
	atomic_store(&f->connected, false);
	atomic_fetch_add(&f->disconnects, 1);
	if (natsConnection_IsClosed(nc))
		return; /* our own shutdown */
	gw_warn(f->log, "forwarder: disconnected from the collector%s%s; batches wait in the spool",
		last && *last ? ": " : "", last && *last ? last : "");
}

void forwarder_nats_on_connected(natsConnection *nc, void *closure)
{
	struct gw_forwarder *f = closure;
	char url[256] = "";

	natsConnection_GetConnectedUrl(nc, url, sizeof(url));
	atomic_store(&f->connected, true);
	gw_info(f->log, "forwarder: connected to %s", url);
	pthread_mutex_lock(&f->slock);
	pthread_cond_broadcast(&f->scond);
	pthread_mutex_unlock(&f->slock);
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	struct gw_forwarder *f = closure;

	atomic_fetch_add(&f->reconnects, 1);
	forwarder_nats_on_connected(nc, closure);
}

static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus err,
			   void *closure)
{
	struct gw_forwarder *f = closure;
	const char *last = NULL;

	(void)sub;
	/* a refused publish is reported on every retry: log the first and then every Nth */
	if (atomic_fetch_add(&f->async_errors, 1) % LOG_EVERY_N_FAILURES)
		return;
	natsConnection_GetLastError(nc, &last);
	gw_warn(f->log, "forwarder: collector reported: %s%s%s", natsStatus_GetText(err),
		last && *last ? ": " : "", last && *last ? last : "");
}

static void on_closed(natsConnection *nc, void *closure)
{
	struct gw_forwarder *f = closure;

	(void)nc;
	pthread_mutex_lock(&f->qlock);
	f->closed_conns++;
	pthread_cond_broadcast(&f->qcond);
	pthread_mutex_unlock(&f->qlock);
}

/*
 * Starts closing nc; the closed callback says when it is done. A connected nc is drained, not
 * closed: cnats before 3.6.1 (nats.c#637) frees a subscription in natsConnection_Close() while
 * its read loop may be handing that subscription a message, and we always may be receiving one:
 * the PubAck to the publisher's request (SEGV in natsConn_processMsg at shutdown). A drain
 * unsubscribes, waits for the server's PONG (after which nothing more can arrive for it) and
 * only then closes, within DRAIN_TIMEOUT_MS. A connection cnats will not drain (closed,
 * reconnecting, never connected) has no read loop delivering, so it is closed outright.
 */
void forwarder_nats_begin_close(natsConnection *nc)
{
	if (natsConnection_IsClosed(nc) || natsConnection_IsDraining(nc))
		return;
	if (natsConnection_DrainTimeout(nc, DRAIN_TIMEOUT_MS) != NATS_OK)
		natsConnection_Close(nc);
}

/* Closes nc and waits (bounded) until cnats has delivered its last callback for it. */
void forwarder_nats_close(struct gw_forwarder *f, natsConnection *nc, jsCtx *js)
{
	struct timespec ts;

	if (!nc) {
		jsCtx_Destroy(js);
		return;
	}
	forwarder_nats_begin_close(nc);
	deadline_after(&ts, CLOSED_CB_WAIT_MS);
	pthread_mutex_lock(&f->qlock);
	while (f->closed_conns < f->opened_conns)
		if (pthread_cond_timedwait(&f->qcond, &f->qlock, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&f->qlock);
	/* the jsCtx holds a reference on nc: the connection is freed with the last of the two */
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
}

static int64_t reconnect_delay(natsConnection *nc, int attempts, void *closure)
{
	struct gw_forwarder *f = closure;

	(void)nc;
	return backoff_ms(f->reconnect_min_ms, f->reconnect_max_ms,
			  attempts > 0 ? (unsigned)attempts - 1 : 0, &f->reconnect_rng);
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

int forwarder_nats_options(struct gw_forwarder *f, const struct gw_config *cfg, char *err,
			   size_t errlen)
{
	const char *servers[GW_CONFIG_MAX_URLS];
	char name[300], inbox[300];
	natsStatus s;

	for (size_t i = 0; i < cfg->n_collector_urls; i++)
		servers[i] = cfg->collector_urls[i];
	snprintf(name, sizeof(name), "ghostwatch-agent %s", f->host.host_id);
	/*
	 * PubAcks come back on our inbox. A fleet server lets an agent subscribe only below
	 * _GW_INBOX.<host-id> (deploy/nats/gen-accounts.sh), so no host can read another's replies.
	 */
	snprintf(inbox, sizeof(inbox), "_GW_INBOX.%s", f->host.host_id);
	s = natsOptions_Create(&f->opts);
	if (s == NATS_OK)
		s = natsOptions_SetServers(f->opts, servers, (int)cfg->n_collector_urls);
	if (s == NATS_OK)
		s = natsOptions_SetName(f->opts, name);
	if (s == NATS_OK)
		s = natsOptions_SetCustomInboxPrefix(f->opts, inbox);
	if (s == NATS_OK && trust_only_fleet_ca(cfg->tls_ca)) {
		snprintf(err, errlen, "tls.ca %s: %s", cfg->tls_ca, strerror(errno));
		return -1;
	}
	if (s == NATS_OK)
		s = natsOptions_SetSecure(f->opts, true);
	if (s == NATS_OK && (s = natsOptions_LoadCATrustedCertificates(f->opts, cfg->tls_ca)) != NATS_OK) {
		snprintf(err, errlen, "tls.ca %s: %s", cfg->tls_ca, nats_GetLastError(NULL));
		return -1;
	}
	if (s == NATS_OK &&
	    (s = natsOptions_LoadCertificatesChain(f->opts, cfg->tls_cert, cfg->tls_key)) != NATS_OK) {
		snprintf(err, errlen, "tls.cert %s / tls.key %s: %s", cfg->tls_cert, cfg->tls_key,
			 nats_GetLastError(NULL));
		return -1;
	}
	if (s == NATS_OK && cfg->tls_server_name && *cfg->tls_server_name)
		s = natsOptions_SetExpectedHostname(f->opts, cfg->tls_server_name);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(f->opts, cfg->connect_timeout_ms);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(f->opts, -1);
	if (s == NATS_OK)
		s = natsOptions_SetCustomReconnectDelay(f->opts, reconnect_delay, f);
	if (s == NATS_OK)
		s = natsOptions_SetPingInterval(f->opts, 10000);
	if (s == NATS_OK)
		s = natsOptions_SetRetryOnFailedConnect(f->opts, true, forwarder_nats_on_connected, f);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(f->opts, on_disconnected, f);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(f->opts, on_reconnected, f);
	if (s == NATS_OK)
		s = natsOptions_SetClosedCB(f->opts, on_closed, f);
	if (s == NATS_OK)
		s = natsOptions_SetErrorHandler(f->opts, on_async_error, f);
	if (s != NATS_OK) {
		snprintf(err, errlen, "NATS options: %s", nats_GetLastError(NULL));
		return -1;
	}
	return 0;
}
