/* Unit tests for rules_load.c: shipped files, strict rejection with file:line, overrides, reload. */
#include "detect/rules_load.h"
#include "detect/rules_match.h"
#include "rules_testdir.h"
#include "testing.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char err[1024];

static struct gw_ruleset *load_one_as(const char *dir, bool optional, bool strict_owner)
{
	struct gw_rules_dir d[] = { { dir, optional, strict_owner } };
	struct gw_ruleset *rs = NULL;

	err[0] = 0;
	if (gw_rules_load(d, 1, &rs, err, sizeof(err)))
		return NULL;
	return rs;
}

static struct gw_ruleset *load_one(const char *dir, bool optional)
{
	return load_one_as(dir, optional, false);
}

static const struct gw_rule *find(const struct gw_ruleset *rs, const char *id)
{
	for (size_t i = 0; i < rs->n; i++)
		if (!strcmp(rs->rules[i].id, id))
			return &rs->rules[i];
	return NULL;
}

/* Loads `text` as the only file of a fresh directory; returns 0 on success, fills err. */
static int load_text(const char *text)
{
	char *dir = make_temp_dir();
	struct gw_ruleset *rs;

	write_file(dir, "t.yaml", text);
	rs = load_one(dir, false);
	remove_temp_dir(dir);
	gw_ruleset_free(rs);
	return rs ? 0 : -1;
}

static const char good_rule[] = "version: 1\n"
				"rules:\n"
				"  - id: T-0001\n"
				"    title: test\n"
				"    category: rmm\n"
				"    severity: medium\n"
				"    technique: T1219\n"
				"    confidence: high\n"
				"    sources: [unit test]\n"
				"    match:\n"
				"      exec:\n"
				"        names: [testtool]\n";

TEST(shipped_rules_all_load)
{
	const char *dir = shipped_rules_dir();
	struct gw_ruleset *rs = load_one(dir, false);
	static const char *const must[] = { "GW-RMM-0101", "GW-RMM-0204", "GW-RMM-0305",
					    "GW-VPN-0002", "GW-VPN-0006", "GW-KVM-0001",
					    "GW-KVM-0013", "GW-JIG-0001",
					    "GW-EXFIL-0006" };

	if (!rs)
		printf("# %s\n", err);
	REQUIRE(rs);
	CHECK(rs->n_files == 5);
	CHECK(rs->n >= 100);
	CHECK(gw_ruleset_enabled_count(rs) == rs->n);
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
		CHECK(find(rs, must[i]) != NULL);
	for (size_t i = 0; i < rs->n; i++) {
		const struct gw_rule *r = &rs->rules[i];

		CHECK(r->title && r->technique && r->sources.n > 0 && r->vendor);
		CHECK(r->line > 0 && r->file && strstr(r->file, ".yaml"));
	}
	printf("# %zu shipped rules in %zu files\n", rs->n, rs->n_files);
	gw_ruleset_free(rs);
}

TEST(good_minimal_rule_loads)
{
	CHECK(load_text(good_rule) == 0);
}

/* Each bad file must fail with "<dir>/t.yaml:<line>: <reason>". */
static void expect_bad(const char *text, int line, const char *reason)
{
	char want[64];

	CHECK(load_text(text) != 0);
	snprintf(want, sizeof(want), "t.yaml:%d: ", line);
	if (!strstr(err, want) || !strstr(err, reason)) {
		printf("#   got: %s\n#   want: %s...%s\n", err, want, reason);
		test_state.current_failed++;
	}
}

TEST(syntax_error_rejected_with_line)
{
	expect_bad("version: 1\nrules:\n  - id: X\n    title: [unclosed\n    category: rmm\n", 5,
		   "YAML syntax error");
	expect_bad("version: 1\nrules:\n  - id: \"X\n", 4, "YAML syntax error");
	expect_bad("version: 1\n\trules: []\n", 2, "YAML syntax error");
}

TEST(unknown_fields_rejected)
{
	char buf[2048];

	snprintf(buf, sizeof(buf), "%s    colour: red\n", good_rule);
	expect_bad(buf, 13, "unknown field 'colour'");
	snprintf(buf, sizeof(buf), "%s        namez: [x]\n", good_rule);
	expect_bad(buf, 13, "unknown field 'namez' in 'exec'");
	expect_bad("version: 1\nrulez: []\n", 2, "unknown field 'rulez'");
	expect_bad("version: 2\nrules: []\n", 1, "unsupported rules format version 2");
}

TEST(wrong_types_rejected)
{
	expect_bad("version: 1\nrules:\n  - id: X\n    title: t\n    category: rmm\n"
		   "    severity: [medium]\n    technique: T1219\n    confidence: low\n"
		   "    sources: [s]\n    match:\n      exec:\n        names: [a]\n",
		   6, "'severity' has an unknown value");

	expect_bad("version: 1\nrules: {a: b}\n", 2, "'rules' must be a list");
	expect_bad("version: 1\nrules:\n  - id: X\n    title: t\n    category: rmm\n"
		   "    severity: low\n    technique: T1219\n    confidence: low\n"
		   "    sources: [s]\n    match:\n      exec:\n        names: anydesk\n",
		   12, "'names' must be a list");
	expect_bad("version: 1\nrules:\n  - id: X\n    title: t\n    category: rmm\n"
		   "    severity: low\n    technique: T1219\n    confidence: low\n"
		   "    sources: [s]\n    enabled: yes\n    match:\n      exec:\n        names: [a]\n",
		   10, "'enabled' must be true or false");
	expect_bad("version: 1\nrules:\n  - id: X\n    title: t\n    category: rmm\n"
		   "    severity: low\n    technique: remote\n    confidence: low\n"
		   "    sources: [s]\n    match:\n      exec:\n        names: [a]\n",
		   3, "not an ATT&CK id");
}

TEST(bad_values_rejected)
{
	static const char head[] = "version: 1\nrules:\n  - id: X\n    title: t\n    category: rmm\n"
				   "    severity: low\n    technique: T1219\n    confidence: low\n"
				   "    sources: [s]\n    match:\n";
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s      flow:\n        cidrs: [10.0.0.0/33]\n", head);
	expect_bad(buf, 12, "prefix length");
	snprintf(buf, sizeof(buf), "%s      flow:\n        cidrs: [example.com]\n", head);
	expect_bad(buf, 12, "not an IPv4/IPv6 address");
	snprintf(buf, sizeof(buf), "%s      flow:\n        ports: [70000]\n", head);
	expect_bad(buf, 12, "1..65535");
	snprintf(buf, sizeof(buf), "%s      flow:\n        ports: [\"30-20\"]\n", head);
	expect_bad(buf, 12, "low to high");
	snprintf(buf, sizeof(buf), "%s      flow:\n        dns_suffixes: [\"*.anydesk.com\"]\n",
		 head);
	expect_bad(buf, 12, "whole labels");
	snprintf(buf, sizeof(buf), "%s      device:\n        usb_ids: [\"1d6b-0104\"]\n", head);
	expect_bad(buf, 12, "vvvv:pppp");
	snprintf(buf, sizeof(buf), "%s      flow:\n        ports: [1]\n        min_bytes_sent: 0\n",
		 head);
	expect_bad(buf, 13, "'min_bytes_sent' must be at least 1");
	snprintf(buf, sizeof(buf), "%s      flow:\n        ports: [1]\n        min_bytes_sent: -1\n",
		 head);
	expect_bad(buf, 13, "'min_bytes_sent' must be a non-negative number");
	snprintf(buf, sizeof(buf), "%s      exec:\n        names: [/usr/bin/x]\n", head);
	expect_bad(buf, 12, "is a path");
	snprintf(buf, sizeof(buf), "%s      exec: {}\n", head);
	expect_bad(buf, 11, "'exec' needs");
	snprintf(buf, sizeof(buf), "%s      exec:\n        names: [a]\n      flow:\n        ports: [1]\n",
		 head);
	expect_bad(buf, 11, "exactly one of");
	expect_bad("version: 1\nrules:\n  - id: X\n    title: t\n", 3, "needs title, category");
	expect_bad("", 1, "empty rules file");
	expect_bad("version: 1\nrules: []\n---\nversion: 1\n", 3, "more than one YAML document");
	expect_bad("version: 1\nrules:\n  - &a {id: X, title: t, category: rmm, severity: low, "
		   "technique: T1219, confidence: low, sources: [s], match: {exec: {names: [a]}}}\n"
		   "  - *a\n",
		   3, "aliases");
	expect_bad("version: 1\nversion: 1\nrules: []\n", 2, "duplicate key 'version'");
}

TEST(huge_pattern_and_list_rejected)
{
	size_t big = GW_RULES_MAX_PATTERN + 100, len;
	char *buf = malloc(big + 4096), *p;
	char *list = malloc((GW_RULES_MAX_LIST + 1) * 16 + 4096);

	REQUIRE(buf && list);
	len = (size_t)sprintf(buf, "version: 1\nrules:\n  - id: X\n    title: t\n    category: rmm\n"
				   "    severity: low\n    technique: T1219\n    confidence: low\n"
				   "    sources: [s]\n    match:\n      exec:\n        names: [");
	memset(buf + len, 'a', big);
	strcpy(buf + len + big, "]\n");
	expect_bad(buf, 12, "longer than the limit");

	p = list + sprintf(list, "version: 1\nrules:\n  - id: X\n    title: t\n    category: rmm\n"
				 "    severity: low\n    technique: T1219\n    confidence: low\n"
				 "    sources: [s]\n    match:\n      exec:\n        names:\n");
	for (int i = 0; i <= GW_RULES_MAX_LIST; i++)
		p += sprintf(p, "%s", "          - a\n");
	*p = 0;
	expect_bad(list, 13, "more than the limit");
	free(buf);
	free(list);
}

TEST(too_many_rules_rejected)
{
	size_t cap = (GW_RULES_MAX_RULES + 2) * 200 + 64;
	char *buf = malloc(cap), *p = buf;

	REQUIRE(buf);
	p += sprintf(p, "version: 1\nrules:\n");
	for (int i = 0; i <= GW_RULES_MAX_RULES; i++)
		p += sprintf(p,
			     "- {id: R%d, title: t, category: rmm, severity: low, technique: T1219, "
			     "confidence: low, sources: [s], match: {exec: {names: [n%d]}}}\n",
			     i, i);
	CHECK(load_text(buf) != 0);
	CHECK(strstr(err, "more than 20000 rules") != NULL);
	free(buf);
}

TEST(duplicate_id_in_one_directory_rejected)
{
	char *dir = make_temp_dir();

	write_file(dir, "a.yaml", good_rule);
	write_file(dir, "b.yaml", good_rule);
	CHECK(load_one(dir, false) == NULL);
	CHECK(strstr(err, "b.yaml:3: duplicate rule id T-0001 (first defined at") != NULL);
	remove_temp_dir(dir);
}

TEST(user_dir_overrides_and_disables_by_id)
{
	char *user = make_temp_dir();
	struct gw_rules_dir dirs[] = { { shipped_rules_dir(), false, false }, { user, true, true } };
	struct gw_ruleset *rs = NULL;
	const struct gw_rule *r;
	size_t shipped_n;

	write_file(user, "local.yaml",
		   "version: 1\nrules:\n"
		   "  - id: GW-RMM-0101\n    title: AnyDesk (site policy)\n    category: rmm\n"
		   "    severity: critical\n    technique: T1219\n    confidence: high\n"
		   "    sources: [site policy]\n    match:\n      exec:\n        names: [anydesk]\n"
		   "  - id: GW-VPN-0007\n    enabled: false\n"
		   "  - id: SITE-0001\n    title: in-house remote tool\n    category: rmm\n"
		   "    severity: high\n    technique: T1219\n    confidence: high\n"
		   "    sources: [site policy]\n    match:\n      exec:\n        names: [remotr]\n");
	REQUIRE(gw_rules_load(dirs, 1, &rs, err, sizeof(err)) == 0);
	shipped_n = rs->n;
	gw_ruleset_free(rs);
	rs = NULL;
	if (gw_rules_load(dirs, 2, &rs, err, sizeof(err)))
		printf("# %s\n", err);
	REQUIRE(rs);
	CHECK(rs->n == shipped_n + 1);
	r = find(rs, "GW-RMM-0101");
	REQUIRE(r);
	CHECK_STR(r->title, "AnyDesk (site policy)");
	CHECK(r->severity == GW_SEV_CRITICAL);
	CHECK(strstr(r->file, "local.yaml") != NULL);
	r = find(rs, "GW-VPN-0007");
	REQUIRE(r);
	CHECK(!r->enabled);
	CHECK(gw_ruleset_enabled_count(rs) == rs->n - 1);
	CHECK(find(rs, "SITE-0001") != NULL);
	gw_ruleset_free(rs);

	/* A missing optional directory is fine, a missing required one is not. */
	dirs[1].path = "/nonexistent/rules.d";
	CHECK(gw_rules_load(dirs, 2, &rs, err, sizeof(err)) == 0);
	gw_ruleset_free(rs);
	dirs[1].optional = false;
	CHECK(gw_rules_load(dirs, 2, &rs, err, sizeof(err)) != 0);
	CHECK(strstr(err, "/nonexistent/rules.d:1: cannot read rules directory") != NULL);
	remove_temp_dir(user);
}

TEST(writable_by_others_rejected)
{
	char *dir = make_temp_dir();
	char path[4096];

	write_file(dir, "a.yaml", good_rule);
	snprintf(path, sizeof(path), "%s/a.yaml", dir);
	REQUIRE(chmod(path, 0666) == 0);
	CHECK(load_one_as(dir, false, true) == NULL);
	CHECK(strstr(err, "a.yaml:1: writable by group or others (mode 0666)") != NULL);
	REQUIRE(chmod(path, 0644) == 0);
	REQUIRE(chmod(dir, 0777) == 0);
	CHECK(load_one_as(dir, false, true) == NULL);
	CHECK(strstr(err, ":1: writable by group or others (mode 0777)") != NULL);
	REQUIRE(chmod(dir, 0755) == 0);
	gw_ruleset_free(load_one_as(dir, false, true));
	CHECK(err[0] == 0);
	remove_temp_dir(dir);
}

/* A failed reload leaves the caller's ruleset (and matcher) untouched: all-or-nothing. */
TEST(failed_reload_keeps_old_rules)
{
	char *user = make_temp_dir();
	struct gw_rules_dir dirs[] = { { shipped_rules_dir(), false, false }, { user, true, true } };
	struct gw_ruleset *rs = NULL, *next;
	struct gw_matcher *live;
	struct gw_match mt[GW_MATCH_MAX];
	const char *argv[] = { "anydesk" };
	struct gw_exec_input in = { .exe = "/usr/bin/anydesk", .argv = argv, .argc = 1 };

	REQUIRE(gw_rules_load(dirs, 2, &rs, err, sizeof(err)) == 0);
	live = gw_matcher_build(rs);
	REQUIRE(live);
	/* a good file next to a broken one: nothing of the directory may be taken */
	write_file(user, "a-good.yaml", good_rule);
	write_file(user, "b-bad.yaml", "version: 1\nrules:\n  - id: B\n    bogus: 1\n");
	next = (struct gw_ruleset *)0x1;
	CHECK(gw_rules_load(dirs, 2, &next, err, sizeof(err)) != 0);
	CHECK(next == (struct gw_ruleset *)0x1);
	CHECK(strstr(err, "b-bad.yaml:4: unknown field 'bogus'") != NULL);
	CHECK(gw_match_exec(live, &in, mt, GW_MATCH_MAX) == 1);
	CHECK_STR(mt[0].rule->id, "GW-RMM-0101");
	gw_matcher_free(live);
	remove_temp_dir(user);
}

/* Every prefix of a shipped file either loads or fails with a located message; never crashes. */
TEST(truncated_shipped_file_never_crashes)
{
	char path[4096], *data;
	FILE *f;
	long len;
	int ok = 0, bad = 0;

	snprintf(path, sizeof(path), "%s/vpn.yaml", shipped_rules_dir());
	f = fopen(path, "r");
	REQUIRE(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	data = malloc((size_t)len + 1);
	REQUIRE(data);
	REQUIRE(fread(data, 1, (size_t)len, f) == (size_t)len);
	fclose(f);
	for (long cut = 0; cut <= len; cut += 7) {
		struct gw_ruleset *rs = gw_ruleset_new();

		err[0] = 0;
		if (gw_rules_parse_buffer(rs, "cut.yaml", data, (size_t)cut, false, err,
					  sizeof(err)) == 0)
			ok++;
		else {
			bad++;
			CHECK(!strncmp(err, "cut.yaml:", 9));
		}
		gw_ruleset_free(rs);
	}
	printf("# %d prefixes loaded, %d rejected\n", ok, bad);
	CHECK(bad > 0);
	free(data);
}

int main(void)
{
	RUN(shipped_rules_all_load);
	RUN(good_minimal_rule_loads);
	RUN(syntax_error_rejected_with_line);
	RUN(unknown_fields_rejected);
	RUN(wrong_types_rejected);
	RUN(bad_values_rejected);
	RUN(huge_pattern_and_list_rejected);
	RUN(too_many_rules_rejected);
	RUN(duplicate_id_in_one_directory_rejected);
	RUN(user_dir_overrides_and_disables_by_id);
	RUN(writable_by_others_rejected);
	RUN(failed_reload_keeps_old_rules);
	RUN(truncated_shipped_file_never_crashes);
	return test_summary();
}
