/*
 * test_exe_hash.c - the executable identity (process/exe_hash.c): the digest against a known
 * vector, the cache per file version, the user-writable walk, a big file through the worker; and
 * the `sha256:` exec rule field (parse, strictness, match).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "detect/rules_load.h"
#include "detect/rules_match.h"
#include "process/exe_hash.h"
#include "rules_testdir.h"
#include "testing.h"

#define ABC_SHA256 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static char *dir;

static void put(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);

	if (fd >= 0) {
		if (write(fd, data, len) != (ssize_t)len)
			printf("#   short write %s\n", path);
		close(fd);
	}
}

TEST(digest_and_cache_per_version)
{
	struct exe_hash *h = exe_hash_new(4);
	struct exe_hash_result r;
	char path[256];

	REQUIRE(h);
	snprintf(path, sizeof(path), "%s/abc", dir);
	put(path, "abc", 3);
	exe_hash_lookup(h, path, 100, &r);
	CHECK_STR(r.state, "hashed");
	CHECK_STR(r.sha256, ABC_SHA256);
	exe_hash_lookup(h, path, 101, &r);
	CHECK_STR(r.sha256, ABC_SHA256);
	CHECK(exe_hash_counts(h)->cache_hits == 1 && exe_hash_counts(h)->hashed_sync == 1);
	/* a new version (other size): hashed again */
	put(path, "abcd", 4);
	exe_hash_lookup(h, path, 102, &r);
	CHECK(strcmp(r.sha256, ABC_SHA256) && exe_hash_counts(h)->hashed_sync == 2);
	/* gone, or no regular file */
	exe_hash_lookup(h, "/nonexistent/gw-exe", 103, &r);
	CHECK_STR(r.state, "unreadable");
	CHECK(!r.sha256[0]);
	exe_hash_lookup(h, "/dev/null", 103, &r);
	CHECK_STR(r.state, "not_regular");
	exe_hash_lookup(h, "relative/path", 103, &r);
	CHECK_STR(r.state, "unreadable");
	exe_hash_free(h);
}

TEST(user_writable_directories)
{
	char sub[256], path[300];

	/* a root-owned tree whose every directory only root may write */
	CHECK(!exe_hash_user_writable("/usr/bin/true"));
	CHECK(!exe_hash_user_writable("/"));
	/* /tmp is anyone's */
	snprintf(path, sizeof(path), "%s/abc", dir);
	CHECK(exe_hash_user_writable(path));
	/* a directory a non-root user owns and may write */
	snprintf(sub, sizeof(sub), "%s/home", dir);
	mkdir(sub, 0755);
	CHECK(chown(sub, 1000, 1000) == 0);
	snprintf(path, sizeof(path), "%s/tool", sub);
	CHECK(exe_hash_user_writable(path));
	/* group-writable by a non-root group */
	CHECK(chown(sub, 0, 1000) == 0 && chmod(sub, 0775) == 0);
	CHECK(exe_hash_user_writable(path));
}

static int late;
static char late_sha[EXE_HASH_HEX_LEN + 1];

static void on_done(const struct exe_hash_key *key, const char *sha256, void *ctx)
{
	(void)key;
	(void)ctx;
	late++;
	memcpy(late_sha, sha256, sizeof(late_sha));
}

TEST(big_file_through_the_worker)
{
	struct exe_hash *h = exe_hash_new(4);
	struct exe_hash_result r;
	char path[256], want[EXE_HASH_HEX_LEN + 1];
	size_t len = EXE_HASH_SYNC_MAX + 1;
	char *data = calloc(1, len);
	int fd;

	REQUIRE(h && data && exe_hash_start(h) == 0);
	snprintf(path, sizeof(path), "%s/big", dir);
	put(path, data, len);
	fd = open(path, O_RDONLY);
	REQUIRE(fd >= 0 && exe_hash_fd(fd, want) == 0);
	close(fd);
	exe_hash_lookup(h, path, 100, &r);
	CHECK_STR(r.state, "pending");
	CHECK(!r.sha256[0]);
	for (int i = 0; i < 500 && !exe_hash_has_done(h); i++)
		usleep(10000);
	CHECK(exe_hash_drain(h, on_done, NULL) == 1);
	CHECK(late == 1);
	CHECK_STR(late_sha, want);
	exe_hash_lookup(h, path, 101, &r);
	CHECK_STR(r.state, "hashed");
	CHECK_STR(r.sha256, want);
	CHECK(exe_hash_counts(h)->hashed_async == 1);
	exe_hash_free(h);
	free(data);
}

#define RULE                                                                                       \
	"version: 1\nrules:\n  - id: T-HASH-1\n    title: t\n    category: rmm\n"                \
	"    vendor: t\n    severity: high\n    technique: T1219\n"                            \
	"    confidence: high\n    sources: [t]\n    match:\n      exec:\n"                    \
	"        sha256: [%s]\n"

static struct gw_ruleset *load_rule(const char *hashes, char *err, size_t errlen)
{
	char text[1024], *rdir = make_temp_dir();
	struct gw_rules_dir d[] = { { rdir, false, false } };
	struct gw_ruleset *rs = NULL;

	snprintf(text, sizeof(text), RULE, hashes);
	write_file(rdir, "t.yaml", text);
	err[0] = 0;
	if (gw_rules_load(d, 1, &rs, err, errlen))
		rs = NULL;
	remove_temp_dir(rdir);
	return rs;
}

TEST(sha256_rules)
{
	char err[1024];
	struct gw_ruleset *rs = load_rule("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
					  err, sizeof(err));
	struct gw_match mt[GW_MATCH_MAX];
	struct gw_matcher *m;
	struct gw_exec_input in = { .exe = "/tmp/renamed", .comm = "renamed",
				    .sha256 = ABC_SHA256 };

	REQUIRE(rs);
	m = gw_matcher_build(rs);
	REQUIRE(m);
	REQUIRE(gw_match_exec(m, &in, mt, GW_MATCH_MAX) == 1);
	CHECK_STR(mt[0].rule->id, "T-HASH-1");
	CHECK_STR(mt[0].why, "exe sha256");
	in.sha256 = NULL;
	CHECK(gw_match_exec(m, &in, mt, GW_MATCH_MAX) == 0);
	in.sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
	CHECK(gw_match_exec(m, &in, mt, GW_MATCH_MAX) == 0);
	gw_matcher_free(m);
	CHECK(!load_rule("abc", err, sizeof(err)));
	CHECK(strstr(err, "t.yaml:13:") && strstr(err, "'sha256': 'abc' is not 64 hex digits"));
	CHECK(!load_rule("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015zz", err,
			 sizeof(err)));
}

int main(void)
{
	int rc;

	dir = make_temp_dir();
	if (!dir)
		return 1;
	RUN(digest_and_cache_per_version);
	RUN(user_writable_directories);
	RUN(big_file_through_the_worker);
	RUN(sha256_rules);
	rc = test_summary();
	remove_temp_dir(dir);
	return rc;
}
