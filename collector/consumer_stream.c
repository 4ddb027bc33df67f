/* consumer_stream.c - the collector's JetStream side: stream, durable consumer, connection. */
#include "consumer_internal.h"

#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "ndjson_writer.h"
#include "event_line.h"
#include "strbuf.h"

static int ensure_stream(struct collector *c)
{
	const struct collector_opts *o = c->o;
	jsStreamInfo *si = NULL;
	jsStreamConfig cfg;
	jsErrCode jerr = 0;
	natsStatus s;
	const char *subjects[] = { SUBJECT_FILTER };

	s = js_GetStreamInfo(&si, c->js, o->stream, NULL, &jerr);
	if (s == NATS_OK) {
		if (si->Config->Replicas != o->replicas)
			gw_warn(&o->log,
				"stream %s exists with %" PRId64 " replicas (asked for %d): left as is",
				o->stream, si->Config->Replicas, o->replicas);
		gw_info(&o->log, "stream %s: %" PRIu64 " messages, %" PRIu64 " bytes",
			o->stream, si->State.Msgs, si->State.Bytes);
		jsStreamInfo_Destroy(si);
		return 0;
	}
	if (s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr) {
		gw_err(&o->log, "stream info %s: %s (%d) %s", o->stream,
			natsStatus_GetText(s), jerr, nats_GetLastError(NULL));
		return -1;
	}
	jsStreamConfig_Init(&cfg);
	cfg.Name = o->stream;
	cfg.Description = "ghostwatch agent telemetry batches (zlib protobuf Batch)";
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Retention = js_LimitsPolicy;
	cfg.Storage = js_FileStorage;
	cfg.Replicas = o->replicas;
	cfg.MaxAge = o->max_age_ns;
	cfg.MaxBytes = o->max_stream_bytes;
	cfg.MaxMsgsPerSubject = o->max_msgs_per_host;
	cfg.MaxMsgSize = (int32_t)o->limits.max_compressed;
	cfg.Duplicates = o->duplicate_window_ns;
	cfg.Discard = js_DiscardOld;
	cfg.DenyDelete = true;
	cfg.DenyPurge = true;
	s = js_AddStream(&si, c->js, &cfg, NULL, &jerr);
	if (s != NATS_OK) {
		gw_err(&o->log, "creating stream %s: %s (%d) %s", o->stream,
			natsStatus_GetText(s), jerr, nats_GetLastError(NULL));
		/* JetStream reserves the whole max_bytes at creation: restarting never helps. */
		if (jerr == JSInsufficientResourcesErr || jerr == JSStorageResourcesExceededErr)
			gw_err(&o->log, "nats-server cannot reserve the stream's max_bytes "
			       "(%" PRId64 " bytes, --max-stream-bytes): raise "
			       "jetstream.max_file_store in the nats-server config above it, "
			       "or lower --max-stream-bytes", cfg.MaxBytes);
		return -1;
	}
	gw_info(&o->log,
		"created stream %s (subjects %s, file storage, %d replicas, duplicate window %" PRId64
		" s)",
		o->stream, SUBJECT_FILTER, o->replicas, o->duplicate_window_ns / 1000000000);
	jsStreamInfo_Destroy(si);
	return 0;
}

/*
 * A durable made by an older collector has no MaxDeliver, and cnats refuses to bind with a
 * different one: update it, or failing that bind with its value (the dead-letter check here works
 * either way; only the server's backstop is missing then).
 */
static int64_t adopt_max_deliver(struct collector *c)
{
	const struct collector_opts *o = c->o;
	jsConsumerInfo *ci = NULL, *updated = NULL;
	jsErrCode jerr = 0;
	int64_t have;

	if (js_GetConsumerInfo(&ci, c->js, o->stream, o->durable, NULL, &jerr) != NATS_OK)
		return o->max_deliver;	/* none yet: created with ours */
	have = ci->Config->MaxDeliver;
	if (have != o->max_deliver) {
		ci->Config->MaxDeliver = o->max_deliver;
		if (js_UpdateConsumer(&updated, c->js, o->stream, ci->Config, NULL, &jerr) ==
		    NATS_OK) {
			gw_info(&o->log, "durable %s: max deliver %" PRId64 " -> %d",
				o->durable, have, o->max_deliver);
			have = o->max_deliver;
		} else {
			gw_warn(&o->log, "durable %s keeps max deliver %" PRId64 " (update "
				"refused: %s); dead letters are still set aside at delivery %d",
				o->durable, have, nats_GetLastError(NULL), o->max_deliver);
		}
		jsConsumerInfo_Destroy(updated);
	}
	jsConsumerInfo_Destroy(ci);
	return have;
}

static int bind_consumer(struct collector *c)
{
	const struct collector_opts *o = c->o;
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsStatus s;

	jsSubOptions_Init(&so);
	so.Stream = o->stream;
	so.Config.Durable = o->durable;
	so.Config.AckPolicy = js_AckExplicit;
	so.Config.AckWait = o->ack_wait_ns;
	/* Unacked messages in flight across every collector bound to the durable: room for many
	 * collectors' fetched groups, yet bounded so a stuck collector cannot hold the stream. */
	so.Config.MaxAckPending = 64 * o->fetch_batch;
	so.Config.DeliverPolicy = js_DeliverAll;
	so.Config.MaxDeliver = adopt_max_deliver(c);
	s = js_PullSubscribe(&c->sub, c->js, SUBJECT_FILTER, o->durable, NULL, &so, &jerr);
	if (s != NATS_OK) {
		gw_err(&o->log, "binding durable consumer %s: %s (%d) %s", o->durable,
			natsStatus_GetText(s), jerr, nats_GetLastError(NULL));
		return -1;
	}
	gw_info(&o->log, "bound to durable pull consumer %s on stream %s", o->durable,
		o->stream);
	return 0;
}

/* The fleet bucket, created like the stream; read into the view at the first connect (later the
 * view is the cache the bucket's revisions keep honest). */
static int open_bucket(struct collector *c)
{
	const struct collector_opts *o = c->o;
	uint64_t skipped = 0;

	if (fleet_kv_open(&c->kv, c->js, o->bucket, o->replicas, true, &o->log))
		return -1;
	if (c->view_loaded)
		return 0;
	if (fleet_kv_load(c->kv, &c->view, &skipped, &o->log)) {
		fleet_view_free(&c->view);	/* read again whole at the next try */
		return -1;
	}
	if (skipped)
		gw_warn(&o->log, "fleet bucket %s: %" PRIu64 " values that are not a collector's "
			"skipped", o->bucket, skipped);
	gw_info(&o->log, "fleet bucket %s: %u hosts", o->bucket, HASH_COUNT(c->view.hosts));
	c->view_loaded = true;
	return 0;
}

static void sleep_interruptible(struct collector *c, unsigned ms, bool *stop)
{
	for (unsigned waited = 0; waited < ms && !*stop; waited += 100) {
		usleep(100000);
		*stop = consumer_stop_requested(c);
	}
}

/* Runs on cnats' thread: the last callback cnats makes for a connection. */
static void on_closed(natsConnection *nc, void *closure)
{
	struct collector *c = closure;

	(void)nc;
	pthread_mutex_lock(&c->lock);
	c->closed_conns++;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/*
 * Closes the connection, and only then lets go of the pull subscription. cnats before 3.6.1
 * (nats.c#637) looks a message's subscription up, drops the lock that keeps it alive, builds the
 * message and only then locks the subscription, so freeing the subscription while the read loop
 * may be delivering to it is a use after free (SEGV in natsConn_processMsg at stop): and a message
 * for it may well be arriving, since a fetch returns at its timeout with the rest of its pull
 * request still coming. Our own reference keeps the subscription alive through the close, which
 * joins the read loop before its closed callback; destroying the subscription after that callback
 * frees nothing the read loop can reach. Destroy, not Unsubscribe: cnats deletes a durable it
 * created on Unsubscribe, and the durable must outlive this process (the other collectors, and
 * the next start of this one, continue from its position).
 */
void consumer_stream_close(struct collector *c)
{
	struct timespec ts;

	if (c->nc) {
		c->reconnects_base += gwc_metrics_conn_reconnects(c->nc);
		/* the last acks */
		if (natsConnection_Status(c->nc) == NATS_CONN_STATUS_CONNECTED)
			natsConnection_FlushTimeout(c->nc, FLUSH_TIMEOUT_MS);
		natsConnection_Close(c->nc);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += CLOSED_CB_WAIT_S;
		pthread_mutex_lock(&c->lock);
		while (c->closed_conns < c->opened_conns)
			if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) == ETIMEDOUT)
				break;
		pthread_mutex_unlock(&c->lock);
	}
	natsSubscription_Destroy(c->sub);
	c->sub = NULL;
	kvStore_Destroy(c->kv);
	c->kv = NULL;
	/* the jsCtx holds a reference on nc: the connection is freed with the last of the two */
	jsCtx_Destroy(c->js);
	c->js = NULL;
	natsConnection_Destroy(c->nc);
	c->nc = NULL;
}

void consumer_stream_publish_metrics(struct collector *c)
{
	struct gwc_metrics_state s = {
		.connected = c->sub && natsConnection_Status(c->nc) == NATS_CONN_STATUS_CONNECTED,
		.last_ack_unix_ns = c->last_ack_unix_ns,
		.write_failures = c->write_failures,
	};

	pthread_mutex_lock(&c->lock);
	s.reconnects = c->opened_conns ? c->opened_conns - 1 : 0;
	pthread_mutex_unlock(&c->lock);
	s.reconnects += c->reconnects_base + gwc_metrics_conn_reconnects(c->nc);
	gwc_metrics_publish(c->metrics, &c->view, &s);
}

/* Connects, makes sure the stream exists and binds the durable consumer. nats-server may not be
 * up yet (or a cluster may still be electing its JetStream leader): retry with backoff until it
 * works or a signal says stop. */
int consumer_stream_connect(struct collector *c, bool *stop)
{
	struct collector_opts *o = c->o;
	unsigned backoff_ms = 500;
	char err[512];

	o->nats.log = &o->log;
	o->nats.closed_cb = on_closed;
	o->nats.closed_closure = c;
	while (!*stop) {
		jsOptions jo;

		if (nats_conn_open(&c->nc, &o->nats, err, sizeof(err)) != NATS_OK) {
			gw_warn(&o->log, "nats %s: %s; retrying in %u ms", o->nats.servers,
				err, backoff_ms);
			goto retry;
		}
		/* from here on cnats owes us a closed callback for c->nc */
		pthread_mutex_lock(&c->lock);
		c->opened_conns++;
		pthread_mutex_unlock(&c->lock);
		gw_info(&o->log, "connected to %s with mutual TLS", o->nats.servers);
		jsOptions_Init(&jo);
		jo.Wait = 5000;
		if (natsConnection_JetStream(&c->js, c->nc, &jo) == NATS_OK && ensure_stream(c) == 0 &&
		    open_bucket(c) == 0 && bind_consumer(c) == 0)
			return 0;
		gw_warn(&o->log, "JetStream not ready; retrying in %u ms", backoff_ms);
		/* a JetStream API reply that came too late may be arriving */
		consumer_stream_close(c);
retry:
		consumer_stream_publish_metrics(c);
		sleep_interruptible(c, backoff_ms, stop);
		backoff_ms = backoff_ms * 2 > 10000 ? 10000 : backoff_ms * 2;
	}
	return -1;
}
