/* Unit tests of the collector's tamper evidence across an agent's runs (collector/tamper.c). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fleet_state.h"
#include "fleet_view.h"
#include "roster.h"
#include "tamper.h"
#include "testing.h"

#define S 1000000000ull
#define T0 (1700000000ull * S)

struct run {
	Ghostwatch__V1__HostIdentity id;
	Ghostwatch__V1__Batch b;
	Ghostwatch__V1__Event ev;
	Ghostwatch__V1__Event *evp;
	Ghostwatch__V1__AgentIntegrity in;
};

static void batch(struct run *r, const char *boot, uint64_t start, uint64_t window_end)
{
	memset(r, 0, sizeof(*r));
	ghostwatch__v1__host_identity__init(&r->id);
	ghostwatch__v1__batch__init(&r->b);
	r->id.host_id = "host-a";
	r->id.boot_id = (char *)boot;
	r->id.agent_version = "1.0";
	r->id.agent_start_ns = start;
	r->b.host = &r->id;
	r->b.seq = 1;
	r->b.window_start_ns = window_end - S;
	r->b.window_end_ns = window_end;
}

static void with_integrity(struct run *r, const char *config, const char *rules, uint32_t enabled)
{
	ghostwatch__v1__event__init(&r->ev);
	ghostwatch__v1__agent_integrity__init(&r->in);
	r->in.binary_sha256 = "b1";
	r->in.config_sha256 = (char *)config;
	r->in.rules_sha256 = (char *)rules;
	r->in.rules_total = 167;
	r->in.rules_enabled = enabled;
	r->ev.kind_case = GHOSTWATCH__V1__EVENT__KIND_INTEGRITY;
	r->ev.integrity = &r->in;
	r->evp = &r->ev;
	r->b.events = &r->evp;
	r->b.n_events = 1;
}

/* Feeds r; returns what was written (the caller frees it). */
static char *feed(struct fleet_view *v, const struct tamper_opts *o, struct run *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	tamper_on_batch(o, out, v, &r->b, T0);
	fclose(out);
	return text;
}

static int count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

TEST(same_boot_after_a_long_gap_is_silenced_a_new_boot_is_not)
{
	struct fleet_view v;
	struct tamper_opts o;
	struct run r;
	char *t;

	fleet_view_init(&v);
	tamper_opts_default(&o);
	batch(&r, "boot-a", T0, T0 + 10 * S);
	free(feed(&v, &o, &r));
	batch(&r, "boot-a", T0, T0 + 20 * S);
	free(feed(&v, &o, &r));
	/* restarted 100 s after its last window: under the 120 s threshold */
	batch(&r, "boot-a", T0 + 120 * S, T0 + 121 * S);
	t = feed(&v, &o, &r);
	CHECK(!strstr(t, "GW-FLEET-SILENCED"));
	free(t);
	/* a new boot 1000 s later: an ordinary shutdown */
	batch(&r, "boot-b", T0 + 1121 * S, T0 + 1122 * S);
	t = feed(&v, &o, &r);
	CHECK(!strstr(t, "GW-FLEET-SILENCED"));
	free(t);
	/* the same boot 300 s after its last window */
	batch(&r, "boot-b", T0 + 1422 * S, T0 + 1423 * S);
	t = feed(&v, &o, &r);
	CHECK(count(t, "GW-FLEET-SILENCED") == 1);
	CHECK(strstr(t, "gap_s=300") != NULL);
	free(t);
	/* a late batch of an older run changes nothing */
	batch(&r, "boot-a", T0, T0 + 30 * S);
	t = feed(&v, &o, &r);
	CHECK(!t[0]);
	free(t);
	CHECK(fleet_view_host(&v, "host-a")->tamper.agent_start_ns == T0 + 1422 * S);
	fleet_view_free(&v);
}

TEST(changed_rules_without_a_version_change_and_no_rules_are_findings)
{
	struct fleet_view v;
	struct tamper_opts o;
	struct run r;
	char *t;

	fleet_view_init(&v);
	tamper_opts_default(&o);
	batch(&r, "boot-a", T0, T0 + S);
	with_integrity(&r, "c1", "r1", 167);
	t = feed(&v, &o, &r);
	CHECK(!t[0]);
	free(t);
	batch(&r, "boot-a", T0 + 2 * S, T0 + 3 * S);
	with_integrity(&r, "c1", "r2", 167);
	t = feed(&v, &o, &r);
	CHECK(count(t, "GW-FLEET-CONFIG-CHANGED") == 1 && strstr(t, "rules r1 -> r2"));
	CHECK(!strstr(t, "config c1"));
	free(t);
	/* a new version may ship new rules */
	batch(&r, "boot-a", T0 + 4 * S, T0 + 5 * S);
	r.id.agent_version = "1.1";
	with_integrity(&r, "c1", "r3", 0);
	t = feed(&v, &o, &r);
	CHECK(!strstr(t, "GW-FLEET-CONFIG-CHANGED"));
	CHECK(count(t, "GW-FLEET-DETECTIONS-OFF") == 1 && strstr(t, "0 of 167 rules"));
	free(t);
	fleet_view_free(&v);
}

TEST(the_bucket_value_keeps_the_latest_run)
{
	struct fleet_view v, back;
	struct tamper_opts o;
	struct run r;
	uint8_t *buf = NULL;
	size_t len = 0;
	const struct fleet_tamper *t;
	struct fleet_host *h;

	fleet_view_init(&v);
	fleet_view_init(&back);
	tamper_opts_default(&o);
	batch(&r, "boot-a", T0, T0 + 7 * S);
	r.id.employee_id = "emp-42";
	with_integrity(&r, "c1", "r1", 167);
	free(feed(&v, &o, &r));
	fleet_view_record(&v, &r.b, 0, T0);
	h = fleet_view_host(&v, "host-a");
	REQUIRE(h);
	REQUIRE(fleet_state_pack_host(h, &buf, &len) == 0);
	REQUIRE(fleet_state_merge_host(&back, buf, len) != NULL);
	t = &fleet_view_host(&back, "host-a")->tamper;
	CHECK_STR(t->boot_id, "boot-a");
	CHECK(t->agent_start_ns == T0 && t->window_end_ns == T0 + 7 * S);
	CHECK_STR(t->rules_sha256, "r1");
	CHECK_STR(fleet_view_host(&back, "host-a")->employee_id, "emp-42");
	free(buf);
	fleet_view_free(&v);
	fleet_view_free(&back);
}

/* A write that lost to another collector starts over from that collector's value: the batch's
 * run and digests are folded in again, once, and an older run's batch changes nothing. */
TEST(a_batch_folded_again_onto_another_collectors_value_keeps_its_run)
{
	struct fleet_view v, other;
	struct tamper_opts o;
	struct run r;
	struct fleet_host *h;
	char *t;

	fleet_view_init(&v);
	fleet_view_init(&other);
	tamper_opts_default(&o);
	batch(&r, "boot-a", T0, T0 + 5 * S);
	free(feed(&v, &o, &r));
	free(feed(&other, &o, &r));
	/* ours: the next run, with its digests; the other collector saw only the first run */
	batch(&r, "boot-a", T0 + 10 * S, T0 + 11 * S);
	with_integrity(&r, "c1", "r2", 167);
	free(feed(&v, &o, &r));
	h = fleet_view_host(&other, "host-a");
	REQUIRE(h);
	tamper_note_batch(&h->tamper, &r.b);
	tamper_note_batch(&h->tamper, &r.b);
	CHECK(h->tamper.agent_start_ns == T0 + 10 * S && h->tamper.window_end_ns == T0 + 11 * S);
	CHECK_STR(h->tamper.rules_sha256, "r2");
	/* a late batch of the first run, folded onto the newer value */
	batch(&r, "boot-a", T0, T0 + 6 * S);
	with_integrity(&r, "c1", "r1", 167);
	tamper_note_batch(&h->tamper, &r.b);
	CHECK(h->tamper.agent_start_ns == T0 + 10 * S && h->tamper.window_end_ns == T0 + 11 * S);
	CHECK_STR(h->tamper.rules_sha256, "r2");
	/* the next window of the second run, checked against the folded value: no gap */
	batch(&r, "boot-a", T0 + 10 * S, T0 + 12 * S);
	t = feed(&other, &o, &r);
	CHECK(!t[0]);
	free(t);
	fleet_view_free(&v);
	fleet_view_free(&other);
}

TEST(an_employee_whose_hosts_are_all_quiet_for_days_is_silent)
{
	struct roster_opts o = { .silent_days = 7 };
	struct fleet_view v;
	const char *ids[] = { "lap-1", "lap-2", "lap-3" };
	const char *emp[] = { "emp-a", "emp-a", "emp-b" };
	uint64_t seen_days_ago[] = { 9, 8, 1 };
	uint64_t now = T0 + 30ull * 86400 * S;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	REQUIRE(out);
	fleet_view_init(&v);
	for (int i = 0; i < 3; i++) {
		struct fleet_host *h = fleet_view_host(&v, ids[i]);

		fleet_set_str(&h->employee_id, emp[i]);
		h->last_seen_ns = now - seen_days_ago[i] * 86400 * S;
		h->batches = 1;
	}
	roster_report_json(&v, out, now, &o);
	fclose(out);
	CHECK(strstr(text, "{\"employee_id\":\"emp-a\",\"last_seen_ns\":") != NULL);
	CHECK(strstr(text, "\"silent\":true,\"hosts\":[\"lap-1\",\"lap-2\"]") != NULL);
	CHECK(strstr(text, "\"silent\":false,\"hosts\":[\"lap-3\"]") != NULL);
	CHECK(strstr(text, "\"never_reported\":[]") != NULL);
	free(text);
	fleet_view_free(&v);
}

int main(void)
{
	RUN(same_boot_after_a_long_gap_is_silenced_a_new_boot_is_not);
	RUN(changed_rules_without_a_version_change_and_no_rules_are_findings);
	RUN(the_bucket_value_keeps_the_latest_run);
	RUN(a_batch_folded_again_onto_another_collectors_value_keeps_its_run);
	RUN(an_employee_whose_hosts_are_all_quiet_for_days_is_silent);
	return test_summary();
}
