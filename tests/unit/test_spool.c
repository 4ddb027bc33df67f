/* Unit tests for agent/spool.c: append/peek/ack, reopen, torn and garbled tails, the size cap. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fleet/spool.h"
#include "testing.h"

static char err[256];

static void make_dir(char *tmpl)
{
	if (!mkdtemp(tmpl))
		abort();
}

static void remove_dir(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
}

static struct gw_spool *open_spool(const char *dir, uint64_t max, uint64_t seg)
{
	struct gw_spool_limits lim = { .max_bytes = max, .segment_bytes = seg };
	struct gw_spool *s = gw_spool_open(dir, &lim, err, sizeof(err));

	if (!s)
		printf("# open: %s\n", err);
	return s;
}

/* Appends a batch whose payload is "batch-<seq>" padded to `size` bytes. */
static int append(struct gw_spool *s, uint32_t events, size_t size)
{
	uint64_t seq = gw_spool_next_seq(s);
	char buf[8192];

	memset(buf, 'x', sizeof(buf));
	snprintf(buf, sizeof(buf), "batch-%llu", (unsigned long long)seq);
	if (size < strlen(buf) + 1)
		size = strlen(buf) + 1;
	return gw_spool_append(s, seq, events, buf, size, 0, 0);
}

/* Syncs, peeks, checks the payload names the expected seq, acks. */
static int consume(struct gw_spool *s, uint64_t want_seq)
{
	struct gw_spool_record rec;
	char want[32];
	int ok;

	if (gw_spool_sync(s) || gw_spool_peek(s, &rec) != 1)
		return 0;
	snprintf(want, sizeof(want), "batch-%llu", (unsigned long long)want_seq);
	ok = rec.seq == want_seq && strcmp((char *)rec.data, want) == 0;
	if (!ok)
		printf("#   got seq %llu \"%.20s\", wanted %llu\n", (unsigned long long)rec.seq,
		       (char *)rec.data, (unsigned long long)want_seq);
	free(rec.data);
	return ok && gw_spool_ack(s, &rec) == 0;
}

static off_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? -1 : sb.st_size;
}

static void seg_path(char *buf, size_t len, const char *dir, unsigned id)
{
	snprintf(buf, len, "%s/%020u.seg", dir, id);
}

TEST(append_peek_ack)
{
	char dir[] = "/tmp/gw_spool_XXXXXX";
	struct gw_spool_stats st;
	struct gw_spool_record rec;
	struct gw_spool *s;

	make_dir(dir);
	s = open_spool(dir, 1 << 20, 64 << 10);
	REQUIRE(s);
	CHECK(gw_spool_next_seq(s) == 1);
	CHECK(gw_spool_peek(s, &rec) == 0);
	for (int i = 0; i < 5; i++)
		CHECK(append(s, 10, 100) == 0);
	/* not on disk yet: not handed to the publisher */
	CHECK(gw_spool_peek(s, &rec) == 0);
	CHECK(gw_spool_sync(s) == 0);
	gw_spool_get_stats(s, &st);
	CHECK(st.unacked_batches == 5 && st.unacked_events == 50);
	CHECK(st.syncs == 1);
	/* peek without ack returns the same record again */
	REQUIRE(gw_spool_peek(s, &rec) == 1);
	CHECK(rec.seq == 1 && rec.events == 10 && rec.len == 100);
	free(rec.data);
	for (uint64_t seq = 1; seq <= 5; seq++)
		CHECK(consume(s, seq));
	CHECK(gw_spool_peek(s, &rec) == 0);
	gw_spool_get_stats(s, &st);
	CHECK(st.unacked_batches == 0 && st.unacked_events == 0 && st.acked == 5);
	/* seq must be the next one */
	CHECK(gw_spool_append(s, 3, 1, "x", 1, 0, 0) == -EINVAL);
	gw_spool_close(s);
	remove_dir(dir);
}

TEST(reopen_keeps_unacked_and_seq)
{
	char dir[] = "/tmp/gw_spool_XXXXXX";
	struct gw_spool_stats st;
	struct gw_spool_record rec;
	struct gw_spool *s;

	make_dir(dir);
	s = open_spool(dir, 1 << 20, 64 << 10);
	REQUIRE(s);
	for (int i = 0; i < 4; i++)
		CHECK(append(s, 2, 50) == 0);
	CHECK(consume(s, 1) && consume(s, 2));
	gw_spool_close(s);

	s = open_spool(dir, 1 << 20, 64 << 10);
	REQUIRE(s);
	CHECK(gw_spool_next_seq(s) == 5);
	gw_spool_get_stats(s, &st);
	CHECK(st.unacked_batches == 2 && st.unacked_events == 4);
	CHECK(consume(s, 3) && consume(s, 4));
	CHECK(gw_spool_peek(s, &rec) == 0);
	gw_spool_close(s);

	/* everything acked: seq still continues */
	s = open_spool(dir, 1 << 20, 64 << 10);
	REQUIRE(s);
	CHECK(gw_spool_next_seq(s) == 5);
	CHECK(gw_spool_peek(s, &rec) == 0);
	gw_spool_close(s);
	remove_dir(dir);
}

TEST(second_process_is_refused)
{
	char dir[] = "/tmp/gw_spool_XXXXXX";
	struct gw_spool *a, *b;

	make_dir(dir);
	a = open_spool(dir, 1 << 20, 64 << 10);
	REQUIRE(a);
	b = open_spool(dir, 1 << 20, 64 << 10);
	CHECK(!b);
	CHECK(strstr(err, "in use") != NULL);
	gw_spool_close(b);
	gw_spool_close(a);
	remove_dir(dir);
}

TEST(sigkill_mid_stream_loses_nothing_synced)
{
	char dir[] = "/tmp/gw_spool_XXXXXX";
	struct gw_spool *s;
	int status;
	pid_t pid;

	make_dir(dir);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct gw_spool *c = open_spool(dir, 1 << 20, 4096 * 16);

		for (int i = 0; i < 300; i++) {
			append(c, 1, 200);
			gw_spool_sync(c);
		}
		/* two acked, then die without closing anything */
		consume(c, 1);
		consume(c, 2);
		kill(getpid(), SIGKILL);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status));
	s = open_spool(dir, 1 << 20, 4096 * 16);
	REQUIRE(s);
	CHECK(gw_spool_next_seq(s) == 301);
	/* the cursor is saved lazily: acked batches may come again (JetStream drops them), but
	 * nothing after them may be missing */
	{
		struct gw_spool_record rec;
		uint64_t first;

		REQUIRE(gw_spool_peek(s, &rec) == 1);
		first = rec.seq;
		free(rec.data);
		CHECK(first >= 1 && first <= 3);
		for (uint64_t seq = first; seq < 3; seq++)
			CHECK(consume(s, seq));
	}
	for (uint64_t seq = 3; seq <= 300; seq++)
		if (!consume(s, seq)) {
			CHECK(!"lost a batch");
			break;
		}
	gw_spool_close(s);
	remove_dir(dir);
}

TEST(torn_tail_is_truncated)
{
	char dir[] = "/tmp/gw_spool_XXXXXX", seg[300];
	struct gw_spool_stats st;
	struct gw_spool_record rec;
	struct gw_spool *s;
	off_t size;
	int fd;

	make_dir(dir);
	s = open_spool(dir, 1 << 20, 64 << 10);
	REQUIRE(s);
	for (int i = 0; i < 3; i++)
		CHECK(append(s, 1, 100) == 0);
	gw_spool_close(s);

	/* a crash in the middle of the third write: keep only half of it */
	seg_path(seg, sizeof(seg), dir, 1);
	size = file_size(seg);
	REQUIRE(size == 3 * (24 + 100));
	REQUIRE(truncate(seg, size - 60) == 0);

	s = open_spool(dir, 1 << 20, 64 << 10);
	REQUIRE(s);
	gw_spool_get_stats(s, &st);
	CHECK(st.recovered_bytes == 64 && st.recovered_segments == 1);
	CHECK(st.unacked_batches == 2);
	CHECK(file_size(seg) == 2 * 124);
	CHECK(gw_spool_next_seq(s) == 3); /* seq 3 never made it: it is re-used */
	CHECK(consume(s, 1) && consume(s, 2));
	CHECK(gw_spool_peek(s, &rec) == 0);
	/* appending after recovery produces a readable record */
	CHECK(append(s, 1, 10) == 0);
	CHECK(consume(s, 3));
	gw_spool_close(s);

	/* garbage appended to the segment (not even a header) */
	fd = open(seg, O_WRONLY | O_APPEND);
	REQUIRE(fd >= 0);
	CHECK(write(fd, "\x01\x02\x03", 3) == 3);
	close(fd);
	s = open_spool(dir, 1 << 20, 64 << 10);
	REQUIRE(s);
	gw_spool_get_stats(s, &st);
	CHECK(st.recovered_bytes == 3);
	CHECK(gw_spool_peek(s, &rec) == 0);
	gw_spool_close(s);
	remove_dir(dir);
}

TEST(garbled_record_is_skipped_and_the_records_after_it_recovered)
{
	char dir[] = "/tmp/gw_spool_XXXXXX", seg[300];
	struct gw_spool_stats st;
	struct gw_spool_record rec;
	struct gw_spool *s;
	int fd;

	make_dir(dir);
	s = open_spool(dir, 1 << 20, 64 << 10);
	REQUIRE(s);
	for (int i = 0; i < 6; i++)
		CHECK(append(s, 1, 100) == 0);
	gw_spool_close(s);

	/* flip a payload byte of the second record and the length of the fourth */
	seg_path(seg, sizeof(seg), dir, 1);
	fd = open(seg, O_WRONLY);
	REQUIRE(fd >= 0);
	CHECK(pwrite(fd, "Z", 1, 124 + 24 + 50) == 1);
	CHECK(pwrite(fd, "\xff\xff", 2, 3 * 124) == 2);
	close(fd);

	s = open_spool(dir, 1 << 20, 64 << 10);
	REQUIRE(s);
	gw_spool_get_stats(s, &st);
	CHECK(st.recovered_bytes == 2 * 124);
	CHECK(st.recovered_segments == 1);
	CHECK(st.lost_records == 2);
	CHECK(st.pending_dropped_batches == 2 && st.total_dropped_batches == 2);
	CHECK(st.unacked_batches == 4);
	CHECK(consume(s, 1) && consume(s, 3) && consume(s, 5) && consume(s, 6));
	CHECK(gw_spool_peek(s, &rec) == 0);
	CHECK(gw_spool_next_seq(s) == 7);
	gw_spool_close(s);

	/* a record garbled after open is skipped on re-read, the one after it still delivered */
	s = open_spool(dir, 1 << 20, 64 << 10);
	REQUIRE(s);
	for (int i = 0; i < 3; i++)
		CHECK(append(s, 1, 100) == 0);
	CHECK(gw_spool_sync(s) == 0);
	fd = open(seg, O_WRONLY);
	REQUIRE(fd >= 0);
	CHECK(pwrite(fd, "Z", 1, 6 * 124 + 24 + 60) == 1);
	close(fd);
	CHECK(consume(s, 8) && consume(s, 9));
	gw_spool_get_stats(s, &st);
	CHECK(st.lost_records == 1 && st.unacked_batches == 0);
	CHECK(gw_spool_peek(s, &rec) == 0);
	gw_spool_close(s);
	remove_dir(dir);
}

TEST(acked_garbage_is_not_counted_lost)
{
	char dir[] = "/tmp/gw_spool_XXXXXX", seg[300];
	struct gw_spool_stats st;
	struct gw_spool *s;
	int fd;

	make_dir(dir);
	s = open_spool(dir, 1 << 20, 64 << 10);
	REQUIRE(s);
	for (int i = 0; i < 4; i++)
		CHECK(append(s, 1, 100) == 0);
	CHECK(consume(s, 1) && consume(s, 2));
	gw_spool_close(s);

	seg_path(seg, sizeof(seg), dir, 1);
	fd = open(seg, O_WRONLY);
	REQUIRE(fd >= 0);
	CHECK(pwrite(fd, "Z", 1, 24 + 50) == 1);
	close(fd);
	s = open_spool(dir, 1 << 20, 64 << 10);
	REQUIRE(s);
	gw_spool_get_stats(s, &st);
	CHECK(st.recovered_bytes == 124 && st.lost_records == 0);
	CHECK(st.unacked_batches == 2);
	CHECK(consume(s, 3) && consume(s, 4));
	gw_spool_close(s);
	remove_dir(dir);
}

TEST(rotation_and_acked_segments_are_deleted)
{
	char dir[] = "/tmp/gw_spool_XXXXXX", seg[300];
	struct gw_spool_stats st;
	struct gw_spool *s;

	make_dir(dir);
	/* 64 KiB segments, 1 KiB records: ~63 per segment */
	s = open_spool(dir, 16 << 20, 64 << 10);
	REQUIRE(s);
	for (int i = 0; i < 200; i++)
		CHECK(append(s, 1, 1000) == 0);
	gw_spool_get_stats(s, &st);
	CHECK(st.segments == 4);
	for (uint64_t seq = 1; seq <= 130; seq++)
		CHECK(consume(s, seq));
	gw_spool_get_stats(s, &st);
	CHECK(st.segments == 2);
	seg_path(seg, sizeof(seg), dir, 1);
	CHECK(file_size(seg) == -1);
	seg_path(seg, sizeof(seg), dir, 3);
	CHECK(file_size(seg) > 0);
	gw_spool_close(s);

	s = open_spool(dir, 16 << 20, 64 << 10);
	REQUIRE(s);
	gw_spool_get_stats(s, &st);
	CHECK(st.unacked_batches == 70);
	for (uint64_t seq = 131; seq <= 200; seq++)
		CHECK(consume(s, seq));
	gw_spool_close(s);
	remove_dir(dir);
}

TEST(cap_evicts_oldest_and_counts_it)
{
	char dir[] = "/tmp/gw_spool_XXXXXX";
	struct gw_spool_stats st;
	struct gw_spool_record rec;
	struct gw_spool *s;
	uint64_t first;

	make_dir(dir);
	/* 256 KiB cap, 64 KiB segments, ~1 KiB records with 7 events each */
	s = open_spool(dir, 256 << 10, 64 << 10);
	REQUIRE(s);
	CHECK(consume(s, 0) == 0);
	for (int i = 0; i < 1000; i++)
		REQUIRE(append(s, 7, 1000) == 0);
	gw_spool_get_stats(s, &st);
	CHECK(st.bytes <= 256 << 10);
	CHECK(st.total_dropped_batches > 0);
	CHECK(st.pending_dropped_batches == st.total_dropped_batches);
	CHECK(st.pending_dropped_events == 7 * st.pending_dropped_batches);
	CHECK(st.unacked_batches + st.total_dropped_batches == 1000);
	/* the oldest survivors are right after the dropped ones */
	REQUIRE(gw_spool_peek(s, &rec) == 1);
	first = rec.seq;
	CHECK(first == st.total_dropped_batches + 1);
	free(rec.data);

	/* the drops survive a restart until a batch reports them */
	gw_spool_close(s);
	s = open_spool(dir, 256 << 10, 64 << 10);
	REQUIRE(s);
	{
		struct gw_spool_stats st2;
		uint64_t seq = gw_spool_next_seq(s);

		gw_spool_get_stats(s, &st2);
		CHECK(st2.pending_dropped_batches == st.pending_dropped_batches);
		CHECK(gw_spool_append(s, seq, 1, "r", 1, st2.pending_dropped_batches,
				      st2.pending_dropped_events) == 0);
		gw_spool_get_stats(s, &st2);
		CHECK(st2.pending_dropped_batches == 0 && st2.pending_dropped_events == 0);
	}
	gw_spool_close(s);
	s = open_spool(dir, 256 << 10, 64 << 10);
	REQUIRE(s);
	gw_spool_get_stats(s, &st);
	CHECK(st.pending_dropped_batches == 0);
	gw_spool_close(s);
	remove_dir(dir);
}

TEST(cap_eviction_while_cursor_is_mid_segment)
{
	char dir[] = "/tmp/gw_spool_XXXXXX";
	struct gw_spool_stats st;
	struct gw_spool_record rec;
	struct gw_spool *s;

	make_dir(dir);
	s = open_spool(dir, 256 << 10, 64 << 10);
	REQUIRE(s);
	for (int i = 0; i < 10; i++)
		REQUIRE(append(s, 1, 1000) == 0);
	CHECK(consume(s, 1) && consume(s, 2));
	/* an in-flight peek of seq 3, then the cap drops its segment */
	REQUIRE(gw_spool_peek(s, &rec) == 1);
	for (int i = 0; i < 400; i++)
		REQUIRE(append(s, 1, 1000) == 0);
	CHECK(gw_spool_ack(s, &rec) == 1); /* stale ack: ignored */
	free(rec.data);
	gw_spool_get_stats(s, &st);
	CHECK(st.unacked_batches + st.total_dropped_batches == 408);
	REQUIRE(gw_spool_peek(s, &rec) == 1);
	CHECK(rec.seq == 3 + st.total_dropped_batches);
	free(rec.data);
	gw_spool_close(s);
	remove_dir(dir);
}

TEST(corrupt_cursor_restarts_from_oldest)
{
	char dir[] = "/tmp/gw_spool_XXXXXX", path[300];
	struct gw_spool_stats st;
	struct gw_spool *s;
	int fd;

	make_dir(dir);
	s = open_spool(dir, 1 << 20, 64 << 10);
	REQUIRE(s);
	for (int i = 0; i < 3; i++)
		CHECK(append(s, 1, 10) == 0);
	CHECK(consume(s, 1));
	gw_spool_close(s);
	snprintf(path, sizeof(path), "%s/cursor", dir);
	fd = open(path, O_WRONLY);
	REQUIRE(fd >= 0);
	CHECK(pwrite(fd, "garbage", 7, 8) == 7);
	close(fd);
	s = open_spool(dir, 1 << 20, 64 << 10);
	REQUIRE(s);
	gw_spool_get_stats(s, &st);
	CHECK(st.cursor_reset);
	/* re-sends seq 1 (JetStream's duplicate window drops it), loses nothing */
	CHECK(consume(s, 1) && consume(s, 2) && consume(s, 3));
	CHECK(gw_spool_next_seq(s) == 4);
	gw_spool_close(s);
	remove_dir(dir);
}

TEST(nonce_and_attempts_survive_a_reopen)
{
	char dir[] = "/tmp/gw_spool_XXXXXX";
	char nonce[GW_SPOOL_NONCE_LEN + 1];
	struct gw_spool *s;

	make_dir(dir);
	s = open_spool(dir, 1 << 20, 64 << 10);
	REQUIRE(s);
	CHECK(strlen(gw_spool_nonce(s)) == GW_SPOOL_NONCE_LEN);
	snprintf(nonce, sizeof(nonce), "%s", gw_spool_nonce(s));
	for (int i = 0; i < 3; i++)
		CHECK(append(s, 1, 100) == 0);
	/* nothing attempted yet: a later process knows none of these went out */
	CHECK(!gw_spool_may_have_sent(s, 1));
	gw_spool_close(s);
	s = open_spool(dir, 1 << 20, 64 << 10);
	REQUIRE(s);
	CHECK(!gw_spool_may_have_sent(s, 1));
	CHECK(gw_spool_note_attempt(s, 1) == 0);
	CHECK(!gw_spool_may_have_sent(s, 1)); /* this process's own attempts are not "earlier" */
	gw_spool_close(s);

	/* a crash after attempting seq 1: it and the seqs noted ahead may have gone out */
	s = open_spool(dir, 1 << 20, 64 << 10);
	REQUIRE(s);
	CHECK_STR(gw_spool_nonce(s), nonce);
	CHECK(gw_spool_may_have_sent(s, 1) && gw_spool_may_have_sent(s, 3));
	CHECK(gw_spool_may_have_sent(s, 1 + GW_SPOOL_ATTEMPT_AHEAD));
	CHECK(!gw_spool_may_have_sent(s, 2 + GW_SPOOL_ATTEMPT_AHEAD));
	CHECK(consume(s, 1) && consume(s, 2) && consume(s, 3));
	gw_spool_close(s);
	remove_dir(dir);
}

int main(void)
{
	RUN(append_peek_ack);
	RUN(reopen_keeps_unacked_and_seq);
	RUN(second_process_is_refused);
	RUN(sigkill_mid_stream_loses_nothing_synced);
	RUN(torn_tail_is_truncated);
	RUN(garbled_record_is_skipped_and_the_records_after_it_recovered);
	RUN(acked_garbage_is_not_counted_lost);
	RUN(rotation_and_acked_segments_are_deleted);
	RUN(cap_evicts_oldest_and_counts_it);
	RUN(cap_eviction_while_cursor_is_mid_segment);
	RUN(corrupt_cursor_restarts_from_oldest);
	RUN(nonce_and_attempts_survive_a_reopen);
	return test_summary();
}
