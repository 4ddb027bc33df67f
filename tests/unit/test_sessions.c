/* Unit tests of the sessions domain's pure parts: working time, TZif offsets, the activity
 * profile (replayed minute by minute with the test's clock), its state file, and how sessions
 * from logind and utmp are typed. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <utmp.h>

#include "core/work_hours.h"
#include "sessions/activity_profile.h"
#include "sessions/session_info.h"
#include "sessions/session_logind.h"
#include "sessions/session_utmp.h"
#include "sessions/tz_file.h"
#include "testing.h"

#define ZONEINFO "/usr/share/zoneinfo"
/* Monday 2026-11-02 00:00 UTC, after the US went back to standard time */
#define MONDAY_2026_11_02 1793577600LL

TEST(work_hours_parses_and_refuses)
{
	struct work_hours w;
	char err[256], buf[16];

	REQUIRE(!work_hours_parse("09:00-18:00", "mon-fri", &w, err, sizeof(err)));
	CHECK(w.start_min == 540 && w.end_min == 1080 && w.days == 0x1f);
	work_hours_format(&w, buf, sizeof(buf));
	CHECK_STR(buf, "09:00-18:00");
	REQUIRE(!work_hours_parse("22:00-06:00", "fri-mon,wed", &w, err, sizeof(err)));
	CHECK(w.days == (1 | 4 | 16 | 32 | 64));
	CHECK(work_hours_parse("9:00-18:00", "mon-fri", &w, err, sizeof(err)) == -1);
	CHECK(strstr(err, "HH:MM-HH:MM") != NULL);
	CHECK(work_hours_parse("09:00-09:00", "mon", &w, err, sizeof(err)) == -1);
	CHECK(work_hours_parse("09:00-25:00", "mon", &w, err, sizeof(err)) == -1);
	CHECK(work_hours_parse("09:00-18:00", "monday", &w, err, sizeof(err)) == -1);
	CHECK(strstr(err, "days") != NULL);
	CHECK(work_hours_parse("09:00-18:00", "mon,", &w, err, sizeof(err)) == -1);
	CHECK(work_hours_parse("09:00-18:00", "", &w, err, sizeof(err)) == -1);
}

TEST(work_hours_overlap_counts_minutes)
{
	struct work_hours w;
	char err[256];

	REQUIRE(!work_hours_parse("09:30-18:00", "mon-fri", &w, err, sizeof(err)));
	CHECK(work_hours_overlap(&w, 9 * 60) == 30);	      /* Monday 09:00-10:00 */
	CHECK(work_hours_overlap(&w, 10 * 60) == 60);
	CHECK(work_hours_overlap(&w, 18 * 60) == 0);
	CHECK(work_hours_overlap(&w, 5 * 1440 + 600) == 0); /* Saturday */
	/* a night shift starting Sunday runs into Monday; one starting Friday ends Saturday */
	REQUIRE(!work_hours_parse("22:00-06:00", "sun", &w, err, sizeof(err)));
	CHECK(work_hours_overlap(&w, 6 * 1440 + 23 * 60) == 60);
	CHECK(work_hours_overlap(&w, 2 * 60) == 60);
	CHECK(work_hours_overlap(&w, 7 * 60) == 0);
}

TEST(zone_exists_refuses_odd_names)
{
	CHECK(work_hours_zone_exists(ZONEINFO, "America/New_York"));
	CHECK(work_hours_zone_exists(ZONEINFO, "UTC"));
	CHECK(!work_hours_zone_exists(ZONEINFO, "America/Springfield"));
	CHECK(!work_hours_zone_exists(ZONEINFO, "../../etc/passwd"));
	CHECK(!work_hours_zone_exists(ZONEINFO, "/etc/localtime"));
	CHECK(!work_hours_zone_exists(ZONEINFO, ""));
	CHECK(!work_hours_zone_exists(ZONEINFO, "zone.tab")); /* not TZif */
}

TEST(tz_offsets_from_the_real_files)
{
	static struct tz_file tz;

	REQUIRE(!tz_file_load(&tz, ZONEINFO, "America/New_York"));
	CHECK(tz_file_offset(&tz, MONDAY_2026_11_02) == -5 * 3600);
	CHECK(tz_file_offset(&tz, MONDAY_2026_11_02 - 30 * 86400) == -4 * 3600); /* October */
	REQUIRE(!tz_file_load(&tz, ZONEINFO, "Asia/Tokyo"));
	CHECK(tz_file_offset(&tz, MONDAY_2026_11_02) == 9 * 3600);
	REQUIRE(!tz_file_load(&tz, ZONEINFO, "Asia/Kolkata"));
	CHECK(tz_file_offset(&tz, MONDAY_2026_11_02) == 5 * 3600 + 1800);
	CHECK(tz_file_load(&tz, ZONEINFO, "No/Such_Zone") == -1);
	CHECK(tz_file_load(&tz, ZONEINFO, "../zoneinfo/UTC") == -1);
}

TEST(tz_refuses_truncated_and_corrupt_files)
{
	static struct tz_file tz;
	static uint8_t buf[8192];
	FILE *f = fopen(ZONEINFO "/America/New_York", "rb");
	size_t len;

	REQUIRE(f);
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	REQUIRE(len > 100);
	CHECK(tz_file_parse(&tz, buf, len) == 0);
	/* every cut short of the footer (the POSIX rule after the last transition) is refused */
	for (size_t cut = 0; cut < len - 64; cut += 7)
		CHECK(tz_file_parse(&tz, buf, cut) == -1);
	buf[0] = 'X';
	CHECK(tz_file_parse(&tz, buf, len) == -1);
	buf[0] = 'T';
	buf[39] = 0; /* typecnt 0 in the first header */
	buf[38] = 0;
	CHECK(tz_file_parse(&tz, buf, len) == -1);
}

/*
 * A worker who keeps 09:00-18:00 in `worker_offset_h` on their own weekdays for 10 days, replayed
 * minute by minute through the profile with the test's clock (every minute active).
 */
static void replay_worker(struct activity_profile *p, int worker_offset_h, int64_t end_s)
{
	int64_t start_s = end_s - 10 * 86400;

	activity_profile_init(p, (uint64_t)start_s / 3600);
	for (int64_t t = start_s; t < end_s; t += 60) {
		int64_t local = t + worker_offset_h * 3600;
		int64_t weekday = (local / 86400 + 3) % 7, minute_of_day = (local % 86400) / 60;

		if (weekday < 5 && minute_of_day >= 540 && minute_of_day < 1080)
			CHECK(activity_profile_count(p, (uint64_t)t / 60));
	}
	activity_profile_advance(p, (uint64_t)end_s / 3600);
}

TEST(off_hours_worker_in_tokyo_declared_in_new_york)
{
	static struct activity_profile p;
	static struct tz_file ny, tokyo;
	struct hours_judgement j;
	struct work_hours w;
	char err[256], name[16];

	REQUIRE(!work_hours_parse("09:00-18:00", "mon-fri", &w, err, sizeof(err)));
	REQUIRE(!tz_file_load(&ny, ZONEINFO, "America/New_York"));
	REQUIRE(!tz_file_load(&tokyo, ZONEINFO, "Asia/Tokyo"));
	replay_worker(&p, 9, MONDAY_2026_11_02 + 14 * 86400);
	activity_profile_judge(&p, &ny, &w, &j);
	CHECK(j.total >= 6 * 9 * 60); /* the worker's weekdays among ten days */
	CHECK(j.outside_pct >= 90);
	CHECK(j.best_offset_h == 9);
	CHECK(j.best_inside_pct == 100);
	activity_profile_offset_name(j.best_offset_h, name, sizeof(name));
	CHECK_STR(name, "UTC+9");
	/* the same worker declared where they are: nothing outside */
	activity_profile_judge(&p, &tokyo, &w, &j);
	CHECK(j.outside_pct == 0);
}

TEST(matching_worker_in_new_york)
{
	static struct activity_profile p;
	static struct tz_file ny;
	struct hours_judgement j;
	struct work_hours w;
	char err[256];

	REQUIRE(!work_hours_parse("09:00-18:00", "mon-fri", &w, err, sizeof(err)));
	REQUIRE(!tz_file_load(&ny, ZONEINFO, "America/New_York"));
	replay_worker(&p, -5, MONDAY_2026_11_02 + 14 * 86400);
	activity_profile_judge(&p, &ny, &w, &j);
	CHECK(j.total > 0);
	CHECK(j.outside_pct == 0);
	CHECK(j.best_offset_h == -5);
}

TEST(profile_window_rolls_and_counts_once)
{
	static struct activity_profile p;
	uint32_t week[PROFILE_WEEK_HOURS];
	uint64_t h0 = (uint64_t)MONDAY_2026_11_02 / 3600;

	activity_profile_init(&p, h0);
	CHECK(activity_profile_count(&p, h0 * 60 + 5));
	CHECK(!activity_profile_count(&p, h0 * 60 + 5)); /* once */
	CHECK(!activity_profile_count(&p, h0 * 60 + 4)); /* the past stays as it was */
	CHECK(activity_profile_count(&p, h0 * 60 + 6));
	CHECK(activity_profile_hour(&p, h0) == 2);
	CHECK(activity_profile_week(&p, week) == 2);
	CHECK(week[0] == 2); /* Monday 00:00 UTC */
	activity_profile_advance(&p, h0 + PROFILE_HOURS - 1);
	CHECK(activity_profile_hour(&p, h0) == 2);
	activity_profile_advance(&p, h0 + PROFILE_HOURS);
	CHECK(activity_profile_hour(&p, h0) == 0); /* 14 days later it is gone */
	CHECK(activity_profile_week(&p, week) == 0);
}

TEST(never_ends_days)
{
	static struct activity_profile p;
	uint64_t day0 = (uint64_t)MONDAY_2026_11_02 / 86400;

	activity_profile_init(&p, day0 * 24);
	for (uint64_t h = day0 * 24; h < day0 * 24 + 48; h++)
		if (h % 24 < 21)
			activity_profile_count(&p, h * 60 + 1);
	activity_profile_advance(&p, day0 * 24 + 72);
	CHECK(activity_profile_full_days(&p, 20) == 2);
	CHECK(activity_profile_full_days(&p, 22) == 0);
	CHECK(activity_profile_days(&p) == 2);
}

TEST(state_round_trip_and_corruption)
{
	static struct activity_profile p, q;
	uint8_t buf[PROFILE_FILE_BYTES];
	uint64_t now = (uint64_t)MONDAY_2026_11_02 / 3600;
	char path[] = "/tmp/gw-test-activity-XXXXXX";
	int fd = mkstemp(path);

	REQUIRE(fd >= 0);
	close(fd);
	replay_worker(&p, 9, MONDAY_2026_11_02);
	activity_profile_encode(&p, buf);
	CHECK(activity_profile_decode(&q, buf, sizeof(buf), now) == 0);
	CHECK(!memcmp(&p, &q, sizeof(p)));
	CHECK(activity_profile_decode(&q, buf, sizeof(buf) - 1, now) == -1);
	CHECK(activity_profile_decode(&q, buf, sizeof(buf), now - 1) == -1); /* from the future */
	buf[100] ^= 1;
	CHECK(activity_profile_decode(&q, buf, sizeof(buf), now) == -1); /* CRC */
	CHECK(activity_profile_save(&p, path) == 0);
	CHECK(activity_profile_load(&q, path, now + 1) == 0);
	CHECK(q.newest_hour == now + 1 && activity_profile_hour(&q, now - 30) ==
					       activity_profile_hour(&p, now - 30));
	fd = open(path, O_WRONLY | O_TRUNC);
	REQUIRE(fd >= 0);
	CHECK(write(fd, "GWAP", 4) == 4);
	close(fd);
	CHECK(activity_profile_load(&q, path, now) == -1);
	CHECK(q.newest_hour == now && activity_profile_days(&q) == 0);
	unlink(path);
	CHECK(activity_profile_load(&q, path, now) == 1);
}

static struct session_info info(const char *service, const char *type, const char *tty,
				const char *seat, bool remote)
{
	struct session_info s = { 0 };

	snprintf(s.service, sizeof(s.service), "%s", service);
	snprintf(s.logind_type, sizeof(s.logind_type), "%s", type);
	snprintf(s.tty, sizeof(s.tty), "%s", tty);
	snprintf(s.seat, sizeof(s.seat), "%s", seat);
	s.remote = remote;
	return s;
}

TEST(logind_sessions_are_typed)
{
	struct session_info s;

	s = info("sshd", "tty", "pts/0", "", true);
	CHECK_STR(session_classify(&s).type, "ssh");
	s = info("xrdp-sesman", "x11", "", "", true);
	CHECK_STR(session_classify(&s).type, "remote_desktop");
	s = info("gdm-password", "wayland", "", "seat0", false);
	CHECK_STR(session_classify(&s).type, "local");
	s = info("login", "tty", "tty2", "seat0", false);
	CHECK_STR(session_classify(&s).type, "local"); /* a seat's text console is still local */
	s = info("login", "tty", "ttyS0", "", false);
	CHECK_STR(session_classify(&s).type, "console");
	s = info("cockpit", "web", "", "", true);
	CHECK_STR(session_classify(&s).type, "other");
	s = info("systemd-user", "unspecified", "", "", false);
	snprintf(s.leader_comm, sizeof(s.leader_comm), "Xvnc");
	CHECK_STR(session_classify(&s).type, "remote_desktop");
}

TEST(logind_state_file_fields)
{
	struct session_info s = { 0 };

	session_logind_parse_state(&s, "# comment\nUID=1000\nUSER=alice\nACTIVE=1\n"
				       "REALTIME=1796620000123456\nLEADER=812\n");
	CHECK_STR(s.user, "alice");
	CHECK(s.leader_pid == 812);
	CHECK(s.start_ns == 1796620000123456000ull);
}

TEST(utmp_records_become_sessions)
{
	struct utmp r[4];
	struct session_info out[4];
	uint64_t bad = 0;
	size_t n;

	memset(r, 0, sizeof(r));
	r[0].ut_type = USER_PROCESS;
	r[0].ut_pid = 812;
	snprintf(r[0].ut_line, sizeof(r[0].ut_line), "pts/3");
	snprintf(r[0].ut_user, sizeof(r[0].ut_user), "alice");
	snprintf(r[0].ut_host, sizeof(r[0].ut_host), "198.51.100.7");
	r[0].ut_addr_v6[0] = htonl(0xc6336407); /* 198.51.100.7 */
	r[0].ut_tv.tv_sec = 1796620000;
	r[1].ut_type = DEAD_PROCESS;
	r[1].ut_pid = 813;
	r[2].ut_type = USER_PROCESS; /* no user: not a session */
	r[2].ut_pid = 814;
	snprintf(r[2].ut_line, sizeof(r[2].ut_line), "pts/4");
	r[3].ut_type = USER_PROCESS;
	r[3].ut_pid = 900;
	snprintf(r[3].ut_line, sizeof(r[3].ut_line), "tty1");
	snprintf(r[3].ut_user, sizeof(r[3].ut_user), "bob");
	n = session_utmp_parse(r, sizeof(r), out, 4, &bad);
	REQUIRE(n == 2);
	CHECK(bad == 1);
	CHECK_STR(out[0].id, "pts/3:812");
	CHECK_STR(out[0].user, "alice");
	CHECK_STR(out[0].remote_address, "198.51.100.7");
	CHECK(out[0].remote);
	CHECK(out[0].start_ns == 1796620000000000000ull);
	CHECK_STR(session_classify(&out[0]).type, "other"); /* remote, leader unknown */
	snprintf(out[0].parent_comm, sizeof(out[0].parent_comm), "sshd");
	CHECK_STR(session_classify(&out[0]).type, "ssh");
	CHECK_STR(session_classify(&out[1]).type, "console");
	CHECK(!out[1].remote && !out[1].remote_address[0]);
	/* a torn last record is not read */
	CHECK(session_utmp_parse(r, sizeof(r) - 1, out, 4, &bad) == 1);
}

TEST(leader_names_from_proc)
{
	struct session_info s = { 0 };

	s.leader_pid = (uint32_t)getpid();
	session_read_leader(&s, "/proc");
	CHECK_STR(s.leader_comm, "test_sessions");
	CHECK(s.parent_comm[0] != '\0');
}

TEST(terminal_idle_from_a_real_pty)
{
	char name[64];
	int fd = posix_openpt(O_RDWR | O_NOCTTY);

	REQUIRE(fd >= 0);
	REQUIRE(grantpt(fd) == 0 && unlockpt(fd) == 0);
	REQUIRE(ptsname_r(fd, name, sizeof(name)) == 0 && !strncmp(name, "/dev/", 5));
	/* "pts/N" as utmp names it; the last read is at most now */
	CHECK(session_utmp_tty_idle_s("/dev", name + 5, time(NULL) + 10) >= 10);
	CHECK(session_utmp_tty_idle_s("/dev", "pts/999999", time(NULL)) == -1);
	CHECK(session_utmp_tty_idle_s("/dev", "../etc/passwd", time(NULL)) == -1);
	CHECK(session_utmp_tty_idle_s("/dev", ":0", time(NULL)) == -1);
	close(fd);
}

int main(void)
{
	RUN(work_hours_parses_and_refuses);
	RUN(work_hours_overlap_counts_minutes);
	RUN(zone_exists_refuses_odd_names);
	RUN(tz_offsets_from_the_real_files);
	RUN(tz_refuses_truncated_and_corrupt_files);
	RUN(off_hours_worker_in_tokyo_declared_in_new_york);
	RUN(matching_worker_in_new_york);
	RUN(profile_window_rolls_and_counts_once);
	RUN(never_ends_days);
	RUN(state_round_trip_and_corruption);
	RUN(logind_sessions_are_typed);
	RUN(logind_state_file_fields);
	RUN(utmp_records_become_sessions);
	RUN(leader_names_from_proc);
	RUN(terminal_idle_from_a_real_pty);
	return test_summary();
}
