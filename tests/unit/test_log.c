#include "testing.h"

#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"

/* Runs fn with stderr sent to a file and returns what it wrote (caller frees). */
static char *capture_stderr(void (*fn)(struct gw_log *), struct gw_log *log)
{
	char path[] = "/tmp/gw-test-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	char *buf = calloc(1, 4096);
	FILE *f;

	fflush(stderr);
	dup2(fd, 2);
	fn(log);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	f = fopen(path, "r");
	if (f && buf) {
		size_t n = fread(buf, 1, 4095, f);

		buf[n] = 0;
	}
	if (f)
		fclose(f);
	close(fd);
	unlink(path);
	return buf;
}

static void say_things(struct gw_log *log)
{
	gw_warn(log, "spool %s full", "/var/x");
	gw_debug(log, "not shown at info");
	gw_info(log, "host a\nb\x1b[31m");
}

TEST(level_names_round_trip)
{
	enum gw_log_level l;

	CHECK(gw_log_level_parse("warn", &l) && l == GW_LOG_WARN);
	CHECK(gw_log_level_parse("DEBUG", &l) && l == GW_LOG_DEBUG);
	CHECK(!gw_log_level_parse("verbose", &l));
	CHECK_STR(gw_log_level_name(GW_LOG_ERROR), "error");
	CHECK_STR(gw_log_level_name((enum gw_log_level)9), "?");
}

TEST(agent_lines_are_tagged_and_one_line_each)
{
	struct gw_log log;
	char *out;

	unsetenv("JOURNAL_STREAM");
	gw_log_init(&log, GW_LOG_INFO);
	out = capture_stderr(say_things, &log);
	CHECK_STR(out, "ghostwatch: warn: spool /var/x full\nghostwatch: info: host a?b?[31m\n");
	free(out);
}

TEST(journald_lines_carry_the_priority)
{
	struct gw_log log;
	char *out;

	setenv("JOURNAL_STREAM", "8:1234", 1);
	gw_log_init_style(&log, GW_LOG_INFO, GW_LOG_STAMPED);
	out = capture_stderr(say_things, &log);
	CHECK_STR(out, "<4>spool /var/x full\n<6>host a?b?[31m\n");
	free(out);
	unsetenv("JOURNAL_STREAM");
}

TEST(collector_lines_are_time_stamped)
{
	struct gw_log log;
	char *out;

	unsetenv("JOURNAL_STREAM");
	gw_log_init_style(&log, GW_LOG_WARN, GW_LOG_STAMPED);
	out = capture_stderr(say_things, &log);
	/* 2026-01-02T03:04:05.678Z warn  spool /var/x full */
	REQUIRE(strlen(out) > 25);
	CHECK(out[4] == '-' && out[10] == 'T' && out[19] == '.' && out[23] == 'Z');
	CHECK_STR(out + 24, " warn  spool /var/x full\n");
	free(out);
}

TEST(level_changes_apply_at_once)
{
	struct gw_log log;
	char *out;

	unsetenv("JOURNAL_STREAM");
	gw_log_init(&log, GW_LOG_ERROR);
	gw_log_set_level(&log, GW_LOG_DEBUG);
	out = capture_stderr(say_things, &log);
	CHECK(strstr(out, "debug: not shown at info") != NULL);
	free(out);
}

int main(void)
{
	RUN(level_names_round_trip);
	RUN(agent_lines_are_tagged_and_one_line_each);
	RUN(journald_lines_carry_the_priority);
	RUN(collector_lines_are_time_stamped);
	RUN(level_changes_apply_at_once);
	return test_summary();
}
