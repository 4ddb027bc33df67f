/* Unit tests for findings.c: dedup per rule + subject per window, combinations, the fraud score. */
#include "detect/findings.h"
#include "testing.h"

#include <stdlib.h>
#include <string.h>

#define SEC 1000000000ull
#define T0 (1700000000ull * SEC)

struct capture {
	struct gw_finding f[64];
	size_t n;
	uint32_t scores[64];
	size_t n_scores;
};

static void on_finding(const struct gw_finding *f, void *ctx)
{
	struct capture *c = ctx;

	if (c->n < 64)
		c->f[c->n++] = *f;
}

static void on_score(const struct gw_score *s, void *ctx)
{
	struct capture *c = ctx;

	if (c->n_scores < 64)
		c->scores[c->n_scores++] = s->score;
}

static struct gw_rule mk(const char *id, const char *vendor, enum gw_rule_category cat,
			 enum gw_severity sev, enum gw_confidence conf)
{
	return (struct gw_rule){ .id = (char *)id, .title = (char *)id, .vendor = (char *)vendor,
				 .technique = (char *)"T1219", .enabled = true, .category = cat,
				 .severity = sev, .confidence = conf };
}

static void obs(struct gw_findings *fs, const struct gw_rule *r, const char *subject,
		uint64_t event_id, uint64_t t, const struct gw_findings_sink *sink)
{
	struct gw_observation o = { .rule = r, .why = "exe name", .value = r->vendor,
				    .subject = subject, .process_id = 42, .kind = GW_EVIDENCE_EXEC,
				    .event_id = event_id, .time_ns = t };

	gw_findings_observe(fs, &o, sink);
}

static const struct gw_finding *find(const struct capture *c, const char *id)
{
	for (size_t i = c->n; i-- > 0;)
		if (!strcmp(c->f[i].rule_id, id))
			return &c->f[i];
	return NULL;
}

static size_t count(const struct capture *c, const char *id)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n; i++)
		n += !strcmp(c->f[i].rule_id, id);
	return n;
}

static uint32_t score_now(struct gw_findings *fs, uint64_t t)
{
	struct gw_score s;

	gw_findings_score(fs, t, &s);
	return s.score;
}

TEST(running_tool_is_one_finding_per_window)
{
	struct capture c = { 0 };
	struct gw_findings_sink sink = { on_finding, on_score, &c };
	struct gw_findings *fs = gw_findings_new(NULL);
	struct gw_rule r = mk("GW-RMM-0102", "AnyDesk", GW_CAT_RMM, GW_SEV_MEDIUM, GW_CONF_HIGH);
	struct gw_findings_stats st;

	for (int i = 0; i < 100; i++)
		obs(fs, &r, "/usr/bin/anydesk", 1000 + (uint64_t)i, T0 + (uint64_t)i * SEC, &sink);
	REQUIRE(c.n == 1);
	CHECK(c.f[0].state == GW_FINDING_NEW);
	CHECK(c.f[0].count == 1);
	CHECK(c.f[0].evidence[0].event_id == 1000);
	CHECK(c.f[0].process_id == 42);
	CHECK_STR(c.f[0].matched, "exe name AnyDesk");
	CHECK(gw_findings_open(fs) == 1);
	/* window not over: nothing new */
	gw_findings_tick(fs, T0 + 300 * SEC, &sink);
	CHECK(c.n == 1);
	/* window over: one update with the totals */
	gw_findings_tick(fs, T0 + 601 * SEC, &sink);
	REQUIRE(c.n == 2);
	CHECK(c.f[1].state == GW_FINDING_UPDATE);
	CHECK(c.f[1].count == 100);
	CHECK(c.f[1].first_seen_ns == T0);
	CHECK(c.f[1].last_seen_ns == T0 + 99 * SEC);
	CHECK(c.f[1].n_evidence == GW_FINDING_EVIDENCE_MAX);
	CHECK(c.f[1].evidence_dropped == 100 - GW_FINDING_EVIDENCE_MAX);
	CHECK(gw_findings_open(fs) == 0);
	/* a window with no further matches closes silently */
	obs(fs, &r, "/usr/bin/anydesk", 5000, T0 + 700 * SEC, &sink);
	CHECK(c.n == 3 && c.f[2].state == GW_FINDING_NEW);
	gw_findings_tick(fs, T0 + 1400 * SEC, &sink);
	CHECK(c.n == 3);
	gw_findings_get_stats(fs, &st);
	CHECK(st.observed == 101 && st.deduplicated == 99 && st.emitted == 3);
	gw_findings_free(fs);
}

TEST(subjects_are_separate_findings)
{
	struct capture c = { 0 };
	struct gw_findings_sink sink = { on_finding, NULL, &c };
	struct gw_findings *fs = gw_findings_new(NULL);
	struct gw_rule r = mk("GW-RMM-0301", "TeamViewer", GW_CAT_RMM, GW_SEV_MEDIUM, GW_CONF_HIGH);

	obs(fs, &r, "/opt/a/TeamViewer", 1, T0, &sink);
	obs(fs, &r, "/opt/b/TeamViewer", 2, T0 + SEC, &sink);
	obs(fs, &r, "/opt/a/TeamViewer", 3, T0 + 2 * SEC, &sink);
	CHECK(count(&c, "GW-RMM-0301") == 2);
	gw_findings_free(fs);
}

TEST(several_rmm_vendors_combine_and_raise_score)
{
	struct capture c = { 0 };
	struct gw_findings_sink sink = { on_finding, on_score, &c };
	struct gw_findings *fs = gw_findings_new(NULL);
	struct gw_rule any = mk("GW-RMM-0101", "AnyDesk", GW_CAT_RMM, GW_SEV_MEDIUM, GW_CONF_HIGH);
	struct gw_rule rust = mk("GW-RMM-0201", "RustDesk", GW_CAT_RMM, GW_SEV_MEDIUM, GW_CONF_HIGH);
	struct gw_rule tv = mk("GW-RMM-0301", "TeamViewer", GW_CAT_RMM, GW_SEV_MEDIUM, GW_CONF_HIGH);
	const struct gw_finding *combo;
	uint32_t one, two, three;

	obs(fs, &any, "/usr/bin/anydesk", 10, T0, &sink);
	one = score_now(fs, T0);
	CHECK(find(&c, "GW-COMBO-0001") == NULL);
	obs(fs, &rust, "/usr/bin/rustdesk", 20, T0 + 60 * SEC, &sink);
	two = score_now(fs, T0 + 60 * SEC);
	combo = find(&c, "GW-COMBO-0001");
	REQUIRE(combo);
	CHECK_STR(combo->subject, "AnyDesk+RustDesk");
	CHECK(combo->category == GW_CAT_COMBO && combo->severity == GW_SEV_HIGH);
	CHECK(combo->n_related == 2);
	CHECK_STR(combo->related[0], "GW-RMM-0101");
	CHECK_STR(combo->related[1], "GW-RMM-0201");
	CHECK(combo->n_evidence == 2 && combo->evidence[0].event_id == 10 &&
	      combo->evidence[1].event_id == 20);
	obs(fs, &tv, "/opt/teamviewer/TeamViewer", 30, T0 + 120 * SEC, &sink);
	three = score_now(fs, T0 + 120 * SEC);
	CHECK_STR(find(&c, "GW-COMBO-0001")->subject, "AnyDesk+RustDesk+TeamViewer");
	CHECK(count(&c, "GW-COMBO-0001") == 2);
	printf("# score: 1 vendor %u, 2 vendors %u, 3 vendors %u\n", one, two, three);
	CHECK(one > 0 && two > one && three > two);
	CHECK(find(&c, "GW-RMM-0301")->host_score == three);
	CHECK(c.n_scores == 3 && c.scores[2] == three);
	gw_findings_free(fs);
}

TEST(rmm_vendors_far_apart_do_not_combine)
{
	struct capture c = { 0 };
	struct gw_findings_sink sink = { on_finding, NULL, &c };
	struct gw_findings *fs = gw_findings_new(NULL);
	struct gw_rule any = mk("GW-RMM-0101", "AnyDesk", GW_CAT_RMM, GW_SEV_MEDIUM, GW_CONF_HIGH);
	struct gw_rule rust = mk("GW-RMM-0201", "RustDesk", GW_CAT_RMM, GW_SEV_MEDIUM, GW_CONF_HIGH);

	obs(fs, &any, "/usr/bin/anydesk", 1, T0, &sink);
	obs(fs, &rust, "/usr/bin/rustdesk", 2, T0 + 9 * 60 * SEC, &sink);
	CHECK(find(&c, "GW-COMBO-0001") == NULL);
	gw_findings_free(fs);
}

TEST(ipkvm_plus_rmm_weighs_far_more_than_either)
{
	struct capture c = { 0 };
	struct gw_findings_sink sink = { on_finding, NULL, &c };
	struct gw_findings *fs = gw_findings_new(NULL);
	struct gw_rule kvm = mk("GW-KVM-0001", "PiKVM", GW_CAT_IPKVM, GW_SEV_CRITICAL, GW_CONF_HIGH);
	struct gw_rule rmm = mk("GW-RMM-0101", "AnyDesk", GW_CAT_RMM, GW_SEV_MEDIUM, GW_CONF_HIGH);
	struct gw_rule vpn = mk("GW-VPN-0002", "Astrill", GW_CAT_VPN, GW_SEV_HIGH, GW_CONF_HIGH);
	struct gw_rule jig = mk("GW-JIG-0001", "xdotool", GW_CAT_JIGGLER, GW_SEV_MEDIUM, GW_CONF_MEDIUM);
	uint32_t s_kvm, s_two, s_four;

	obs(fs, &kvm, "usb 1-1 1d6b:0104", 1, T0, &sink);
	s_kvm = score_now(fs, T0);
	/* an hour later: still within the score window */
	obs(fs, &rmm, "/usr/bin/anydesk", 2, T0 + 3600 * SEC, &sink);
	s_two = score_now(fs, T0 + 3600 * SEC);
	REQUIRE(find(&c, "GW-COMBO-0002"));
	CHECK(find(&c, "GW-COMBO-0002")->severity == GW_SEV_CRITICAL);
	obs(fs, &vpn, "/usr/local/Astrill/astrill", 3, T0 + 3700 * SEC, &sink);
	CHECK(find(&c, "GW-COMBO-0003") != NULL);
	CHECK(find(&c, "GW-COMBO-0004") != NULL);
	CHECK_STR(find(&c, "GW-COMBO-0004")->subject, "ipkvm+rmm+vpn");
	obs(fs, &jig, "/usr/bin/xdotool", 4, T0 + 3800 * SEC, &sink);
	s_four = score_now(fs, T0 + 3800 * SEC);
	CHECK_STR(find(&c, "GW-COMBO-0004")->subject, "ipkvm+rmm+vpn+jiggler");
	printf("# score: ipkvm %u, ipkvm+rmm %u, all four %u\n", s_kvm, s_two, s_four);
	CHECK(s_kvm <= 35);
	CHECK(s_two >= 2 * s_kvm);
	CHECK(s_four == 100);
	/* the score ages out after the score window */
	gw_findings_tick(fs, T0 + 3800 * SEC + 86401 * SEC, &sink);
	CHECK(score_now(fs, T0 + 3800 * SEC + 86401 * SEC) == 0);
	gw_findings_free(fs);
}

TEST(any_single_signal_stays_low)
{
	static const struct {
		const char *id, *vendor;
		enum gw_rule_category cat;
	} one[] = { { "K", "PiKVM", GW_CAT_IPKVM },   { "R", "AnyDesk", GW_CAT_RMM },
		    { "V", "Astrill", GW_CAT_VPN },   { "T", "ngrok", GW_CAT_TUNNEL },
		    { "J", "xdotool", GW_CAT_JIGGLER } };

	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		struct gw_findings *fs = gw_findings_new(NULL);
		struct gw_rule r = mk(one[i].id, one[i].vendor, one[i].cat, GW_SEV_CRITICAL,
				      GW_CONF_HIGH);

		obs(fs, &r, "s", 1, T0, NULL);
		CHECK(score_now(fs, T0) > 0 && score_now(fs, T0) <= 35);
		gw_findings_free(fs);
	}
}

TEST(weak_hints_score_but_do_not_combine)
{
	struct capture c = { 0 };
	struct gw_findings_sink sink = { on_finding, NULL, &c };
	struct gw_findings *fs = gw_findings_new(NULL);
	struct gw_rule tun0 = mk("GW-VPN-0007", "tunnel", GW_CAT_VPN, GW_SEV_LOW, GW_CONF_LOW);
	struct gw_rule caf = mk("GW-JIG-0006", "caffeine", GW_CAT_JIGGLER, GW_SEV_INFO, GW_CONF_MEDIUM);
	struct gw_rule rmm = mk("GW-RMM-0101", "AnyDesk", GW_CAT_RMM, GW_SEV_MEDIUM, GW_CONF_HIGH);
	struct gw_score s;

	obs(fs, &caf, "/usr/bin/caffeine", 1, T0, &sink);
	CHECK(score_now(fs, T0) == 0);
	CHECK(find(&c, "GW-JIG-0006") != NULL); /* still reported, just weightless */
	obs(fs, &tun0, "tun0", 2, T0 + SEC, &sink);
	obs(fs, &rmm, "/usr/bin/anydesk", 3, T0 + 2 * SEC, &sink);
	CHECK(find(&c, "GW-COMBO-0003") == NULL);
	gw_findings_score(fs, T0 + 2 * SEC, &s);
	CHECK(s.points[GW_CAT_VPN] > 0 && s.points[GW_CAT_VPN] < 15);
	CHECK(s.pillars == 1 && s.points[GW_CAT_JIGGLER] == 0);
	gw_findings_free(fs);
}

TEST(table_is_bounded_with_evictions_counted)
{
	struct gw_findings_config cfg = { .max_findings = 4 };
	struct gw_findings *fs = gw_findings_new(&cfg);
	struct gw_rule r = mk("GW-RMM-0101", "AnyDesk", GW_CAT_RMM, GW_SEV_MEDIUM, GW_CONF_HIGH);
	struct gw_findings_stats st;
	char subject[32];

	for (int i = 0; i < 10; i++) {
		snprintf(subject, sizeof(subject), "/tmp/%d/anydesk", i);
		obs(fs, &r, subject, (uint64_t)i, T0 + (uint64_t)i, NULL);
	}
	gw_findings_get_stats(fs, &st);
	CHECK(gw_findings_open(fs) == 4);
	CHECK(st.evicted == 6);
	gw_findings_free(fs);
}

int main(void)
{
	RUN(running_tool_is_one_finding_per_window);
	RUN(subjects_are_separate_findings);
	RUN(several_rmm_vendors_combine_and_raise_score);
	RUN(rmm_vendors_far_apart_do_not_combine);
	RUN(ipkvm_plus_rmm_weighs_far_more_than_either);
	RUN(any_single_signal_stays_low);
	RUN(weak_hints_score_but_do_not_combine);
	RUN(table_is_bounded_with_evictions_counted);
	return test_summary();
}
