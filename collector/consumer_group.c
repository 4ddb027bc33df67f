/* consumer_group.c - one fetched group: decode, write, fdatasync, store the fleet view, then ack
 * or terminate. */
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

#include "fleet_detect.h"
#include "fleet_kv.h"
#include "ndjson_writer.h"
#include "event_line.h"
#include "strbuf.h"
#include "tamper.h"

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

/* What a chunk's messages say of one host, applied to its value in the fleet bucket. */
struct host_ops {
	const struct pending *p;
	int from, to;
	const char *host_id;
	uint64_t wall;
};

static void apply_host(struct fleet_host *h, void *closure)
{
	const struct host_ops *o = closure;

	for (int i = o->from; i < o->to; i++) {
		const struct pending *q = &o->p[i];

		if (q->recorded || strcmp(q->host_id, o->host_id) != 0)
			continue;
		if (q->verdict != BATCH_OK)
			fleet_host_reject(h, q->verdict, o->wall);
		else if (q->batch) {
			fleet_host_record(h, q->batch, q->bad_events, o->wall);
			tamper_note_batch(&h->tamper, q->batch);
		}
		else
			fleet_host_repeat(h, o->wall);
	}
}

/* Stores in the fleet bucket what the chunk's messages not yet recorded say: 0 once all are. */
static int store_chunk(struct collector *c, struct pending *p, int from, int to, uint64_t wall)
{
	uint64_t unattributed[BATCH_VERDICT_COUNT] = { 0 };
	bool any_unattributed = false;
	int rc = 0;

	for (int i = from; i < to; i++) {
		struct host_ops ops = { p, from, to, p[i].host_id, wall };

		if (p[i].recorded)
			continue;
		if (!p[i].host_id[0]) {
			unattributed[p[i].verdict]++;
			any_unattributed = true;
			continue;
		}
		if (fleet_kv_update_host(c->kv, &c->view, p[i].host_id, apply_host, &ops,
					 &c->kv_conflicts, &c->o->log)) {
			rc = -1;
			continue;
		}
		for (int j = to - 1; j >= i; j--)
			if (!p[j].recorded && strcmp(p[j].host_id, p[i].host_id) == 0)
				p[j].recorded = true;
	}
	if (any_unattributed) {
		if (fleet_kv_add_unattributed(c->kv, &c->view, unattributed, &c->o->log))
			return -1;
		for (int i = from; i < to; i++)
			if (!p[i].host_id[0])
				p[i].recorded = true;
	}
	return rc;
}

#define FLEET_FINDINGS_SUBJECT "ghostwatch.v1.fleet.findings"

static void apply_alert(struct fleet_host *h, void *closure)
{
	fleet_detect_mark(h, closure);
}

/* Each NDJSON line in lines, published as it is on the fleet findings subject. */
static void publish_lines(struct collector *c, const struct strbuf *lines)
{
	size_t at = 0;

	while (at < lines->len) {
		const char *nl = memchr(lines->data + at, '\n', lines->len - at);
		size_t len = nl ? (size_t)(nl - (lines->data + at)) + 1 : lines->len - at;

		if (natsConnection_Publish(c->nc, FLEET_FINDINGS_SUBJECT, lines->data + at,
					   (int)len) != NATS_OK)
			c->findings_unpublished++;
		at += len;
	}
}

void consumer_raise(struct collector *c, struct fleet_alert *alerts, size_t n, uint64_t wall)
{
	for (size_t i = 0; i < n; i++) {
		alerts[i].f.time_ns = wall;
		fleet_finding_raise(c->lines_out, NULL, alerts[i].host_id, &alerts[i].f);
		gw_info(&c->o->log, "fleet finding %s on %s: %s", alerts[i].f.rule_id,
			alerts[i].host_id, alerts[i].matched);
	}
	if (n && fflush(c->lines_out) == 0 && write_lines(c) == 0) {
		publish_lines(c, &c->lines);
		for (size_t i = 0; i < n; i++)
			fleet_kv_update_host(c->kv, &c->view, alerts[i].host_id, apply_alert,
					     &alerts[i], &c->kv_conflicts, &c->o->log);
	} else {
		/* not written: looked for again with the host's next batch */
		for (size_t i = 0; i < n; i++) {
			struct fleet_host *h = fleet_view_host(&c->view, alerts[i].host_id);

			if (h)
				h->detect_due = true;
		}
	}
	clearerr(c->lines_out);
	strbuf_reset(&c->lines);
}

/* The fleet findings the chunk's hosts now call for (fleet_detect.h). */
static void raise_fleet_findings(struct collector *c, struct pending *p, int from, int to,
				 uint64_t wall)
{
	char *touched[to - from];
	struct fleet_alert *alerts;
	size_t n_touched = 0;

	for (int i = from; i < to; i++) {
		bool dup = !p[i].batch || !p[i].recorded || !p[i].written;

		for (size_t j = 0; j < n_touched && !dup; j++)
			dup = strcmp(touched[j], p[i].host_id) == 0;
		if (!dup)
			touched[n_touched++] = p[i].host_id;
	}
	if (!n_touched || !(alerts = calloc(FLEET_ALERTS_MAX, sizeof(*alerts))))
		return;
	consumer_raise(c, alerts,
		       fleet_detect(&c->view, touched, n_touched, wall, alerts, FLEET_ALERTS_MAX),
		       wall);
	free(alerts);
}

static void keep_in_progress(struct pending *p, int from, int to)
{
	for (int i = from; i < to; i++)
		natsMsg_InProgress(p[i].msg, NULL);
}

/*
 * Writes the chunk's NDJSON, makes it durable, records it in the fleet bucket, then settles its
 * messages: acked only once on disk and in the bucket, terminated when rejected. A failed write (a
 * full disk) or store (nats-server away) is retried in place, the messages kept in progress,
 * rather than sent back: every redelivery counts towards max-deliver, and a full disk must not
 * turn good batches into dead letters. Stopping meanwhile naks what is not settled, for the next
 * collector.
 */
static void commit_chunk(struct collector *c, struct pending *p, int from, int to, bool *stop)
{
	uint64_t wall;
	struct strbuf *lines = &c->lines;
	int rc = fflush(c->lines_out) == 0 && !ferror(c->lines_out) ? write_lines(c) : -ENOMEM;
	int stored;

	while (rc && !*stop) {
		if (c->write_failures++ % 10 == 0)
			gw_err(&c->o->log,
			       "writing %zu bytes of NDJSON to %s: %s: not acked, retrying",
				lines->len, c->out.live_path, strerror(-rc));
		keep_in_progress(p, from, to);
		sleep(1);
		*stop = consumer_stop_requested(c);
		if (!*stop && !lines->failed)
			rc = write_lines(c);
	}
	wall = now_ns(CLOCK_REALTIME);
	for (int i = from; i < to; i++)
		p[i].written = !rc || !p[i].batch;
	for (int i = from; i < to; i++)
		p[i].recorded = !p[i].written;	/* not written: not recorded either, nak'd */
	stored = store_chunk(c, p, from, to, wall);
	while (stored && !*stop) {
		if (c->store_failures++ % 10 == 0)
			gw_err(&c->o->log, "storing the fleet view in bucket %s failed: not acked, "
			       "retrying", c->o->bucket);
		keep_in_progress(p, from, to);
		sleep(1);
		*stop = consumer_stop_requested(c);
		if (!*stop)
			stored = store_chunk(c, p, from, to, wall);
	}
	for (int i = from; i < to; i++) {
		if (!p[i].written || (stored && !p[i].recorded)) {
			natsMsg_Nak(p[i].msg, NULL);
		} else if (p[i].verdict != BATCH_OK) {
			natsMsg_Term(p[i].msg, NULL);	/* kept in the stream, never redelivered */
		} else {
			natsMsg_Ack(p[i].msg, NULL);
			c->last_ack_unix_ns = wall;
			if (p[i].batch) {
				c->own_batches++;
				c->own_events += p[i].batch->n_events;
			}
		}
	}
	clearerr(c->lines_out);
	strbuf_reset(lines);
	if (!stored)
		raise_fleet_findings(c, p, from, to, wall);
	for (int i = from; i < to; i++) {
		batch_free_in(&c->budget, p[i].batch);
		p[i].batch = NULL;
	}
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
		const char *host = subject_host_id(subject);

		if (host)
			snprintf(p[i].host_id, sizeof(p[i].host_id), "%s", host);
		/* A hostile or broken agent could flood the log: the counters always count, the
		 * log shows the first 100 and then every 1000th. */
		if (c->rejected_logged < 100 || c->rejected_logged % 1000 == 0)
			gw_warn(&o->log, "rejected batch on %.120s (%d bytes): %s: %s",
				subject, natsMsg_GetDataLength(m), batch_verdict_name(p[i].verdict),
				detail);
		c->rejected_logged++;
		return;
	}
	snprintf(p[i].host_id, sizeof(p[i].host_id), "%s", b->host->host_id);
	if (fleet_view_is_repeat(&c->view, b) ||
	    seen_in_chunk(p, from, i, b)) {
		gw_debug(&o->log, "repeat of %s seq %" PRIu64 ": not written again",
			b->host->host_id, b->seq);
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
	tamper_on_batch(&o->tamper, c->lines_out, &c->view, b, now_ns(CLOCK_REALTIME));
	gw_debug(&o->log, "batch %s seq %" PRIu64 ": %zu events, %d -> %zu bytes",
		b->host->host_id, b->seq, b->n_events, natsMsg_GetDataLength(m),
		info.inflated_len);
}

/* One decode budget for the whole group: what the group's batches hold at once stays under it. */
void consumer_group_process(struct collector *c, natsMsgList *list, struct pending *p, bool *stop)
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
