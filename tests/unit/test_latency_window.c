/* The arithmetic of remote-operation latency (agent/latency/latency_window.c). */
#include "testing.h"

#include <stdint.h>

#include "latency/latency_window.h"

#define MS 1000u
#define MIN_NS (60ull * 1000000000ull)

TEST(window_mean_min_max_and_deviation)
{
	struct latency_acc acc = { 0 };
	struct latency_stats s;

	latency_acc_add(&acc, 118 * MS, 6 * MS, 1000, 50);
	latency_acc_add(&acc, 122 * MS, 8 * MS, 3000, 90);
	latency_acc_add(&acc, 126 * MS, 10 * MS, 7000, 130);
	latency_acc_close(&acc, &s);
	CHECK(s.samples == 3);
	CHECK(s.srtt_us == 122 * MS);
	CHECK(s.srtt_min_us == 118 * MS);
	CHECK(s.srtt_max_us == 126 * MS);
	CHECK(s.rtt_var_us == 8 * MS);
	/* the first window counts from its first sample */
	CHECK(s.bytes_sent == 6000);
	CHECK(s.bytes_received == 80);
}

TEST(next_window_counts_from_the_previous_last)
{
	struct latency_acc acc = { 0 };
	struct latency_stats s;

	latency_acc_add(&acc, 5 * MS, MS, 1000, 100);
	latency_acc_close(&acc, &s);
	latency_acc_add(&acc, 6 * MS, MS, 1500, 100);
	latency_acc_add(&acc, 6 * MS, MS, 2500, 100);
	latency_acc_close(&acc, &s);
	CHECK(s.samples == 2);
	CHECK(s.srtt_us == 6 * MS);
	CHECK(s.bytes_sent == 1500);
	CHECK(s.bytes_received == 0); /* the peer was silent */
}

TEST(no_rtt_yet_is_no_sample)
{
	struct latency_acc acc = { 0 };
	struct latency_stats s;

	latency_acc_add(&acc, 0, 0, 0, 0);
	latency_acc_close(&acc, &s);
	CHECK(s.samples == 0);
	CHECK(!latency_far_operator(&s, 100 * MS, true));
}

TEST(far_operator_needs_the_threshold_and_an_active_operator)
{
	struct latency_stats s = { .samples = 4, .srtt_us = 120 * MS, .bytes_received = 300 };

	CHECK(latency_far_operator(&s, 100 * MS, false));
	s.srtt_us = 100 * MS; /* at the threshold: ">=" */
	CHECK(latency_far_operator(&s, 100 * MS, false));
	s.srtt_us = 99 * MS;
	CHECK(!latency_far_operator(&s, 100 * MS, true));
	s.srtt_us = 5 * MS;
	CHECK(!latency_far_operator(&s, 100 * MS, true));
	/* far but idle: nothing from the peer, nothing injected */
	s.srtt_us = 150 * MS;
	s.bytes_received = 0;
	CHECK(!latency_far_operator(&s, 100 * MS, false));
	CHECK(latency_far_operator(&s, 100 * MS, true));
	/* 0 turns the rule off */
	CHECK(!latency_far_operator(&s, 0, true));
}

static struct latency_window_view remote_window(uint64_t end_ns, uint32_t execs)
{
	return (struct latency_window_view){ .end_ns = end_ns, .input_measured = true,
					     .remote_live = true, .session_execs = execs };
}

TEST(presence_holds_after_the_minutes_with_sessions_execs)
{
	struct latency_presence p = { 0 };
	uint64_t t = 1000 * MIN_NS;
	int raised_at = -1;

	for (int minute = 0; minute <= 12 && raised_at < 0; minute++) {
		struct latency_window_view w = remote_window(t + minute * MIN_NS, minute % 3 == 0);

		if (latency_presence_step(&p, &w, 10 * MIN_NS))
			raised_at = minute;
	}
	CHECK(raised_at == 10);
	CHECK(p.session_windows >= 2);
}

TEST(presence_ends_with_physical_input_or_without_remote_control)
{
	struct latency_presence p = { 0 };
	uint64_t t = 1000 * MIN_NS;
	struct latency_window_view w;

	for (int minute = 0; minute < 9; minute++) {
		w = remote_window(t + minute * MIN_NS, 1);
		CHECK(!latency_presence_step(&p, &w, 10 * MIN_NS));
	}
	w = remote_window(t + 9 * MIN_NS, 1);
	w.physical_input = true; /* someone touched the keyboard */
	CHECK(!latency_presence_step(&p, &w, 10 * MIN_NS));
	CHECK(p.run_start_ns == 0);
	w = remote_window(t + 10 * MIN_NS, 1);
	CHECK(!latency_presence_step(&p, &w, 10 * MIN_NS)); /* a new run starts here */
	w = remote_window(t + 11 * MIN_NS, 1);
	w.remote_live = false;
	CHECK(!latency_presence_step(&p, &w, 10 * MIN_NS));
	CHECK(p.run_start_ns == 0);
}

TEST(presence_needs_input_measured_and_session_activity)
{
	struct latency_presence p = { 0 };
	uint64_t t = 1000 * MIN_NS;

	/* no input hook: silence is not known, never raised */
	for (int minute = 0; minute <= 20; minute++) {
		struct latency_window_view w = remote_window(t + minute * MIN_NS, 1);

		w.input_measured = false;
		CHECK(!latency_presence_step(&p, &w, 10 * MIN_NS));
	}
	/* remote control live, nothing started in the session but once: not someone working */
	for (int minute = 0; minute <= 20; minute++) {
		struct latency_window_view w = remote_window(t + minute * MIN_NS, minute == 3);

		CHECK(!latency_presence_step(&p, &w, 10 * MIN_NS));
	}
}

int main(void)
{
	RUN(window_mean_min_max_and_deviation);
	RUN(next_window_counts_from_the_previous_last);
	RUN(no_rtt_yet_is_no_sample);
	RUN(far_operator_needs_the_threshold_and_an_active_operator);
	RUN(presence_holds_after_the_minutes_with_sessions_execs);
	RUN(presence_ends_with_physical_input_or_without_remote_control);
	RUN(presence_needs_input_measured_and_session_activity);
	return test_summary();
}
