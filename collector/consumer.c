#include "consumer.h"

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

#include "fleet_state.h"
#include "metrics.h"
#include "ndjson_writer.h"
#include "event_line.h"
#include "strbuf.h"

#define SUBJECT_FILTER GW_SUBJECT_PREFIX ">"

/*
 * Stopping: how long the last acks may take to flush, and how long we wait for cnats' closed
 * callback. A collector stopping while nats-server does not answer must not hang.
 */
#define FLUSH_TIMEOUT_MS 2000
#define CLOSED_CB_WAIT_S 5

void collector_opts_default(struct collector_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->nats.servers = "tls://127.0.0.1:4222";
	o->nats.inbox_prefix = "_GW_INBOX.collector";
	o->nats.name = "ghostwatch-collector";
	o->nats.retry_forever = true;
	o->stream = "GHOSTWATCH";
	o->durable = "ghostwatch-collector";
	o->replicas = 1;
	o->max_age_ns = 7ll * 24 * 3600 * 1000000000ll;
	o->max_stream_bytes = 10ll << 30;
	o->duplicate_window_ns = 2ll * 60 * 1000000000ll;
	o->out_name = "events";
	o->max_file_bytes = 64u << 20;
	o->fetch_batch = 128;
	o->ack_wait_ns = 30ll * 1000000000ll;
	o->max_deliver = 5;
	o->max_msgs_per_host = 50000;
	o->fetch_max_bytes = 64ll << 20;
	o->stats_interval_s = 30;
	batch_limits_default(&o->limits);
	gw_log_init_style(&o->log, GW_LOG_INFO, GW_LOG_STAMPED);
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* What one collector process holds while it runs. */
struct collector {
	struct collector_opts *o;
	natsConnection *nc;
	jsCtx *js;
	natsSubscription *sub;
	/* Connections cnats handed us, and those whose closed callback has run (under lock,
	 * signalled on cond): a connection is destroyed only once cnats is done with it. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t opened_conns, closed_conns;
	struct ndjson_writer out;
	struct fleet_view view;
	int sig_fd;
	bool state_dirty;
	uint64_t last_save_ns, last_stats_ns, last_msg_ns;
	uint64_t first_group_ns, last_group_done_ns;	/* busy time, for throughput figures */
	uint64_t rejected_logged;
	struct strbuf inflated;	/* scratch for batch_decode, reused */
	struct batch_budget budget;	/* decoded batches of the group being processed */
	struct strbuf lines;	/* NDJSON of the chunk being decoded, reused */
	FILE *lines_out;	/* stdio stream appending to `lines` (the JSON emitter writes FILE*) */
	uint64_t write_failures;
	struct gwc_metrics *metrics;
	uint64_t last_ack_unix_ns, reconnects_base;
};

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

static void save_state(struct collector *c, bool force)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC);
	int rc;

	if (!c->state_dirty || (!force && now - c->last_save_ns < 1000000000ull))
		return;
	rc = fleet_state_save(&c->view, c->o->state_path);
	if (rc < 0) {
		gw_err(&c->o->log, "saving state %s: %s", c->o->state_path, strerror(-rc));
		return;
	}
	c->state_dirty = false;
	c->last_save_ns = now;
}

static uint64_t rejected_total(const struct fleet_view *v)
{
	uint64_t n = 0;

	for (int r = 1; r < BATCH_VERDICT_COUNT; r++)
		n += v->rejected[r];
	return n;
}

static void log_stats(struct collector *c, const char *when)
{
	gw_info(&c->o->log,
		"%s: batches=%" PRIu64 " events=%" PRIu64 " repeats=%" PRIu64 " rejected=%" PRIu64
		" hosts=%u bytes_written=%" PRIu64 " rotations=%" PRIu64 " write_failures=%" PRIu64
		" busy_s=%.3f",
		when, c->view.batches, c->view.events, c->view.repeats, rejected_total(&c->view),
		HASH_COUNT(c->view.hosts), c->out.bytes_written, c->out.rotations, c->write_failures,
		(c->last_group_done_ns - c->first_group_ns) / 1e9);
}

/* One message of a fetched group and what to do with it once its output is on disk. */
struct pending {
	natsMsg *msg;
	Ghostwatch__V1__Batch *batch;	/* accepted and new: record after the write */
	size_t bad_events;		/* of that batch, dropped as undecodable */
	enum batch_verdict verdict;
};

/* Output of a chunk larger than this is written (and its messages acked) before the rest of the
 * group is decoded, so a group of big batches cannot pile up in memory. */
#define CHUNK_FLUSH_BYTES (32u << 20)

static bool seen_in_chunk(const struct pending *p, int from, int to,
			  const Ghostwatch__V1__Batch *b)
{
	for (int i = from; i < to; i++)
		if (p[i].batch && p[i].batch->seq == b->seq &&
		    strcmp(p[i].batch->host->host_id, b->host->host_id) == 0)
			return true;
	return false;
}

static bool stop_requested(struct collector *c);

static int write_lines(struct collector *c)
{
	struct strbuf *lines = &c->lines;
	int rc = !lines->failed ? 0 : -ENOMEM;

	if (!rc && lines->len)
		rc = ndjson_writer_write(&c->out, lines->data, lines->len);
	if (!rc && lines->len)
		rc = ndjson_writer_sync(&c->out);
	return rc;
}

/*
 * Writes the chunk's NDJSON, makes it durable, then settles its messages: acked only once on
 * disk, terminated when rejected. A failed write (a full disk) is retried in place, the messages
 * kept in progress, rather than sent back: every redelivery counts towards max-deliver, and a
 * full disk must not turn good batches into dead letters. Stopping meanwhile naks them for the
 * next collector.
 */
static void commit_chunk(struct collector *c, struct pending *p, int from, int to, bool *stop)
{
	uint64_t wall;
	struct strbuf *lines = &c->lines;
	int rc = fflush(c->lines_out) == 0 && !ferror(c->lines_out) ? write_lines(c) : -ENOMEM;

	while (rc && !*stop) {
		if (c->write_failures++ % 10 == 0)
			gw_err(&c->o->log,
			       "writing %zu bytes of NDJSON to %s: %s: not acked, retrying",
				lines->len, c->out.live_path, strerror(-rc));
		for (int i = from; i < to; i++)
			if (p[i].batch)
				natsMsg_InProgress(p[i].msg, NULL);
		save_state(c, false);	/* what is on disk so far, for `report` */
		sleep(1);
		*stop = stop_requested(c);
		if (!*stop && !lines->failed)
			rc = write_lines(c);
	}
	wall = now_ns(CLOCK_REALTIME);
	for (int i = from; i < to; i++) {
		if (p[i].verdict != BATCH_OK) {
			natsMsg_Term(p[i].msg, NULL);	/* kept in the stream, never redelivered */
		} else if (rc && p[i].batch) {
			natsMsg_Nak(p[i].msg, NULL);
		} else {
			if (p[i].batch) {
				fleet_view_record(&c->view, p[i].batch, p[i].bad_events, wall);
				c->state_dirty = true;
			}
			natsMsg_Ack(p[i].msg, NULL);
			c->last_ack_unix_ns = wall;
		}
		batch_free_in(&c->budget, p[i].batch);
		p[i].batch = NULL;
	}
	clearerr(c->lines_out);
	strbuf_reset(lines);
}

/* How many times the server has delivered m (1 on the first delivery), and its stream sequence. */
static uint64_t deliveries(natsMsg *m, uint64_t *stream_seq)
{
	jsMsgMetaData *meta = NULL;
	uint64_t n = 1;

	*stream_seq = 0;
	if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
		n = meta->NumDelivered;
		*stream_seq = meta->Sequence.Stream;
		jsMsgMetaData_Destroy(meta);
	}
	return n;
}

/* Decodes one message into p; accepted new batches get their NDJSON appended to c->lines. */
static void decode_one(struct collector *c, natsMsg *m, struct pending *p, int from, int i)
{
	const struct collector_opts *o = c->o;
	uint64_t wall = now_ns(CLOCK_REALTIME);
	const char *subject = natsMsg_GetSubject(m);
	const char *msg_id = NULL;
	Ghostwatch__V1__Batch *b = NULL;
	struct batch_info info;
	uint64_t n_delivered, stream_seq;
	char detail[256];

	memset(&p[i], 0, sizeof(p[i]));
	p[i].msg = m;
	if (natsMsgHeader_Get(m, "Nats-Msg-Id", &msg_id) != NATS_OK)
		msg_id = NULL;
	n_delivered = deliveries(m, &stream_seq);
	if (n_delivered >= (uint64_t)o->max_deliver) {
		/* every earlier delivery ended without an ack or a verdict (a crash, a hang): it is
		 * not decoded again, so it cannot wedge the stream */
		p[i].verdict = BATCH_DEAD_LETTER;
		snprintf(detail, sizeof(detail), "delivered %" PRIu64 " times without being settled: "
			 "terminated unread, kept in the stream as message %" PRIu64, n_delivered,
			 stream_seq);
	} else {
		p[i].verdict = batch_decode_in(&c->budget, &c->inflated, natsMsg_GetData(m),
					       natsMsg_GetDataLength(m), subject, msg_id, true,
					       &o->limits, &b, &info, detail, sizeof(detail));
	}
	if (p[i].verdict != BATCH_OK) {
		fleet_view_reject(&c->view, subject_host_id(subject), p[i].verdict, wall);
		c->state_dirty = true;
		/* A hostile or broken agent could flood the log: the counters always count, the
		 * log shows the first 100 and then every 1000th. */
		if (c->rejected_logged < 100 || c->rejected_logged % 1000 == 0)
			gw_warn(&o->log, "rejected batch on %.120s (%d bytes): %s: %s",
				subject, natsMsg_GetDataLength(m), batch_verdict_name(p[i].verdict),
				detail);
		c->rejected_logged++;
		return;
	}
	if (fleet_view_is_repeat(&c->view, b) ||
	    seen_in_chunk(p, from, i, b)) {
		gw_debug(&o->log, "repeat of %s seq %" PRIu64 ": not written again",
			b->host->host_id, b->seq);
		fleet_view_repeat(&c->view, b->host->host_id, wall);
		c->state_dirty = true;
		batch_free_in(&c->budget, b);
		return;
	}
	p[i].batch = b;
	p[i].bad_events = info.bad_events;
	if (info.bad_events)
		gw_warn(&o->log,
			"batch %s seq %" PRIu64 ": %zu events could not be decoded (corrupt, or a "
			"schema this collector does not share): dropped, the other %zu kept",
			b->host->host_id, b->seq, info.bad_events, b->n_events);
	batch_write_ndjson(c->lines_out, b);
	gw_debug(&o->log, "batch %s seq %" PRIu64 ": %zu events, %d -> %zu bytes",
		b->host->host_id, b->seq, b->n_events, natsMsg_GetDataLength(m),
		info.inflated_len);
}

/* One decode budget for the whole group: what the group's batches hold at once stays under it. */
static void process_group(struct collector *c, natsMsgList *list, struct pending *p, bool *stop)
{
	int from = 0;

	batch_budget_init(&c->budget, c->o->limits.max_decode_memory);
	for (int i = 0; i < list->Count; i++) {
		decode_one(c, list->Msgs[i], p, from, i);
		fflush(c->lines_out);
		if (i == list->Count - 1 || c->lines.len > CHUNK_FLUSH_BYTES) {
			commit_chunk(c, p, from, i + 1, stop);
			from = i + 1;
		}
	}
}

/* fopencookie write callback: stdio's buffer drains into the collector's line buffer. */
static ssize_t lines_write(void *cookie, const char *data, size_t len)
{
	struct strbuf *sb = cookie;

	strbuf_append(sb, data, len);
	return sb->failed ? 0 : (ssize_t)len;
}

static bool stop_requested(struct collector *c)
{
	struct signalfd_siginfo si;

	while (read(c->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) {
			gw_info(&c->o->log, "signal %u: stopping", si.ssi_signo);
			return true;
		}
	}
	return false;
}

static void sleep_interruptible(struct collector *c, unsigned ms, bool *stop)
{
	for (unsigned waited = 0; waited < ms && !*stop; waited += 100) {
		usleep(100000);
		*stop = stop_requested(c);
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
static void close_connection(struct collector *c)
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
	/* the jsCtx holds a reference on nc: the connection is freed with the last of the two */
	jsCtx_Destroy(c->js);
	c->js = NULL;
	natsConnection_Destroy(c->nc);
	c->nc = NULL;
}

static void publish_metrics(struct collector *c)
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
static int connect_and_bind(struct collector *c, bool *stop)
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
		    bind_consumer(c) == 0)
			return 0;
		gw_warn(&o->log, "JetStream not ready; retrying in %u ms", backoff_ms);
		/* a JetStream API reply that came too late may be arriving */
		close_connection(c);
retry:
		publish_metrics(c);
		sleep_interruptible(c, backoff_ms, stop);
		backoff_ms = backoff_ms * 2 > 10000 ? 10000 : backoff_ms * 2;
	}
	return -1;
}

static int setup(struct collector *c)
{
	struct collector_opts *o = c->o;
	sigset_t mask;
	int rc;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGPIPE);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	c->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (c->sig_fd < 0) {
		gw_err(&o->log, "signalfd: %s", strerror(errno));
		return -1;
	}

	rc = fleet_state_load(&c->view, o->state_path);
	if (rc == -ENOENT) {
		gw_info(&o->log, "no state file %s yet: starting an empty fleet view",
			o->state_path);
	} else if (rc == -EINVAL) {
		/* A state file of an older collector, or a damaged one: the stream still holds every
		 * batch, so set it aside for a person to read and go on rather than refuse to run. */
		char aside[PATH_MAX];

		snprintf(aside, sizeof(aside), "%s.unreadable", o->state_path);
		if (rename(o->state_path, aside)) {
			gw_err(&o->log, "state file %s is not a state file this collector reads, and "
			       "moving it to %s failed: %s", o->state_path, aside, strerror(errno));
			return -1;
		}
		gw_warn(&o->log, "state file %s is not a state file this collector reads (older "
			"format or damaged): moved to %s; starting an empty fleet view",
			o->state_path, aside);
	} else if (rc < 0) {
		gw_err(&o->log, "state file %s: %s", o->state_path, strerror(-rc));
		return -1;
	}

	c->lines_out = fopencookie(&c->lines, "w", (cookie_io_functions_t){ .write = lines_write });
	if (!c->lines_out || setvbuf(c->lines_out, NULL, _IOFBF, 1 << 16) != 0) {
		gw_err(&o->log, "line buffer: %s", strerror(errno));
		return -1;
	}

	rc = ndjson_writer_open(&c->out, o->out_dir, o->out_name, o->max_file_bytes, o->keep_files);
	if (rc < 0) {
		gw_err(&o->log, "opening output %s/%s.ndjson: %s", o->out_dir,
			o->out_name, strerror(-rc));
		return -1;
	}
	return 0;
}

static void teardown(struct collector *c)
{
	gwc_metrics_stop(c->metrics);
	close_connection(c);
	ndjson_writer_close(&c->out);
	fleet_view_free(&c->view);
	strbuf_free(&c->inflated);
	if (c->lines_out)
		fclose(c->lines_out);
	strbuf_free(&c->lines);
	if (c->sig_fd >= 0)
		close(c->sig_fd);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
}

int collector_run(struct collector_opts *o)
{
	struct collector c = { .o = o, .sig_fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER,
			       .cond = PTHREAD_COND_INITIALIZER };
	struct pending *p;
	bool stop = false;
	int rc = 0;

	fleet_view_init(&c.view);
	strbuf_init(&c.inflated, 0);
	strbuf_init(&c.lines, 0);
	c.out.fd = c.out.dir_fd = -1;
	p = calloc(o->fetch_batch, sizeof(*p));
	if (!p || setup(&c) < 0) {
		rc = 1;
		goto out;
	}
	if (o->metrics_addr) {
		char err[256];

		c.metrics = gwc_metrics_start(o->metrics_addr, &o->log, err, sizeof(err));
		if (!c.metrics) {
			gw_err(&o->log, "%s", err);
			rc = 1;
			goto out;
		}
	}
	c.state_dirty = true;	/* a state file from the start on, so `report` works */
	save_state(&c, true);
	if (connect_and_bind(&c, &stop) < 0)
		goto out;	/* stopped by a signal before nats-server was reachable */
	c.last_msg_ns = c.last_stats_ns = now_ns(CLOCK_MONOTONIC);

	while (!stop && !(stop = stop_requested(&c))) {
		natsMsgList list = { 0 };
		jsFetchRequest req;
		natsStatus s;
		uint64_t now;

		jsFetchRequest_Init(&req);
		req.Batch = o->fetch_batch;
		req.MaxBytes = o->fetch_max_bytes;
		req.Expires = 1000ll * 1000000;
		s = natsSubscription_FetchRequest(&list, c.sub, &req);
		now = now_ns(CLOCK_MONOTONIC);
		if (s == NATS_OK && list.Count > 0) {
			if (!c.first_group_ns)
				c.first_group_ns = now;
			process_group(&c, &list, p, &stop);
			natsMsgList_Destroy(&list);
			c.last_msg_ns = now;
			c.last_group_done_ns = now_ns(CLOCK_MONOTONIC);
		} else if (s == NATS_TIMEOUT || (s == NATS_OK && list.Count == 0)) {
			natsMsgList_Destroy(&list);
			if (o->idle_exit_s && now - c.last_msg_ns > o->idle_exit_s * 1000000000ull) {
				gw_info(&o->log, "idle for %d s: exiting", o->idle_exit_s);
				break;
			}
		} else {
			natsMsgList_Destroy(&list);
			gw_warn(&o->log, "fetch: %s: %s; retrying", natsStatus_GetText(s),
				nats_GetLastError(NULL));
			usleep(500000);
		}
		save_state(&c, false);
		publish_metrics(&c);
		if (o->stats_interval_s && now - c.last_stats_ns > o->stats_interval_s * 1000000000ull) {
			log_stats(&c, "stats");
			c.last_stats_ns = now;
		}
	}
	c.state_dirty = true;
	save_state(&c, true);
	log_stats(&c, "exit");
out:
	teardown(&c);
	free(p);
	return rc;
}
