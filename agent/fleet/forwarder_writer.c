/* forwarder_writer.c - the writer thread: compresses queued batches, appends them to the spool. */
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
		if (rc == 0)
			unacked_ages_push(&f->ages, seq, now_realtime_ns());
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

void *forwarder_writer_main(void *arg)
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
