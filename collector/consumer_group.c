/* consumer_group.c - one fetched group: decode, write, fdatasync, then ack or terminate. */
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

#include "fleet_state.h"
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
		consumer_save_state(c, false);	/* what is on disk so far, for `report` */
		sleep(1);
		*stop = consumer_stop_requested(c);
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
	tamper_on_batch(&o->tamper, c->lines_out, &c->view, b, wall);
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
