#include "read.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/text.h"
#include "event_line.h"
#include "strbuf.h"

#define SUBJECT_PREFIX "ghostwatch.v1.telemetry."
#define FETCH_BATCH 64
#define FETCH_WAIT_MS 2000
/* the server drops the ephemeral this long after the reader went away */
#define EPHEMERAL_IDLE_NS (30ll * 1000000000)

bool read_parse_since(const char *s, int64_t now_unix_ns, int64_t *out)
{
	struct tm tm = { 0 };
	const char *end;
	char *num_end;
	long long n;

	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end && !*end) {
		time_t t = timegm(&tm);

		if (t < 0)
			return false;
		*out = (int64_t)t * 1000000000;
		return true;
	}
	errno = 0;
	n = strtoll(s, &num_end, 10);
	if (errno || num_end == s || n < 0 || n > 3650ll * 86400 || !num_end[0] || num_end[1])
		return false;
	switch (*num_end) {
	case 's': break;
	case 'm': n *= 60; break;
	case 'h': n *= 3600; break;
	case 'd': n *= 86400; break;
	default: return false;
	}
	if (n * 1000000000 > now_unix_ns)
		return false;
	*out = now_unix_ns - n * 1000000000;
	return true;
}

static void json_str(FILE *out, const char *s)
{
	char clean[1024];

	gw_utf8_sanitize(s, strlen(s), clean, sizeof(clean));
	fputc('"', out);
	gw_json_escape(out, clean);
	fputc('"', out);
}

/* A message the collector would refuse: where it is, and why, for forensics. */
static void write_rejected(FILE *out, uint64_t stream_seq, const char *subject, size_t len,
			   int64_t stored_ns, enum batch_verdict v, const char *detail)
{
	fprintf(out, "{\"type\":\"rejected\",\"stream_seq\":\"%" PRIu64 "\",\"subject\":",
		stream_seq);
	json_str(out, subject);
	fprintf(out, ",\"bytes\":%zu,\"stored_ns\":\"%" PRId64 "\",\"reason\":\"%s\",\"detail\":",
		len, stored_ns, batch_verdict_name(v));
	json_str(out, detail);
	fputs("}\n", out);
}

/* Decodes and prints one stored message; false once the last one pending was printed. */
static bool print_msg(const struct read_opts *o, struct strbuf *scratch, natsMsg *m, FILE *out)
{
	const char *subject = natsMsg_GetSubject(m), *msg_id = NULL;
	jsMsgMetaData *meta = NULL;
	Ghostwatch__V1__Batch *b = NULL;
	enum batch_verdict v;
	char detail[256] = "";
	bool more = true;
	uint64_t seq = 0;
	int64_t stored = 0;

	if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
		seq = meta->Sequence.Stream;
		stored = meta->Timestamp;
		more = meta->NumPending > 0;
		jsMsgMetaData_Destroy(meta);
	}
	if (natsMsgHeader_Get(m, "Nats-Msg-Id", &msg_id) != NATS_OK)
		msg_id = NULL;
	v = batch_decode(scratch, natsMsg_GetData(m), natsMsg_GetDataLength(m), subject, msg_id,
			 true, &o->limits, &b, NULL, detail, sizeof(detail));
	if (v == BATCH_OK)
		batch_write_ndjson(out, b);
	else
		write_rejected(out, seq, subject, natsMsg_GetDataLength(m), stored, v, detail);
	batch_free(b);
	return more;
}

static int read_all(const struct read_opts *o, jsCtx *js, FILE *out)
{
	char subject[sizeof(SUBJECT_PREFIX) + GW_HOST_ID_MAX + 1];
	natsSubscription *sub = NULL;
	struct strbuf scratch;
	jsSubOptions so;
	jsErrCode jerr = 0;
	uint64_t printed = 0;
	bool more = true;
	natsStatus s;
	int rc = 0;

	snprintf(subject, sizeof(subject), "%s%s", SUBJECT_PREFIX, o->host ? o->host : ">");
	jsSubOptions_Init(&so);
	so.Stream = o->stream;
	so.Config.AckPolicy = js_AckNone;
	so.Config.InactiveThreshold = EPHEMERAL_IDLE_NS;
	so.Config.Description = "ghostwatch-collector read (ephemeral, acks nothing)";
	if (o->from_seq) {
		so.Config.DeliverPolicy = js_DeliverByStartSequence;
		so.Config.OptStartSeq = o->from_seq;
	} else if (o->since_unix_ns) {
		so.Config.DeliverPolicy = js_DeliverByStartTime;
		so.Config.OptStartTime = o->since_unix_ns;
	} else {
		so.Config.DeliverPolicy = js_DeliverAll;
	}
	s = js_PullSubscribe(&sub, js, subject, NULL, NULL, &so, &jerr);
	if (s != NATS_OK) {
		gw_err(&o->log, "ephemeral consumer on %s: %s (%d) %s", o->stream,
		       natsStatus_GetText(s), jerr, nats_GetLastError(NULL));
		return 1;
	}
	strbuf_init(&scratch, 0);
	while (more && (!o->limit || printed < o->limit)) {
		natsMsgList list = { 0 };
		int want = FETCH_BATCH;

		if (o->limit && o->limit - printed < (uint64_t)want)
			want = (int)(o->limit - printed);
		s = natsSubscription_Fetch(&list, sub, want, FETCH_WAIT_MS, &jerr);
		if (s == NATS_TIMEOUT || (s == NATS_OK && !list.Count)) {
			natsMsgList_Destroy(&list);
			break;	/* nothing (more) matches */
		}
		if (s != NATS_OK) {
			gw_err(&o->log, "fetch: %s (%d) %s", natsStatus_GetText(s), jerr,
			       nats_GetLastError(NULL));
			natsMsgList_Destroy(&list);
			rc = 1;
			break;
		}
		for (int i = 0; i < list.Count; i++) {
			more = print_msg(o, &scratch, list.Msgs[i], out);
			printed++;
		}
		natsMsgList_Destroy(&list);
	}
	if (fflush(out)) {
		gw_err(&o->log, "writing: %s", strerror(errno));
		rc = 1;
	}
	gw_info(&o->log, "%" PRIu64 " messages read", printed);
	strbuf_free(&scratch);
	/* Destroy, not Unsubscribe: deleting the consumer is not the collector's right */
	natsSubscription_Destroy(sub);
	return rc;
}

int collector_read(const struct read_opts *o, FILE *out)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsOptions jo;
	char err[512];
	int rc;

	if (nats_conn_open(&nc, &o->nats, err, sizeof(err)) != NATS_OK) {
		gw_err(&o->log, "nats %s: %s", o->nats.servers, err);
		return 1;
	}
	jsOptions_Init(&jo);
	jo.Wait = 5000;
	if (natsConnection_JetStream(&js, nc, &jo) != NATS_OK) {
		gw_err(&o->log, "JetStream: %s", nats_GetLastError(NULL));
		natsConnection_Destroy(nc);
		return 1;
	}
	rc = read_all(o, js, out);
	jsCtx_Destroy(js);
	natsConnection_Close(nc);
	natsConnection_Destroy(nc);
	return rc;
}
