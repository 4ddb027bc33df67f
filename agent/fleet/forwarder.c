/* forwarder.c - queue -> spool writer thread -> JetStream publisher thread. See forwarder.h. */
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

static void init_cond_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

/* ---- lifecycle -------------------------------------------------------------------------------- */

static void forwarder_free(struct gw_forwarder *f)
{
	forwarder_nats_close(f, f->nc, f->js);
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
		if (st.unacked_batches)
			unacked_ages_push(&f->ages, gw_spool_next_seq(f->spool) - 1,
					  now_realtime_ns());
	}
	if (forwarder_nats_options(f, cfg, err, errlen))
		goto fail;
	if (pthread_create(&f->writer, NULL, forwarder_writer_main, f)) {
		snprintf(err, errlen, "forwarder: cannot start the spool writer thread");
		goto fail;
	}
	f->writer_started = true;
	if (pthread_create(&f->publisher, NULL, forwarder_publish_main, f)) {
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
		forwarder_nats_begin_close(f->nc);
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

/* Under slock: what the spool side knows. */
static void spool_stats(struct gw_forwarder *f, struct gw_forwarder_stats *st)
{
	st->spooled = f->spooled;
	st->spool_errors = f->spool_errors;
	gw_spool_get_stats(f->spool, &st->spool);
	/* the cap may have dropped what the ages still hold */
	if (!st->spool.unacked_batches)
		unacked_ages_ack(&f->ages, UINT64_MAX);
	st->oldest_unacked_ns = unacked_ages_oldest(&f->ages);
	st->last_ack_ns = f->last_ack_ns;
}

static void get_stats(struct gw_forwarder *f, struct gw_forwarder_stats *st, bool wait)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&f->qlock);
	st->submitted = f->submitted;
	st->queue_depth = f->q_len;
	st->queue_dropped_batches = f->queue_dropped_batches;
	st->queue_dropped_events = f->queue_dropped_events;
	pthread_mutex_unlock(&f->qlock);
	if (wait) {
		pthread_mutex_lock(&f->slock);
		spool_stats(f, st);
		pthread_mutex_unlock(&f->slock);
	} else if (pthread_mutex_trylock(&f->slock) == 0) {
		spool_stats(f, st);
		pthread_mutex_unlock(&f->slock);
		f->spool_seen = *st;
	} else {
		st->spooled = f->spool_seen.spooled;
		st->spool_errors = f->spool_seen.spool_errors;
		st->spool = f->spool_seen.spool;
		st->oldest_unacked_ns = f->spool_seen.oldest_unacked_ns;
		st->last_ack_ns = f->spool_seen.last_ack_ns;
	}
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

void gw_forwarder_get_stats(struct gw_forwarder *f, struct gw_forwarder_stats *st)
{
	get_stats(f, st, true);
}

void gw_forwarder_peek_stats(struct gw_forwarder *f, struct gw_forwarder_stats *st)
{
	get_stats(f, st, false);
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
