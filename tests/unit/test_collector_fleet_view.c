/* Unit tests of the collector's fleet view (gaps, repeats, merging host values as the fleet bucket
 * holds them), its JSON string escaping and its batch decoder limits. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "batch_decode.h"
#include "collector_state.pb-c.h"
#include "fleet_state.h"
#include "event_line.h"
#include "strbuf.h"
#include "testing.h"

static Ghostwatch__V1__HostIdentity host_a = GHOSTWATCH__V1__HOST_IDENTITY__INIT;

/* Records batch seq of host-a whose window is [start, start + 10). */
static void record_window(struct fleet_view *v, uint64_t seq, uint64_t start)
{
	Ghostwatch__V1__Batch b = GHOSTWATCH__V1__BATCH__INIT;

	host_a.host_id = "host-a";
	host_a.hostname = "laptop 7";
	b.host = &host_a;
	b.seq = seq;
	b.window_start_ns = start;
	b.window_end_ns = start + 10;
	fleet_view_record(v, &b, 0, 1000 + seq);
}

static void record(struct fleet_view *v, uint64_t seq)
{
	record_window(v, seq, 100 * seq);
}

static bool is_repeat(struct fleet_view *v, uint64_t seq, uint64_t start)
{
	Ghostwatch__V1__Batch b = GHOSTWATCH__V1__BATCH__INIT;

	b.host = &host_a;
	b.seq = seq;
	b.window_start_ns = start;
	b.window_end_ns = start + 10;
	return fleet_view_is_repeat(v, &b);
}

TEST(a_wiped_spool_restarting_seq_is_not_a_repeat)
{
	struct fleet_view v;
	struct fleet_host *h;

	fleet_view_init(&v);
	for (uint64_t s = 1; s <= 10; s++)
		if (s != 6)
			record(&v, s);	/* windows 100..1010, seq 6 lost */
	CHECK(is_repeat(&v, 3, 300));	/* a re-send: same (old) window */
	CHECK(!is_repeat(&v, 1, 5000));	/* the reinstalled agent's first batch */
	record_window(&v, 1, 5000);
	record_window(&v, 2, 5100);
	h = fleet_view_host(&v, "host-a");
	REQUIRE(h);
	CHECK(h->seq_resets == 1);
	CHECK(h->repeats == 0);
	CHECK(fleet_host_gaps(h) == 1);	/* the old run's lost seq 6 stays counted */
	CHECK(fleet_host_first_seq(h) == 1 && fleet_host_last_seq(h) == 2);
	CHECK(h->batches == 11);
	CHECK(is_repeat(&v, 2, 5100));	/* and a re-send in the new run is a repeat again */
	fleet_view_free(&v);
}

TEST(gaps_and_repeats)
{
	struct fleet_view v;
	struct fleet_host *h;

	fleet_view_init(&v);
	for (uint64_t s = 1; s <= 10; s++)
		if (s != 4 && s != 7 && s != 8)
			record(&v, s);
	record(&v, 5);
	h = fleet_view_host(&v, "host-a");
	REQUIRE(h);
	CHECK(fleet_host_gaps(h) == 3);
	CHECK(h->repeats == 1);
	CHECK(fleet_host_first_seq(h) == 1 && fleet_host_last_seq(h) == 10);
	CHECK(fleet_view_seen(&v, "host-a", 5));
	CHECK(!fleet_view_seen(&v, "host-a", 7));
	CHECK(!fleet_view_seen(&v, "host-b", 1));
	record(&v, 7);	/* a late arrival fills the hole */
	CHECK(fleet_host_gaps(h) == 2);
	CHECK(h->n_ranges == 3);
	fleet_view_free(&v);
}

TEST(range_list_is_bounded)
{
	struct fleet_view v;
	struct fleet_host *h;

	fleet_view_init(&v);
	for (uint64_t s = 1; s <= 4 * FLEET_MAX_RANGES; s += 2)
		record(&v, s);	/* every other seq lost */
	h = fleet_view_host(&v, "host-a");
	REQUIRE(h);
	CHECK(h->n_ranges <= FLEET_MAX_RANGES);
	CHECK(fleet_host_gaps(h) == 2 * FLEET_MAX_RANGES - 1);
	fleet_view_free(&v);
}

/* Packs view's host-a and merges it into m. */
static struct fleet_host *copy_host(struct fleet_view *m, struct fleet_view *view)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	struct fleet_host *h = fleet_view_host(view, "host-a"), *out;

	if (!h || fleet_state_pack_host(h, &buf, &len))
		return NULL;
	out = fleet_state_merge_host(m, buf, len);
	free(buf);
	return out;
}

TEST(host_values_merge)
{
	struct fleet_view a, b, m;
	struct fleet_host *h;
	struct fleet_counts counts;

	fleet_view_init(&a);
	fleet_view_init(&b);
	fleet_view_init(&m);
	/* two values of one host, 1..20 split between them, both got 11, nobody got 15 */
	for (uint64_t s = 1; s <= 20; s++) {
		if (s == 15)
			continue;
		record(s % 2 ? &a : &b, s);
	}
	record(&b, 10 + 1);	/* 11 went to a and to b */
	fleet_view_reject(&a, "host-a", BATCH_BAD_ZLIB, 5);
	REQUIRE(copy_host(&m, &a));
	h = copy_host(&m, &b);
	REQUIRE(h);
	CHECK(fleet_host_gaps(h) == 1);
	CHECK(h->repeats == 1);
	CHECK(h->batches == 20);
	CHECK(h->rejected == 1);
	CHECK(h->rejected_by[BATCH_BAD_ZLIB] == 1);
	CHECK_STR(h->hostname, "laptop 7");
	/* the view's totals are what its hosts hold */
	fleet_host_counts(h, &counts);
	fleet_view_account(&m, &counts, NULL);
	CHECK(m.rejected[BATCH_BAD_ZLIB] == 1 && m.batches == 20);
	fleet_view_free(&a);
	fleet_view_free(&b);
	fleet_view_free(&m);
}

TEST(findings_and_score_survive_save_and_merge)
{
	Ghostwatch__V1__Batch b = GHOSTWATCH__V1__BATCH__INIT;
	Ghostwatch__V1__Event e1 = GHOSTWATCH__V1__EVENT__INIT, e2 = GHOSTWATCH__V1__EVENT__INIT;
	Ghostwatch__V1__Event e3 = GHOSTWATCH__V1__EVENT__INIT;
	Ghostwatch__V1__Event *evs[] = { &e1, &e2, &e3 };
	Ghostwatch__V1__Finding f1 = GHOSTWATCH__V1__FINDING__INIT, f2 = GHOSTWATCH__V1__FINDING__INIT;
	Ghostwatch__V1__FraudScore sc = GHOSTWATCH__V1__FRAUD_SCORE__INIT;
	struct fleet_view v, back;
	struct fleet_host *h;

	host_a.host_id = "host-a";
	f1.rule_id = "rmm.anydesk";
	f1.severity = "high";
	f1.count = 4;
	f1.matched = "dns suffix net.anydesk.com";
	f2.rule_id = "odd rule:id,with separators";
	f2.severity = "critical";
	f2.count = 1;
	sc.score = 87;
	e1.kind_case = GHOSTWATCH__V1__EVENT__KIND_FINDING;
	e1.finding = &f1;
	e2.kind_case = GHOSTWATCH__V1__EVENT__KIND_FINDING;
	e2.finding = &f2;
	e3.kind_case = GHOSTWATCH__V1__EVENT__KIND_FRAUD_SCORE;
	e3.fraud_score = &sc;
	e3.time_ns = 500;
	b.host = &host_a;
	b.seq = 1;
	b.events = evs;
	b.n_events = 3;
	fleet_view_init(&v);
	fleet_view_record(&v, &b, 0, 10);
	h = fleet_view_host(&v, "host-a");
	REQUIRE(h && h->n_findings == 2 && h->has_score && h->fraud_score == 87);
	CHECK_STR(fleet_host_worst_severity(h), "critical");
	fleet_view_init(&back);
	h = copy_host(&back, &v);
	REQUIRE(h && h->n_findings == 2);
	CHECK_STR(h->findings[1].rule_id, "odd rule:id,with separators");
	CHECK(h->findings[0].count == 4);
	CHECK_STR(h->findings[0].matched, "dns suffix net.anydesk.com");	/* the evidence */
	CHECK(h->has_score && h->fraud_score == 87 && h->fraud_score_ns == 500);
	/* an older score does not replace a newer one */
	sc.score = 3;
	e3.time_ns = 100;
	b.seq = 2;
	fleet_view_record(&back, &b, 0, 20);
	CHECK(h->fraud_score == 87);
	fleet_view_free(&v);
	fleet_view_free(&back);
}

TEST(only_host_values_load)
{
	static const uint8_t old_text[] = "v1 batches=3 events=9\n";
	Ghostwatch__V1__FleetHostState p = GHOSTWATCH__V1__FLEET_HOST_STATE__INIT;
	Ghostwatch__V1__FleetSeqRange r = GHOSTWATCH__V1__FLEET_SEQ_RANGE__INIT, *rp = &r;
	struct fleet_view v;
	uint8_t buf[256];
	size_t len;

	fleet_view_init(&v);
	CHECK(fleet_state_merge_host(&v, old_text, sizeof(old_text) - 1) == NULL);
	CHECK(fleet_state_merge_host(&v, buf, 0) == NULL);	/* no id */
	p.id = "host a";	/* not a host id */
	len = ghostwatch__v1__fleet_host_state__pack(&p, buf);
	CHECK(fleet_state_merge_host(&v, buf, len) == NULL);
	p.id = "host-a";
	r.lo = 5;
	r.hi = 4;	/* an empty range no collector writes */
	p.ranges = &rp;
	p.n_ranges = 1;
	len = ghostwatch__v1__fleet_host_state__pack(&p, buf);
	CHECK(fleet_state_merge_host(&v, buf, len) == NULL);
	r.hi = 9;
	len = ghostwatch__v1__fleet_host_state__pack(&p, buf);
	CHECK(fleet_state_merge_host(&v, buf, len) != NULL);
	fleet_view_free(&v);
}

TEST(json_strings_stay_one_valid_line)
{
	struct strbuf sb;
	const char in[] = "a\"b\\c\nd\x01\xff\xc3\xa9";

	strbuf_init(&sb, 0);
	strbuf_json_string(&sb, in, sizeof(in) - 1);
	CHECK_STR(sb.data, "\"a\\\"b\\\\c\\nd\\u0001\\u00ff\xc3\xa9\"");
	strbuf_free(&sb);
}

TEST(decoder_caps_a_zlib_bomb)
{
	struct batch_limits lim;
	size_t n = 8 << 20;
	uint8_t *zeros = calloc(1, n);
	uLongf zlen = compressBound(n);
	uint8_t *z = malloc(zlen);
	Ghostwatch__V1__Batch *b;
	char detail[128];

	REQUIRE(zeros && z);
	REQUIRE(compress2(z, &zlen, zeros, n, 9) == Z_OK);
	batch_limits_default(&lim);
	lim.max_inflated = 1 << 20;
	CHECK(batch_decode(NULL, z, zlen, "ghostwatch.v1.telemetry.host-a", NULL, false, &lim, &b,
			   NULL, detail, sizeof(detail)) == BATCH_INFLATE_CAP);
	CHECK(b == NULL);
	CHECK(batch_decode(NULL, z, zlen / 2, "ghostwatch.v1.telemetry.host-a", NULL, false, &lim,
			   &b, NULL, detail, sizeof(detail)) != BATCH_OK);
	CHECK(batch_decode(NULL, z, zlen, "ghostwatch.v1.telemetry.a.b", NULL, false, &lim, &b,
			   NULL, detail, sizeof(detail)) == BATCH_BAD_SUBJECT);
	/* with a reused scratch buffer: the cap still holds, and a good batch after a bad one */
	struct strbuf scratch;
	strbuf_init(&scratch, 0);
	CHECK(batch_decode(&scratch, z, zlen, "ghostwatch.v1.telemetry.host-a", NULL, false, &lim,
			   &b, NULL, detail, sizeof(detail)) == BATCH_INFLATE_CAP);
	CHECK(scratch.len <= lim.max_inflated);
	strbuf_free(&scratch);
	free(zeros);
	free(z);
}

TEST(decoded_strings_are_valid_utf8)
{
	Ghostwatch__V1__Batch b = GHOSTWATCH__V1__BATCH__INIT;
	Ghostwatch__V1__HostIdentity id = GHOSTWATCH__V1__HOST_IDENTITY__INIT;
	Ghostwatch__V1__Event ev = GHOSTWATCH__V1__EVENT__INIT, *evp = &ev;
	Ghostwatch__V1__ProcessExec ex = GHOSTWATCH__V1__PROCESS_EXEC__INIT;
	Ghostwatch__V1__Process pr = GHOSTWATCH__V1__PROCESS__INIT;
	char *argv[] = { "ok", "bad\xff\xc3(" };
	struct batch_limits lim;
	Ghostwatch__V1__Batch *out = NULL;
	uint8_t raw[512], z[1024];
	uLongf zlen = sizeof(z);
	size_t n;

	id.host_id = "host-a";
	id.hostname = "lap\xfetop";
	pr.argv = argv;
	pr.n_argv = 2;
	ex.process = &pr;
	ev.kind_case = GHOSTWATCH__V1__EVENT__KIND_EXEC;
	ev.exec = &ex;
	b.host = &id;
	b.seq = 3;
	b.events = &evp;
	b.n_events = 1;
	n = ghostwatch__v1__batch__pack(&b, raw);
	REQUIRE(compress2(z, &zlen, raw, n, 6) == Z_OK);
	batch_limits_default(&lim);
	REQUIRE(batch_decode(NULL, z, zlen, "ghostwatch.v1.telemetry.host-a", "host-a:3", true, &lim,
			     &out, NULL, NULL, 0) == BATCH_OK);
	CHECK_STR(out->host->hostname, "lap\xef\xbf\xbdtop");
	CHECK_STR(out->events[0]->exec->process->argv[0], "ok");
	CHECK_STR(out->events[0]->exec->process->argv[1], "bad\xef\xbf\xbd\xef\xbf\xbd(");
	CHECK_STR(event_type_name(out->events[0]), "exec");
	batch_free(out);
}

TEST(an_undecodable_event_costs_only_itself)
{
	Ghostwatch__V1__Batch b = GHOSTWATCH__V1__BATCH__INIT;
	Ghostwatch__V1__HostIdentity id = GHOSTWATCH__V1__HOST_IDENTITY__INIT;
	Ghostwatch__V1__Event e1 = GHOSTWATCH__V1__EVENT__INIT, e2 = GHOSTWATCH__V1__EVENT__INIT;
	Ghostwatch__V1__Event *evs[] = { &e1, &e2 };
	/* an exec from an agent built before ancestors moved to field 3: field 2 is reserved now, so
	 * the event decodes (without its ancestors) instead of being lost */
	static const uint8_t old_schema_event[] = { 0x2a, 0x06, 0x52, 0x04, 0x12, 0x02, 0x28, 0x07 };
	/* an exec whose ancestors[0] has comm (a string) sent as a varint: undecodable */
	static const uint8_t wrong_wire_type_event[] = { 0x2a, 0x06, 0x52, 0x04, 0x1a, 0x02, 0x28,
							 0x07 };
	/* and one whose inside is cut short (field 1 claims 5 bytes, 1 follows) */
	static const uint8_t truncated_event[] = { 0x2a, 0x03, 0x0a, 0x05, 0x01 };
	struct batch_limits lim;
	struct batch_info info;
	Ghostwatch__V1__Batch *out = NULL;
	uint8_t raw[512], z[1024];
	uLongf zlen = sizeof(z);
	size_t n;

	id.host_id = "host-a";
	e1.event_id = 1;
	e2.event_id = 2;
	b.host = &id;
	b.seq = 9;
	b.events = evs;
	b.n_events = 2;
	n = ghostwatch__v1__batch__pack(&b, raw);
	memcpy(raw + n, old_schema_event, sizeof(old_schema_event));
	n += sizeof(old_schema_event);
	memcpy(raw + n, wrong_wire_type_event, sizeof(wrong_wire_type_event));
	n += sizeof(wrong_wire_type_event);
	memcpy(raw + n, truncated_event, sizeof(truncated_event));
	n += sizeof(truncated_event);
	REQUIRE(compress2(z, &zlen, raw, n, 6) == Z_OK);
	batch_limits_default(&lim);
	REQUIRE(batch_decode(NULL, z, zlen, "ghostwatch.v1.telemetry.host-a", "host-a:9", true, &lim,
			     &out, &info, NULL, 0) == BATCH_OK);
	CHECK(out->n_events == 3);
	CHECK(out->events[0]->event_id == 1 && out->events[1]->event_id == 2);
	CHECK(out->events[2]->kind_case == GHOSTWATCH__V1__EVENT__KIND_EXEC);
	CHECK(info.bad_events == 2);
	batch_free(out);

	/* a batch whose own framing is broken is still rejected as a whole */
	raw[n++] = 0x2a;
	raw[n++] = 0x7f;	/* an event claiming 127 bytes at the end */
	zlen = sizeof(z);
	REQUIRE(compress2(z, &zlen, raw, n, 6) == Z_OK);
	CHECK(batch_decode(NULL, z, zlen, "ghostwatch.v1.telemetry.host-a", "host-a:9", true, &lim,
			   &out, &info, NULL, 0) == BATCH_BAD_PROTOBUF);
	CHECK(out == NULL);
}

TEST(host_ids_are_subject_tokens)
{
	CHECK(host_id_valid("host-a_1", 8));
	CHECK(!host_id_valid("a.b", 3));
	CHECK(!host_id_valid("a*", 2));
	CHECK(!host_id_valid("", 0));
	CHECK(subject_host_id("ghostwatch.v1.telemetry.host-a") != NULL);
	CHECK(subject_host_id("ghostwatch.v1.telemetry.>") == NULL);
	CHECK(subject_host_id("other.host-a") == NULL);
}

int main(void)
{
	RUN(gaps_and_repeats);
	RUN(a_wiped_spool_restarting_seq_is_not_a_repeat);
	RUN(range_list_is_bounded);
	RUN(host_values_merge);
	RUN(findings_and_score_survive_save_and_merge);
	RUN(only_host_values_load);
	RUN(json_strings_stay_one_valid_line);
	RUN(decoder_caps_a_zlib_bomb);
	RUN(decoded_strings_are_valid_utf8);
	RUN(an_undecodable_event_costs_only_itself);
	RUN(host_ids_are_subject_tokens);
	return test_summary();
}
