/* forwarder.c - queue -> spool writer thread -> JetStream publisher thread. See forwarder.h. */
#include "forwarder.h"

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

/* Publish failures are logged at the first one and then every this many, not every retry. */
#define LOG_EVERY_N_FAILURES 20

/*
 * Stopping: how long a drain may take before cnats closes the connection anyway, and how long we
 * wait for its closed callback. A stopping agent must not hang on an unresponsive collector.
 */
#define DRAIN_TIMEOUT_MS 2000
#define CLOSED_CB_WAIT_MS 5000

struct gw_forwarder {
	struct gw_log *log;
	struct gw_host_identity host;
	Ghostwatch__V1__HostIdentity host_pb;
	char subject[512];
	uint32_t publish_timeout_ms;
	uint32_t reconnect_min_ms;
	uint32_t reconnect_max_ms;

	/* queue (event loop -> writer), guarded by qlock */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct gw_batch_draft **queue;
	size_t q_cap, q_head, q_len, q_limit;
	bool stopping;
	uint64_t submitted;
	uint64_t queue_dropped_batches, queue_dropped_events;
	uint64_t reported_queue_batches, reported_queue_events;

	/* spool (writer appends, publisher peeks/acks), guarded by slock */
	pthread_mutex_t slock;
	pthread_cond_t scond; /* new batch spooled, batch acked, or stopping */
	struct gw_spool *spool;
	uint64_t reported_recovered;
	uint64_t spooled, spool_errors;

	/* NATS: nc is created by the publisher; stop drains it to cut a pending publish short */
	natsOptions *opts;
	natsConnection *nc;
	jsCtx *js;
	/*
	 * Connections cnats handed us, and those whose closed callback has run (both under qlock,
	 * signalled on qcond). cnats delivers callbacks on its own thread after the close (ours, a
	 * drain's, or its own after an authorization failure); the closed callback is the last one,
	 * so a connection is only destroyed (and f freed) once every opened one has been counted.
	 */
	uint64_t opened_conns;
	uint64_t closed_conns;
	unsigned reconnect_rng;
	unsigned connects_pending; /* connections started before the server answered */

	atomic_uint_fast64_t published, published_events, duplicates, suspicious_duplicates,
		publish_errors,
		bytes_published, disconnects, reconnects, async_errors;
	atomic_bool connected;

	pthread_t writer, publisher;
	bool writer_started, publisher_started;
};

static unsigned next_rand(unsigned *state)
{
	/* xorshift32: only for jitter */
	unsigned x = *state ? *state : 0x9e3779b9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

/* Exponential backoff from min to max, with "equal jitter": half fixed, half random. */
static int64_t backoff_ms(uint32_t min_ms, uint32_t max_ms, unsigned attempt, unsigned *rng)
{
	uint64_t base = min_ms;

	for (unsigned i = 0; i < attempt && base < max_ms; i++)
		base *= 2;
	if (base > max_ms)
		base = max_ms;
	return (int64_t)(base / 2 + next_rand(rng) % (base / 2 + 1));
}

static void deadline_after(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static void init_cond_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

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

static void on_connected(natsConnection *nc, void *closure)
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
	on_connected(nc, closure);
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
static void begin_close(natsConnection *nc)
{
	if (natsConnection_IsClosed(nc) || natsConnection_IsDraining(nc))
		return;
	if (natsConnection_DrainTimeout(nc, DRAIN_TIMEOUT_MS) != NATS_OK)
		natsConnection_Close(nc);
}

/* Closes nc and waits (bounded) until cnats has delivered its last callback for it. */
static void close_and_destroy(struct gw_forwarder *f, natsConnection *nc, jsCtx *js)
{
	struct timespec ts;

	if (!nc) {
		jsCtx_Destroy(js);
		return;
	}
	begin_close(nc);
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

static int build_options(struct gw_forwarder *f, const struct gw_config *cfg, char *err,
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
		s = natsOptions_SetRetryOnFailedConnect(f->opts, true, on_connected, f);
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

/* ---- writer: queue -> spool ----------------------------------------------------------------- */

static void spool_one(struct gw_forwarder *f, struct gw_batch_draft *d)
{
	Ghostwatch__V1__SpoolState ss = GHOSTWATCH__V1__SPOOL_STATE__INIT;
	struct gw_spool_stats st;
	uint64_t seq, qb, qe;
	uint8_t *z = NULL;
	size_t z_len = 0;
	int rc;

	pthread_mutex_lock(&f->qlock);
	qb = f->queue_dropped_batches - f->reported_queue_batches;
	qe = f->queue_dropped_events - f->reported_queue_events;
	pthread_mutex_unlock(&f->qlock);

	pthread_mutex_lock(&f->slock);
	seq = gw_spool_next_seq(f->spool);
	gw_spool_get_stats(f->spool, &st);
	pthread_mutex_unlock(&f->slock);

	ss.bytes = st.bytes;
	ss.segments = st.segments;
	ss.dropped_batches = st.pending_dropped_batches;
	ss.dropped_events = st.pending_dropped_events;
	ss.unacked_batches = st.unacked_batches + 1;
	ss.unacked_events = st.unacked_events + d->n_events;
	ss.queue_dropped_batches = qb;
	ss.queue_dropped_events = qe;
	ss.recovered_bytes = st.recovered_bytes - f->reported_recovered;

	rc = gw_batch_encode(d, &f->host_pb, seq, &ss, Z_DEFAULT_COMPRESSION, &z, &z_len, NULL);
	if (rc == 0) {
		pthread_mutex_lock(&f->slock);
		rc = gw_spool_append(f->spool, seq, d->n_events, z, z_len, ss.dropped_batches,
				     ss.dropped_events);
		pthread_mutex_unlock(&f->slock);
	}
	free(z);
	if (rc == 0) {
		f->spooled++;
		f->reported_recovered = st.recovered_bytes;
		pthread_mutex_lock(&f->qlock);
		f->reported_queue_batches += qb;
		f->reported_queue_events += qe;
		pthread_mutex_unlock(&f->qlock);
	} else {
		/* never reached the spool: counted like a queue drop so the next batch reports it */
		f->spool_errors++;
		if (f->spool_errors == 1 || f->spool_errors % LOG_EVERY_N_FAILURES == 0)
			gw_err(f->log, "forwarder: cannot spool batch %" PRIu64 " (%u events): %s (%" PRIu64 " so far)",
			       seq, d->n_events, strerror(-rc), f->spool_errors);
		pthread_mutex_lock(&f->qlock);
		f->queue_dropped_batches++;
		f->queue_dropped_events += d->n_events;
		pthread_mutex_unlock(&f->qlock);
	}
	gw_batch_draft_free(d);
}

static void *writer_main(void *arg)
{
	struct gw_forwarder *f = arg;
	struct gw_batch_draft **local = NULL;
	size_t local_cap = 0;

	pthread_mutex_lock(&f->qlock);
	for (;;) {
		size_t n;

		while (f->q_len == 0 && !f->stopping)
			pthread_cond_wait(&f->qcond, &f->qlock);
		if (f->q_len == 0 && f->stopping)
			break;
		if (local_cap < f->q_len) {
			struct gw_batch_draft **p = realloc(local, f->q_len * sizeof(*p));

			if (!p) {
				pthread_mutex_unlock(&f->qlock);
				usleep(10000);
				pthread_mutex_lock(&f->qlock);
				continue;
			}
			local = p;
			local_cap = f->q_len;
		}
		for (n = 0; f->q_len; n++) {
			local[n] = f->queue[f->q_head];
			f->q_head = (f->q_head + 1) % f->q_cap;
			f->q_len--;
		}
		pthread_mutex_unlock(&f->qlock);

		for (size_t i = 0; i < n; i++)
			spool_one(f, local[i]);
		/* one fdatasync for the whole group, then the publisher may send them */
		pthread_mutex_lock(&f->slock);
		if (gw_spool_sync(f->spool))
			gw_err(f->log, "forwarder: spool fdatasync failed: %s", strerror(errno));
		pthread_cond_broadcast(&f->scond);
		pthread_mutex_unlock(&f->slock);

		pthread_mutex_lock(&f->qlock);
	}
	pthread_mutex_unlock(&f->qlock);
	free(local);
	return NULL;
}

/* ---- publisher: spool -> JetStream ------------------------------------------------------------ */

static bool is_stopping(struct gw_forwarder *f)
{
	bool s;

	pthread_mutex_lock(&f->qlock);
	s = f->stopping;
	pthread_mutex_unlock(&f->qlock);
	return s;
}

/* Sleeps up to ms, waking early on stop or (when wake_on_spool) on a new spooled batch. */
static void publisher_wait(struct gw_forwarder *f, int64_t ms)
{
	struct timespec ts;

	deadline_after(&ts, ms);
	pthread_mutex_lock(&f->slock);
	if (!is_stopping(f))
		pthread_cond_timedwait(&f->scond, &f->slock, &ts);
	pthread_mutex_unlock(&f->slock);
}

static bool ensure_connection(struct gw_forwarder *f, unsigned *attempt, unsigned *rng)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	natsStatus s;

	if (f->js)
		return true;
	s = natsConnection_Connect(&nc, f->opts);
	if (s == NATS_OK || s == NATS_NOT_YET_CONNECTED) {
		/* from here on cnats owes us a closed callback for nc */
		pthread_mutex_lock(&f->qlock);
		f->opened_conns++;
		pthread_mutex_unlock(&f->qlock);
		/*
		 * NOT_YET_CONNECTED: cnats keeps trying in the background (RetryOnFailedConnect) and
		 * calls on_connected once a connection (TLS handshake included) succeeds; until then
		 * this is not a connection, whatever the retry count.
		 */
		if (s == NATS_NOT_YET_CONNECTED) {
			const char *why = nats_GetLastError(NULL);

			if (f->connects_pending++ % LOG_EVERY_N_FAILURES == 0)
				gw_warn(f->log, "forwarder: collector not reachable yet%s%s; retrying "
					"in the background", why && *why ? ": " : "", why ? why : "");
		} else {
			on_connected(nc, f);
		}
		s = natsConnection_JetStream(&js, nc, NULL);
	}
	if (s != NATS_OK) {
		if (*attempt == 0 || *attempt % LOG_EVERY_N_FAILURES == 0)
			gw_err(f->log, "forwarder: cannot connect to the collector: %s",
			       nats_GetLastError(NULL));
		close_and_destroy(f, nc, NULL);
		publisher_wait(f, backoff_ms(f->reconnect_min_ms, f->reconnect_max_ms, (*attempt)++, rng));
		return false;
	}
	pthread_mutex_lock(&f->qlock);
	f->nc = nc;
	f->js = js;
	pthread_mutex_unlock(&f->qlock);
	*attempt = 0;
	return true;
}

/*
 * cnats gave up on the connection (it does after a TLS or authorization failure even with unlimited
 * reconnects): throw it away so ensure_connection() starts over with backoff. A fixed certificate
 * or server then recovers without restarting the agent.
 */
static void drop_connection(struct gw_forwarder *f)
{
	natsConnection *nc;
	jsCtx *js;

	pthread_mutex_lock(&f->qlock);
	nc = f->nc;
	js = f->js;
	f->nc = NULL;
	f->js = NULL;
	pthread_mutex_unlock(&f->qlock);
	atomic_store(&f->connected, false);
	close_and_destroy(f, nc, js);
}

/* What the publisher knows of the batch it is sending, across its attempts. */
struct attempt_state {
	uint64_t segment, offset;	/* which spool record */
	unsigned tries;
	bool sent_before;		/* an earlier process may have published it */
	char msg_id[GW_HOST_FIELD_LEN + GW_SPOOL_NONCE_LEN + 32];
};

/*
 * The batch's Nats-Msg-Id: <host>:<spool nonce>:<seq>, the same on every re-send (JetStream drops
 * the re-sends of a batch it stored). After a suspicious duplicate: <host>:<fresh nonce>:<seq>.
 */
static void set_msg_id(struct gw_forwarder *f, struct attempt_state *a, uint64_t seq, bool fresh)
{
	char nonce[GW_SPOOL_NONCE_LEN + 1];

	if (fresh) {
		uint8_t raw[GW_SPOOL_NONCE_LEN / 2];

		if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
			for (size_t i = 0; i < sizeof(raw); i++)
				raw[i] = (uint8_t)next_rand(&f->reconnect_rng);
		for (size_t i = 0; i < sizeof(raw); i++)
			snprintf(nonce + 2 * i, 3, "%02x", raw[i]);
	} else {
		pthread_mutex_lock(&f->slock);
		snprintf(nonce, sizeof(nonce), "%s", gw_spool_nonce(f->spool));
		pthread_mutex_unlock(&f->slock);
	}
	snprintf(a->msg_id, sizeof(a->msg_id), "%s:%s:%" PRIu64, f->host.host_id, nonce, seq);
}

static void *publisher_main(void *arg)
{
	struct gw_forwarder *f = arg;
	struct attempt_state cur = { 0 };
	unsigned attempt = 0, failures = 0, rng;

	if (getrandom(&rng, sizeof(rng), 0) != sizeof(rng))
		rng = (unsigned)getpid();
	while (!is_stopping(f)) {
		struct gw_spool_record rec;
		jsPubOptions po;
		jsPubAck *pa = NULL;
		jsErrCode jerr = 0;
		natsStatus s;
		int rc;

		if (!ensure_connection(f, &attempt, &rng))
			continue;
		/* nothing is published (or noted as maybe published) before the server is there */
		if (!atomic_load(&f->connected)) {
			publisher_wait(f, 500);
			continue;
		}
		pthread_mutex_lock(&f->slock);
		rc = gw_spool_peek(f->spool, &rec);
		if (rc == 0 && !is_stopping(f)) {
			struct timespec ts;

			deadline_after(&ts, 1000);
			pthread_cond_timedwait(&f->scond, &f->slock, &ts);
		}
		pthread_mutex_unlock(&f->slock);
		if (rc == 0)
			continue;
		if (rc < 0) {
			gw_err(f->log, "forwarder: cannot read the spool: %s", strerror(-rc));
			publisher_wait(f, 1000);
			continue;
		}

		if (cur.segment != rec.segment || cur.offset != rec.offset || !cur.tries) {
			cur = (struct attempt_state){ .segment = rec.segment, .offset = rec.offset };
			set_msg_id(f, &cur, rec.seq, false);
			pthread_mutex_lock(&f->slock);
			cur.sent_before = gw_spool_may_have_sent(f->spool, rec.seq);
			rc = gw_spool_note_attempt(f->spool, rec.seq);
			pthread_mutex_unlock(&f->slock);
			if (rc < 0)
				gw_err(f->log, "forwarder: cannot write the spool cursor: %s",
				       strerror(-rc));
		}
		jsPubOptions_Init(&po);
		po.MsgId = cur.msg_id;
		po.MaxWait = f->publish_timeout_ms;
		s = js_Publish(&pa, f->js, f->subject, rec.data, (int)rec.len, &po, &jerr);
		cur.tries++;
		if (s == NATS_OK && pa->Duplicate && cur.tries == 1 && !cur.sent_before) {
			/*
			 * The stream has a message under this id though no process ever sent this
			 * batch: another host published under our id to have it dropped. Sent again
			 * under a fresh id; were it a real repeat, the collector discards it by host
			 * and seq.
			 */
			uint64_t n = atomic_fetch_add(&f->suspicious_duplicates, 1);

			if (n % LOG_EVERY_N_FAILURES == 0)
				gw_warn(f->log, "forwarder: batch %" PRIu64 " reported a duplicate on its "
					"first attempt (%s): publishing it again under a fresh id (%" PRIu64
					" so far)", rec.seq, cur.msg_id, n + 1);
			jsPubAck_Destroy(pa);
			pa = NULL;
			set_msg_id(f, &cur, rec.seq, true);
			free(rec.data);
			continue;
		}
		if (s == NATS_OK) {
			pthread_mutex_lock(&f->slock);
			rc = gw_spool_ack(f->spool, &rec);
			pthread_cond_broadcast(&f->scond);
			pthread_mutex_unlock(&f->slock);
			if (rc < 0)
				gw_err(f->log, "forwarder: cannot move the spool cursor: %s",
				       strerror(-rc));
			atomic_fetch_add(&f->published, 1);
			atomic_fetch_add(&f->published_events, rec.events);
			atomic_fetch_add(&f->bytes_published, rec.len);
			if (pa->Duplicate)
				atomic_fetch_add(&f->duplicates, 1);
			if (failures)
				gw_info(f->log, "forwarder: publishing again after %u failed attempts",
					failures);
			gw_debug(f->log, "forwarder: batch %" PRIu64 " (%u events, %u bytes) stored as %s#%" PRIu64 "%s",
				 rec.seq, rec.events, rec.len, pa->Stream, pa->Sequence,
				 pa->Duplicate ? " (duplicate)" : "");
			jsPubAck_Destroy(pa);
			failures = 0;
		} else if (!is_stopping(f)) {
			atomic_fetch_add(&f->publish_errors, 1);
			if (failures == 0 || failures % LOG_EVERY_N_FAILURES == 0)
				gw_warn(f->log, "forwarder: publish of batch %" PRIu64 " to %s failed: %s%s (attempt %u)",
					rec.seq, f->subject, natsStatus_GetText(s),
					s == NATS_NO_RESPONDERS ? " (no JetStream stream for this subject?)" : "",
					failures + 1);
			if (s == NATS_CONNECTION_CLOSED)
				drop_connection(f);
			publisher_wait(f, backoff_ms(f->reconnect_min_ms, f->reconnect_max_ms,
						     failures < 16 ? failures : 16, &rng));
			failures++;
		}
		free(rec.data);
	}
	return NULL;
}

/* ---- lifecycle -------------------------------------------------------------------------------- */

static void forwarder_free(struct gw_forwarder *f)
{
	close_and_destroy(f, f->nc, f->js);
	if (f->opts)
		natsOptions_Destroy(f->opts);
	for (size_t i = 0; i < f->q_len; i++)
		gw_batch_draft_free(f->queue[(f->q_head + i) % f->q_cap]);
	free(f->queue);
	gw_spool_close(f->spool);
	pthread_mutex_destroy(&f->qlock);
	pthread_mutex_destroy(&f->slock);
	pthread_cond_destroy(&f->qcond);
	pthread_cond_destroy(&f->scond);
	free(f);
}

struct gw_forwarder *gw_forwarder_start(const struct gw_config *cfg,
					const struct gw_host_identity *host, struct gw_log *log,
					const struct gw_forwarder_carry *carry, char *err,
					size_t errlen)
{
	struct gw_spool_limits lim = { cfg->spool_max_bytes, cfg->spool_segment_bytes };
	struct gw_forwarder *f = calloc(1, sizeof(*f));

	if (!f) {
		snprintf(err, errlen, "forwarder: out of memory");
		return NULL;
	}
	f->log = log;
	f->host = *host;
	gw_host_identity_to_pb(&f->host, &f->host_pb);
	snprintf(f->subject, sizeof(f->subject), "%s.%s", cfg->subject_prefix, f->host.host_id);
	f->publish_timeout_ms = cfg->publish_timeout_ms;
	f->reconnect_min_ms = cfg->reconnect_min_ms;
	f->reconnect_max_ms = cfg->reconnect_max_ms;
	if (getrandom(&f->reconnect_rng, sizeof(f->reconnect_rng), 0) != sizeof(f->reconnect_rng))
		f->reconnect_rng = (unsigned)getpid();
	pthread_mutex_init(&f->qlock, NULL);
	pthread_mutex_init(&f->slock, NULL);
	init_cond_monotonic(&f->qcond);
	init_cond_monotonic(&f->scond);
	if (carry) {
		f->queue_dropped_batches = carry->queue_dropped_batches;
		f->queue_dropped_events = carry->queue_dropped_events;
	}
	f->q_limit = cfg->queue_batches;
	f->q_cap = cfg->queue_batches;
	f->queue = calloc(f->q_cap, sizeof(*f->queue));
	if (!f->queue) {
		snprintf(err, errlen, "forwarder: out of memory");
		goto fail;
	}
	f->spool = gw_spool_open(cfg->spool_dir, &lim, err, errlen);
	if (!f->spool)
		goto fail;
	{
		struct gw_spool_stats st;

		gw_spool_get_stats(f->spool, &st);
		if (st.recovered_bytes || st.cursor_reset)
			gw_warn(log, "spool %s: cut %" PRIu64 " corrupt or torn bytes from %" PRIu64
				" segment(s), %" PRIu64 " batch(es) lost%s",
				cfg->spool_dir, st.recovered_bytes, st.recovered_segments,
				st.lost_records, st.cursor_reset ? "; cursor unreadable, re-sending from the oldest batch" : "");
		gw_info(log, "spool %s: %" PRIu64 " batch(es) waiting, next seq %" PRIu64,
			cfg->spool_dir, st.unacked_batches, gw_spool_next_seq(f->spool));
	}
	if (build_options(f, cfg, err, errlen))
		goto fail;
	if (pthread_create(&f->writer, NULL, writer_main, f)) {
		snprintf(err, errlen, "forwarder: cannot start the spool writer thread");
		goto fail;
	}
	f->writer_started = true;
	if (pthread_create(&f->publisher, NULL, publisher_main, f)) {
		snprintf(err, errlen, "forwarder: cannot start the publisher thread");
		gw_forwarder_stop(f, NULL);
		return NULL;
	}
	f->publisher_started = true;
	return f;
fail:
	forwarder_free(f);
	return NULL;
}

int gw_forwarder_submit(struct gw_forwarder *f, struct gw_batch_draft *d)
{
	int rc = 0;

	pthread_mutex_lock(&f->qlock);
	f->submitted++;
	if (f->q_len >= f->q_limit || f->stopping) {
		f->queue_dropped_batches++;
		f->queue_dropped_events += d->n_events;
		rc = -ENOBUFS;
	} else {
		f->queue[(f->q_head + f->q_len) % f->q_cap] = d;
		f->q_len++;
		d = NULL;
		pthread_cond_signal(&f->qcond);
	}
	pthread_mutex_unlock(&f->qlock);
	gw_batch_draft_free(d);
	return rc;
}

void gw_forwarder_reconfigure(struct gw_forwarder *f, const struct gw_config *cfg)
{
	struct gw_spool_limits lim = { cfg->spool_max_bytes, cfg->spool_segment_bytes };

	pthread_mutex_lock(&f->slock);
	gw_spool_set_limits(f->spool, &lim);
	pthread_mutex_unlock(&f->slock);
	pthread_mutex_lock(&f->qlock);
	/* the ring keeps its capacity; a shorter limit takes effect as it drains */
	f->q_limit = cfg->queue_batches < f->q_cap ? cfg->queue_batches : f->q_cap;
	pthread_mutex_unlock(&f->qlock);
}

void gw_forwarder_stop(struct gw_forwarder *f, struct gw_forwarder_carry *carry)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->qlock);
	f->stopping = true;
	pthread_cond_broadcast(&f->qcond);
	/*
	 * A publish waiting for its PubAck returns when the PubAck arrives or the drain ends; what
	 * stays unacknowledged is sent again by the next start (same Nats-Msg-Id, so not twice).
	 */
	if (f->nc)
		begin_close(f->nc);
	pthread_mutex_unlock(&f->qlock);
	pthread_mutex_lock(&f->slock);
	pthread_cond_broadcast(&f->scond);
	pthread_mutex_unlock(&f->slock);
	if (f->writer_started)
		pthread_join(f->writer, NULL);
	if (f->publisher_started)
		pthread_join(f->publisher, NULL);
	if (carry) {
		carry->queue_dropped_batches = f->queue_dropped_batches - f->reported_queue_batches;
		carry->queue_dropped_events = f->queue_dropped_events - f->reported_queue_events;
	}
	forwarder_free(f);
}

void gw_forwarder_get_stats(struct gw_forwarder *f, struct gw_forwarder_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&f->qlock);
	st->submitted = f->submitted;
	st->queue_depth = f->q_len;
	st->queue_dropped_batches = f->queue_dropped_batches;
	st->queue_dropped_events = f->queue_dropped_events;
	pthread_mutex_unlock(&f->qlock);
	pthread_mutex_lock(&f->slock);
	st->spooled = f->spooled;
	st->spool_errors = f->spool_errors;
	gw_spool_get_stats(f->spool, &st->spool);
	pthread_mutex_unlock(&f->slock);
	st->published = atomic_load(&f->published);
	st->published_events = atomic_load(&f->published_events);
	st->duplicates = atomic_load(&f->duplicates);
	st->suspicious_duplicates = atomic_load(&f->suspicious_duplicates);
	st->publish_errors = atomic_load(&f->publish_errors);
	st->bytes_published = atomic_load(&f->bytes_published);
	st->disconnects = atomic_load(&f->disconnects);
	st->reconnects = atomic_load(&f->reconnects);
	st->connected = atomic_load(&f->connected);
}

bool gw_forwarder_wait_drained(struct gw_forwarder *f, int timeout_ms)
{
	struct timespec ts;
	struct gw_spool_stats st;
	bool drained;

	deadline_after(&ts, timeout_ms);
	pthread_mutex_lock(&f->slock);
	for (;;) {
		size_t queued;

		pthread_mutex_lock(&f->qlock);
		queued = f->q_len;
		pthread_mutex_unlock(&f->qlock);
		gw_spool_get_stats(f->spool, &st);
		drained = st.unacked_batches == 0 && queued == 0;
		if (drained || pthread_cond_timedwait(&f->scond, &f->slock, &ts) == ETIMEDOUT)
			break;
	}
	if (!drained) {
		gw_spool_get_stats(f->spool, &st);
		drained = st.unacked_batches == 0;
	}
	pthread_mutex_unlock(&f->slock);
	return drained;
}
