/* forwarder_publish.c - the publisher thread: spooled batches to JetStream, acks to the spool. */
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
		 * calls forwarder_nats_on_connected once a connection (TLS handshake included) succeeds; until then
		 * this is not a connection, whatever the retry count.
		 */
		if (s == NATS_NOT_YET_CONNECTED) {
			const char *why = nats_GetLastError(NULL);

			if (f->connects_pending++ % LOG_EVERY_N_FAILURES == 0)
				gw_warn(f->log, "forwarder: collector not reachable yet%s%s; retrying "
					"in the background", why && *why ? ": " : "", why ? why : "");
		} else {
			forwarder_nats_on_connected(nc, f);
		}
		s = natsConnection_JetStream(&js, nc, NULL);
	}
	if (s != NATS_OK) {
		if (*attempt == 0 || *attempt % LOG_EVERY_N_FAILURES == 0)
			gw_err(f->log, "forwarder: cannot connect to the collector: %s",
			       nats_GetLastError(NULL));
		forwarder_nats_close(f, nc, NULL);
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
	forwarder_nats_close(f, nc, js);
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

void *forwarder_publish_main(void *arg)
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
			unacked_ages_ack(&f->ages, rec.seq);
			f->last_ack_ns = now_realtime_ns();
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
