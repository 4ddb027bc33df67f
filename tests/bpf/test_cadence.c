// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_cadence.c - the input cadence machine (bpf/lib/cadence.h) as units: synthetic input events
 * at chosen times go through BPF_PROG_TEST_RUN into test_cadence.bpf.c, and each case checks the
 * window the agent would drain and the device state only the kernel keeps.
 *
 * Each case loads its own object, so maps, slots and generations start empty.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gw_events.h"
#include "bpf_unit.h"
#include "test_cadence.h"
#include "test_cadence.skel.h"

#define EV_SYN 0x00
#define EV_KEY 0x01
#define EV_REL 0x02
#define EV_ABS 0x03
#define EV_MSC 0x04
#define EV_LED 0x11
#define REL_X 0x00
#define REL_Y 0x01
#define REL_Z 0x02
#define REL_WHEEL 0x08
#define ABS_X 0x00
#define ABS_Y 0x01
#define ABS_PRESSURE 0x18
#define KEY_A 30
#define BTN_LEFT 0x110

#define MS 1000000ULL
#define SEC (1000 * MS)
#define T0 (100 * SEC)	/* boot time of a case's first event: never 0, which means "none" */
#define DEV 0xffff888000100000ULL
#define DEFAULT_IDLE_NS SEC

struct cad {
	struct test_cadence *skel;
	int event_fd, peek_fd, windows_fd, drops_fd;
};

static int cad_open(struct cad *c, uint64_t idle_ns)
{
	int err;

	c->skel = test_cadence__open();
	if (!c->skel) {
		fprintf(stderr, "open: %s\n", strerror(errno));
		return -1;
	}
	bpf_map__set_max_entries(c->skel->maps.gw_events, 4096); /* unused here: keep it small */
	c->skel->rodata->cadence_idle_ns = idle_ns;
	err = test_cadence__load(c->skel);
	if (err) {
		fprintf(stderr, "load: %s\n", strerror(-err));
		return -1;
	}
	c->event_fd = bpf_program__fd(c->skel->progs.cadence_test_event);
	c->peek_fd = bpf_program__fd(c->skel->progs.cadence_test_peek);
	c->windows_fd = bpf_map__fd(c->skel->maps.cadence_windows);
	c->drops_fd = bpf_map__fd(c->skel->maps.gw_drops);
	return 0;
}

static void cad_close(struct cad *c)
{
	test_cadence__destroy(c->skel);
}

/* One event; its kind as the program classified it, or -1 when the run failed. */
static int ev(struct cad *c, uint64_t dev, uint32_t type, uint32_t code, int value, uint64_t now)
{
	uint64_t args[5] = { dev, type, code, (uint64_t)(int64_t)value, now };
	uint32_t kind;

	if (bpf_unit_run(c->event_fd, args, 5, &kind))
		return -1;
	return (int)kind;
}

/* Device `dev`'s kernel state into skel->bss->test_state: 1 found, 0 none, -1 failed. */
static int peek(struct cad *c, uint64_t dev)
{
	uint32_t found;

	if (bpf_unit_run(c->peek_fd, &dev, 1, &found))
		return -1;
	return (int)found;
}

static int window(struct cad *c, uint32_t slot, uint32_t half, struct gw_cadence_window *w)
{
	uint32_t idx = slot * 2 + half;

	return bpf_map_lookup_elem(c->windows_fd, &idx, w);
}

/* A relative motion burst: `n` steps of (dx, dy) 8 ms apart from `t`; the time of its last step. */
static uint64_t rel_burst(struct cad *c, uint64_t dev, uint64_t t, int n, int dx, int dy, int *err)
{
	for (int i = 0; i < n; i++, t += 8 * MS) {
		if (ev(c, dev, EV_REL, REL_X, dx, t) != 1 || ev(c, dev, EV_REL, REL_Y, dy, t) != 1)
			*err = 1;
	}
	return t - 8 * MS;
}

static uint32_t hist_sum(const uint32_t *h)
{
	uint32_t n = 0;

	for (int i = 0; i < GW_CADENCE_HIST_BUCKETS; i++)
		n += h[i];
	return n;
}

static int ignored_events_leave_no_trace(void)
{
	struct gw_cadence_window w;
	struct cad c;

	UNIT_CHECK(!cad_open(&c, DEFAULT_IDLE_NS), "load");
	UNIT_EQ(ev(&c, DEV, EV_SYN, 0, 0, T0), 0);
	UNIT_EQ(ev(&c, DEV, EV_MSC, 4, 0x70004, T0), 0);
	UNIT_EQ(ev(&c, DEV, EV_LED, 0, 1, T0), 0);
	UNIT_EQ(ev(&c, DEV, EV_REL, REL_Z, 3, T0), 0);
	UNIT_EQ(ev(&c, DEV, EV_ABS, ABS_PRESSURE, 50, T0), 0);
	UNIT_EQ(peek(&c, DEV), 0);
	UNIT_CHECK(!window(&c, 0, 0, &w), "lookup");
	UNIT_EQ(w.events, 0);
	UNIT_EQ(w.first_ns, 0);
	cad_close(&c);
	return 0;
}

static int first_motion_starts_burst_after_idle(void)
{
	struct gw_cadence_window w;
	struct cad c;

	UNIT_CHECK(!cad_open(&c, DEFAULT_IDLE_NS), "load");
	UNIT_EQ(ev(&c, DEV, EV_REL, REL_X, 4, T0), 1);
	UNIT_EQ(peek(&c, DEV), 1);
	UNIT_EQ(c.skel->bss->test_state.burst_start_ns, T0);
	UNIT_EQ(c.skel->bss->test_state.burst_steps, 1);
	UNIT_EQ(c.skel->bss->test_state.burst_dx, 4);
	UNIT_EQ(c.skel->bss->test_state.last_input_ns, T0);
	UNIT_CHECK(!window(&c, 0, 0, &w), "lookup");
	UNIT_EQ(w.dev, DEV);
	UNIT_EQ(w.first_ns, T0);
	UNIT_EQ(w.last_ns, T0);
	UNIT_EQ(w.writer_pid, getpid());
	UNIT_EQ(w.events, 1);
	UNIT_EQ(w.rel_events, 1);
	UNIT_EQ(w.bursts, 1);
	/* never any input before: as idle as can be */
	UNIT_EQ(w.bursts_after_idle, 1);
	UNIT_EQ(w.idle_min_ms, 0xffffffffu);
	UNIT_EQ(w.bursts_done, 0);
	UNIT_EQ(w.period_n, 0);
	cad_close(&c);
	return 0;
}

static int motion_within_gap_continues_burst(void)
{
	struct gw_cadence_window w;
	struct cad c;

	UNIT_CHECK(!cad_open(&c, DEFAULT_IDLE_NS), "load");
	UNIT_EQ(ev(&c, DEV, EV_REL, REL_X, 3, T0), 1);
	UNIT_EQ(ev(&c, DEV, EV_REL, REL_Y, -2, T0 + 100 * MS), 1);
	/* exactly the burst gap after the last motion: still the same burst */
	UNIT_EQ(ev(&c, DEV, EV_REL, REL_X, 5, T0 + 100 * MS + GW_CADENCE_BURST_GAP_NS), 1);
	UNIT_EQ(peek(&c, DEV), 1);
	UNIT_EQ(c.skel->bss->test_state.burst_start_ns, T0);
	UNIT_EQ(c.skel->bss->test_state.burst_steps, 3);
	UNIT_EQ(c.skel->bss->test_state.burst_dx, 8);
	UNIT_EQ(c.skel->bss->test_state.burst_dy, -2);
	UNIT_CHECK(!window(&c, 0, 0, &w), "lookup");
	UNIT_EQ(w.bursts, 1);
	UNIT_EQ(w.bursts_done, 0);
	UNIT_EQ(w.rel_events, 3);
	UNIT_EQ(w.events, 3);
	cad_close(&c);
	return 0;
}

static int motion_after_gap_ends_burst(void)
{
	struct gw_cadence_window w;
	uint64_t last, next;
	struct cad c;
	int err = 0;

	UNIT_CHECK(!cad_open(&c, DEFAULT_IDLE_NS), "load");
	/* 3 steps of (+3, +2): |net| 15, class 3-16 */
	last = rel_burst(&c, DEV, T0, 3, 3, 2, &err);
	UNIT_EQ(err, 0);
	next = last + GW_CADENCE_BURST_GAP_NS + 1;
	UNIT_EQ(ev(&c, DEV, EV_REL, REL_X, 1, next), 1);
	UNIT_EQ(peek(&c, DEV), 1);
	UNIT_EQ(c.skel->bss->test_state.burst_start_ns, next);
	UNIT_EQ(c.skel->bss->test_state.burst_steps, 1);
	UNIT_EQ(c.skel->bss->test_state.burst_dx, 1);
	UNIT_EQ(c.skel->bss->test_state.burst_dy, 0);
	UNIT_CHECK(!window(&c, 0, 0, &w), "lookup");
	UNIT_EQ(w.bursts, 2);
	UNIT_EQ(w.bursts_done, 1);
	UNIT_EQ(w.burst_steps, 6);
	UNIT_EQ(w.net_class[2], 1);
	UNIT_EQ(w.bursts_still, 0);
	UNIT_EQ(w.bursts_with_buttons, 0);
	/* quieter than the burst gap but not the idle time: a burst, not one after idle */
	UNIT_EQ(w.bursts_after_idle, 1);
	UNIT_EQ(w.idle_min_ms, (GW_CADENCE_BURST_GAP_NS + 1) / MS);
	UNIT_EQ(w.period_n, 1);
	UNIT_EQ(w.period_min_ms, (next - T0) / MS);
	UNIT_EQ(w.period_max_ms, (next - T0) / MS);
	cad_close(&c);
	return 0;
}

static int burst_after_idle_time_counts(void)
{
	struct gw_cadence_window w;
	struct cad c;

	UNIT_CHECK(!cad_open(&c, DEFAULT_IDLE_NS), "load");
	UNIT_EQ(ev(&c, DEV, EV_REL, REL_X, 1, T0), 1);
	UNIT_EQ(ev(&c, DEV, EV_REL, REL_X, 1, T0 + 1500 * MS), 1);
	/* a key 0.9 s before the next motion: input, so the device was not idle */
	UNIT_EQ(ev(&c, DEV, EV_KEY, KEY_A, 1, T0 + 3100 * MS), 2);
	UNIT_EQ(ev(&c, DEV, EV_REL, REL_X, 1, T0 + 4000 * MS), 1);
	UNIT_CHECK(!window(&c, 0, 0, &w), "lookup");
	UNIT_EQ(w.bursts, 3);
	UNIT_EQ(w.bursts_after_idle, 2);
	UNIT_EQ(w.idle_min_ms, 900);
	cad_close(&c);
	return 0;
}

static int idle_time_is_the_agents_setting(void)
{
	struct gw_cadence_window w;
	struct cad c;

	UNIT_CHECK(!cad_open(&c, 5 * SEC), "load");
	UNIT_EQ(ev(&c, DEV, EV_REL, REL_X, 1, T0), 1);
	UNIT_EQ(ev(&c, DEV, EV_REL, REL_X, 1, T0 + 2 * SEC), 1);
	UNIT_EQ(ev(&c, DEV, EV_REL, REL_X, 1, T0 + 7 * SEC), 1);
	UNIT_CHECK(!window(&c, 0, 0, &w), "lookup");
	UNIT_EQ(w.bursts, 3);
	UNIT_EQ(w.bursts_after_idle, 2); /* the first and the one after 5 s */
	UNIT_EQ(w.idle_min_ms, 2000);
	cad_close(&c);
	return 0;
}

/* A mouse jiggler: every 30 s one step right and one back, nothing else. */
static int jiggler_periodic_still_bursts(void)
{
	struct gw_cadence_window w;
	struct cad c;

	UNIT_CHECK(!cad_open(&c, DEFAULT_IDLE_NS), "load");
	for (int i = 0; i < 6; i++) {
		uint64_t t = T0 + i * 30 * SEC;

		UNIT_EQ(ev(&c, DEV, EV_REL, REL_X, 1, t), 1);
		UNIT_EQ(ev(&c, DEV, EV_REL, REL_X, -1, t + 10 * MS), 1);
	}
	UNIT_CHECK(!window(&c, 0, 0, &w), "lookup");
	UNIT_EQ(w.bursts, 6);
	UNIT_EQ(w.bursts_after_idle, 6);
	UNIT_EQ(w.bursts_done, 5);
	UNIT_EQ(w.bursts_still, 5);
	UNIT_EQ(w.net_class[0], 5);
	UNIT_EQ(w.burst_steps, 10);
	UNIT_EQ(w.period_n, 5);
	UNIT_EQ(w.period_min_ms, 30000);
	UNIT_EQ(w.period_max_ms, 30000);
	UNIT_EQ(w.period_sum_ms, 150000);
	UNIT_EQ(w.period_sumsq_ms, 5ULL * 30000 * 30000);
	UNIT_EQ(w.idle_min_ms, 30000 - 10);
	cad_close(&c);
	return 0;
}

static int burst_periods_min_max_sums(void)
{
	static const uint64_t starts_ms[] = { 0, 1000, 4000, 6000 };
	struct gw_cadence_window w;
	struct cad c;

	UNIT_CHECK(!cad_open(&c, DEFAULT_IDLE_NS), "load");
	for (int i = 0; i < 4; i++)
		UNIT_EQ(ev(&c, DEV, EV_REL, REL_Y, 2, T0 + starts_ms[i] * MS), 1);
	UNIT_CHECK(!window(&c, 0, 0, &w), "lookup");
	UNIT_EQ(w.period_n, 3);
	UNIT_EQ(w.period_min_ms, 1000);
	UNIT_EQ(w.period_max_ms, 3000);
	UNIT_EQ(w.period_sum_ms, 6000);
	UNIT_EQ(w.period_sumsq_ms, 1000000ULL + 9000000 + 4000000);
	cad_close(&c);
	return 0;
}

/* |net| of each finished burst into its class; <= 2 is "still". */
static int net_class_boundaries(void)
{
	static const struct {
		int net;
		unsigned int cls;
	} cases[] = { { 0, 0 }, { 2, 1 }, { 3, 2 }, { 16, 2 }, { 17, 3 }, { 128, 3 }, { 129, 4 } };
	const int n = sizeof(cases) / sizeof(cases[0]);
	uint32_t want[GW_CADENCE_NET_CLASSES] = { 0 };
	struct gw_cadence_window w;
	struct cad c;

	UNIT_CHECK(!cad_open(&c, DEFAULT_IDLE_NS), "load");
	for (int i = 0; i <= n; i++) {
		uint64_t t = T0 + i * 2 * SEC;

		/* the net split over both axes, one of them negative */
		int net = i < n ? cases[i].net : 0;

		UNIT_EQ(ev(&c, DEV, EV_REL, REL_X, -(net / 2), t), 1);
		UNIT_EQ(ev(&c, DEV, EV_REL, REL_Y, net - net / 2, t + MS), 1);
		if (i < n)
			want[cases[i].cls]++;
	}
	UNIT_CHECK(!window(&c, 0, 0, &w), "lookup");
	UNIT_EQ(w.bursts_done, n);
	for (int k = 0; k < GW_CADENCE_NET_CLASSES; k++)
		UNIT_CHECK(w.net_class[k] == want[k], "net_class[%d] = %u, want %u", k,
			   w.net_class[k], want[k]);
	UNIT_EQ(w.bursts_still, 2);
	cad_close(&c);
	return 0;
}

/*
 * An absolute pointer (an IP-KVM's tablet) that hops: the first burst ever started nowhere known,
 * a hop is measured from where the burst started, and a burst that ends where the previous one did
 * is "same target".
 */
static int absolute_pointer_hops(void)
{
	struct gw_cadence_window w;
	struct cad c;

	UNIT_CHECK(!cad_open(&c, DEFAULT_IDLE_NS), "load");
	/* burst 1: its first position sets both axes, then it moves to (500, 600) */
	UNIT_EQ(ev(&c, DEV, EV_ABS, ABS_Y, 300, T0), 1);
	UNIT_EQ(peek(&c, DEV), 1);
	UNIT_EQ(c.skel->bss->test_state.abs_x, 300);
	UNIT_EQ(c.skel->bss->test_state.abs_y, 300);
	UNIT_EQ(ev(&c, DEV, EV_ABS, ABS_X, 500, T0 + 10 * MS), 1);
	UNIT_EQ(ev(&c, DEV, EV_ABS, ABS_Y, 600, T0 + 10 * MS), 1);
	/* burst 2: a hop to (900, 100) */
	UNIT_EQ(ev(&c, DEV, EV_ABS, ABS_X, 900, T0 + 2 * SEC), 1);
	UNIT_EQ(ev(&c, DEV, EV_ABS, ABS_Y, 100, T0 + 2 * SEC), 1);
	UNIT_EQ(peek(&c, DEV), 1);
	UNIT_EQ(c.skel->bss->test_state.start_x, 500);
	UNIT_EQ(c.skel->bss->test_state.start_y, 600);
	UNIT_EQ(c.skel->bss->test_state.end_x, 500);
	UNIT_EQ(c.skel->bss->test_state.end_y, 600);
	UNIT_CHECK(!window(&c, 0, 0, &w), "lookup");
	UNIT_EQ(w.bursts, 2);
	UNIT_EQ(w.bursts_done, 0); /* burst 1's start was unknown: not a shape */
	/* burst 3: a wiggle that comes back to (900, 100) */
	UNIT_EQ(ev(&c, DEV, EV_ABS, ABS_X, 910, T0 + 4 * SEC), 1);
	UNIT_EQ(ev(&c, DEV, EV_ABS, ABS_X, 900, T0 + 4 * SEC + 10 * MS), 1);
	UNIT_CHECK(!window(&c, 0, 0, &w), "lookup");
	UNIT_EQ(w.bursts_done, 1);
	UNIT_EQ(w.net_class[4], 1); /* |400| + |-500| */
	UNIT_EQ(w.bursts_same_target, 0);
	UNIT_EQ(w.bursts_still, 0);
	/* burst 4 finishes burst 3, which ended where burst 2 did */
	UNIT_EQ(ev(&c, DEV, EV_ABS, ABS_X, 100, T0 + 6 * SEC), 1);
	UNIT_CHECK(!window(&c, 0, 0, &w), "lookup");
	UNIT_EQ(w.bursts, 4);
	UNIT_EQ(w.bursts_done, 2);
	UNIT_EQ(w.bursts_same_target, 1);
	UNIT_EQ(w.bursts_still, 1);
	UNIT_EQ(w.net_class[0], 1);
	UNIT_EQ(w.abs_events, 8);
	UNIT_EQ(w.rel_events, 0);
	cad_close(&c);
	return 0;
}

static int button_inside_burst_marks_it(void)
{
	struct gw_cadence_window w;
	struct cad c;

	UNIT_CHECK(!cad_open(&c, DEFAULT_IDLE_NS), "load");
	/* burst 1 with a click inside it */
	UNIT_EQ(ev(&c, DEV, EV_REL, REL_X, 5, T0), 1);
	UNIT_EQ(ev(&c, DEV, EV_KEY, BTN_LEFT, 1, T0 + 200 * MS), 3);
	UNIT_EQ(ev(&c, DEV, EV_KEY, BTN_LEFT, 0, T0 + 300 * MS), 3);
	/* burst 2, and a click after it was over */
	UNIT_EQ(ev(&c, DEV, EV_REL, REL_X, 5, T0 + 2 * SEC), 1);
	UNIT_EQ(ev(&c, DEV, EV_KEY, BTN_LEFT, 1, T0 + 2 * SEC + GW_CADENCE_BURST_GAP_NS + 1), 3);
	/* burst 3 finishes burst 2 */
	UNIT_EQ(ev(&c, DEV, EV_REL, REL_X, 5, T0 + 4 * SEC), 1);
	UNIT_CHECK(!window(&c, 0, 0, &w), "lookup");
	UNIT_EQ(w.bursts_done, 2);
	UNIT_EQ(w.bursts_with_buttons, 1);
	UNIT_EQ(w.clicks, 2); /* presses, not releases */
	UNIT_EQ(w.key_down, 0);
	cad_close(&c);
	return 0;
}

static int buttons_wheel_and_keys_told_apart(void)
{
	struct gw_cadence_window w;
	struct cad c;

	UNIT_CHECK(!cad_open(&c, DEFAULT_IDLE_NS), "load");
	UNIT_EQ(ev(&c, DEV, EV_REL, REL_WHEEL, -1, T0), 4);
	UNIT_EQ(ev(&c, DEV, EV_KEY, 0x100, 1, T0 + MS), 3);	/* BTN_MISC: first button */
	UNIT_EQ(ev(&c, DEV, EV_KEY, 0x15f, 1, T0 + 2 * MS), 3);	/* last button */
	UNIT_EQ(ev(&c, DEV, EV_KEY, 0x160, 1, T0 + 3 * MS), 2);	/* past the buttons: a key */
	UNIT_EQ(ev(&c, DEV, EV_KEY, 0xff, 1, T0 + 4 * MS), 2);
	UNIT_CHECK(!window(&c, 0, 0, &w), "lookup");
	UNIT_EQ(w.wheel, 1);
	UNIT_EQ(w.clicks, 2);
	UNIT_EQ(w.key_down, 2);
	UNIT_EQ(w.events, 5);
	UNIT_EQ(w.bursts, 0); /* no motion: no burst */
	cad_close(&c);
	return 0;
}

static int key_hold_interval_and_coalesced(void)
{
	struct gw_cadence_window w;
	struct cad c;

	UNIT_CHECK(!cad_open(&c, DEFAULT_IDLE_NS), "load");
	UNIT_EQ(ev(&c, DEV, EV_KEY, KEY_A, 1, T0), 2);
	UNIT_EQ(ev(&c, DEV, EV_KEY, KEY_A, 2, T0 + 40 * MS), 2);		/* autorepeat */
	UNIT_EQ(ev(&c, DEV, EV_KEY, KEY_A, 0, T0 + 80 * MS), 2);		/* held 80 ms */
	UNIT_EQ(ev(&c, DEV, EV_KEY, KEY_A + 1, 1, T0 + 200 * MS), 2);	/* 200 ms later */
	UNIT_EQ(ev(&c, DEV, EV_KEY, KEY_A + 2, 1, T0 + 201 * MS), 2);	/* 1 ms: coalesced */
	UNIT_EQ(ev(&c, DEV, EV_KEY, KEY_A + 3, 0, T0 + 300 * MS), 2);	/* never pressed */
	UNIT_CHECK(!window(&c, 0, 0, &w), "lookup");
	UNIT_EQ(w.key_down, 3);
	UNIT_EQ(w.key_up, 2);
	UNIT_EQ(w.key_repeat, 1);
	UNIT_EQ(w.keys_coalesced, 1);
	/* buckets are log2 microseconds: 80 ms -> 16, 200 ms -> 17, 1 ms -> 9 */
	UNIT_EQ(hist_sum(w.hold_hist), 1);
	UNIT_EQ(w.hold_hist[16], 1);
	UNIT_EQ(hist_sum(w.key_interval_hist), 2);
	UNIT_EQ(w.key_interval_hist[17], 1);
	UNIT_EQ(w.key_interval_hist[9], 1);
	cad_close(&c);
	return 0;
}

static int held_keys_past_the_slots_are_not_timed(void)
{
	struct gw_cadence_window w;
	struct cad c;

	UNIT_CHECK(!cad_open(&c, DEFAULT_IDLE_NS), "load");
	/* nine keys down at once, 10 ms apart: eight are remembered */
	for (int i = 0; i < 9; i++)
		UNIT_EQ(ev(&c, DEV, EV_KEY, KEY_A + i, 1, T0 + i * 10 * MS), 2);
	for (int i = 0; i < 9; i++)
		UNIT_EQ(ev(&c, DEV, EV_KEY, KEY_A + i, 0, T0 + SEC + i * MS), 2);
	/* a freed slot is used again */
	UNIT_EQ(ev(&c, DEV, EV_KEY, KEY_A, 1, T0 + 2 * SEC), 2);
	UNIT_EQ(ev(&c, DEV, EV_KEY, KEY_A, 0, T0 + 2 * SEC + 2 * MS), 2);
	UNIT_CHECK(!window(&c, 0, 0, &w), "lookup");
	UNIT_EQ(w.key_down, 10);
	UNIT_EQ(w.key_up, 10);
	UNIT_EQ(hist_sum(w.hold_hist), 9);
	UNIT_EQ(w.hold_hist[10], 1); /* 2 ms */
	cad_close(&c);
	return 0;
}

static int devices_get_their_own_slots(void)
{
	struct gw_cadence_window w0, w1;
	struct cad c;

	UNIT_CHECK(!cad_open(&c, DEFAULT_IDLE_NS), "load");
	UNIT_EQ(ev(&c, DEV, EV_KEY, KEY_A, 1, T0), 2);
	UNIT_EQ(ev(&c, DEV + 0x1000, EV_REL, REL_X, 1, T0 + MS), 1);
	UNIT_EQ(ev(&c, DEV, EV_KEY, KEY_A, 0, T0 + 2 * MS), 2);
	UNIT_EQ(peek(&c, DEV + 0x1000), 1);
	UNIT_EQ(c.skel->bss->test_state.slot, 1);
	UNIT_CHECK(!window(&c, 0, 0, &w0) && !window(&c, 1, 0, &w1), "lookup");
	UNIT_EQ(w0.dev, DEV);
	UNIT_EQ(w0.events, 2);
	UNIT_EQ(w0.bursts, 0);
	UNIT_EQ(w1.dev, DEV + 0x1000);
	UNIT_EQ(w1.events, 1);
	UNIT_EQ(w1.bursts, 1);
	UNIT_EQ(c.skel->bss->cadence_next_slot, 2);
	cad_close(&c);
	return 0;
}

/* More devices than slots: the one that wraps onto a held slot is refused and counted. */
static int slot_overflow_counted_as_drop(void)
{
	struct gw_cadence_window w;
	uint64_t drops;
	struct cad c;

	UNIT_CHECK(!cad_open(&c, DEFAULT_IDLE_NS), "load");
	for (uint64_t d = 0; d <= GW_CADENCE_SLOTS; d++)
		UNIT_EQ(ev(&c, DEV + d * 0x1000, EV_KEY, KEY_A, 1, T0 + d * MS), 2);
	UNIT_CHECK(!bpf_unit_percpu_sum(c.drops_fd, GW_DROP_CADENCE_WINDOW, &drops), "drops");
	UNIT_EQ(drops, 1);
	UNIT_CHECK(!window(&c, 0, 0, &w), "lookup");
	UNIT_EQ(w.dev, DEV);
	UNIT_EQ(w.events, 1); /* not mixed in */
	UNIT_CHECK(!bpf_unit_percpu_sum(c.drops_fd, GW_DROP_CADENCE_STATE, &drops), "drops");
	UNIT_EQ(drops, 0);
	cad_close(&c);
	return 0;
}

/* The agent bumps cadence_gen and drains the other half: events go to the new half from then. */
static int generation_switch_fills_other_half(void)
{
	struct gw_cadence_window w0, w1;
	struct cad c;

	UNIT_CHECK(!cad_open(&c, DEFAULT_IDLE_NS), "load");
	UNIT_EQ(ev(&c, DEV, EV_REL, REL_X, 1, T0), 1);
	UNIT_EQ(ev(&c, DEV, EV_REL, REL_X, 1, T0 + 10 * MS), 1);
	c.skel->bss->cadence_gen++;
	UNIT_EQ(ev(&c, DEV, EV_REL, REL_X, 1, T0 + 2 * SEC), 1);
	UNIT_CHECK(!window(&c, 0, 0, &w0) && !window(&c, 0, 1, &w1), "lookup");
	UNIT_EQ(w0.events, 2);
	UNIT_EQ(w0.first_ns, T0);
	UNIT_EQ(w0.last_ns, T0 + 10 * MS);
	UNIT_EQ(w0.bursts, 1);
	UNIT_EQ(w1.events, 1);
	UNIT_EQ(w1.dev, DEV);
	UNIT_EQ(w1.first_ns, T0 + 2 * SEC);
	/* the burst that began in the old window is finished in the new one */
	UNIT_EQ(w1.bursts, 1);
	UNIT_EQ(w1.bursts_done, 1);
	UNIT_EQ(w1.burst_steps, 2);
	UNIT_EQ(w1.period_n, 1);
	c.skel->bss->cadence_gen++;
	UNIT_EQ(ev(&c, DEV, EV_REL, REL_X, 1, T0 + 4 * SEC), 1);
	UNIT_CHECK(!window(&c, 0, 0, &w0), "lookup");
	UNIT_EQ(w0.events, 3); /* the agent zeroes a drained half; here nobody did */
	cad_close(&c);
	return 0;
}

static const struct bpf_unit_case cases[] = {
	{ "ignored_events_leave_no_trace", ignored_events_leave_no_trace },
	{ "first_motion_starts_burst_after_idle", first_motion_starts_burst_after_idle },
	{ "motion_within_gap_continues_burst", motion_within_gap_continues_burst },
	{ "motion_after_gap_ends_burst", motion_after_gap_ends_burst },
	{ "burst_after_idle_time_counts", burst_after_idle_time_counts },
	{ "idle_time_is_the_agents_setting", idle_time_is_the_agents_setting },
	{ "jiggler_periodic_still_bursts", jiggler_periodic_still_bursts },
	{ "burst_periods_min_max_sums", burst_periods_min_max_sums },
	{ "net_class_boundaries", net_class_boundaries },
	{ "absolute_pointer_hops", absolute_pointer_hops },
	{ "button_inside_burst_marks_it", button_inside_burst_marks_it },
	{ "buttons_wheel_and_keys_told_apart", buttons_wheel_and_keys_told_apart },
	{ "key_hold_interval_and_coalesced", key_hold_interval_and_coalesced },
	{ "held_keys_past_the_slots_are_not_timed", held_keys_past_the_slots_are_not_timed },
	{ "devices_get_their_own_slots", devices_get_their_own_slots },
	{ "slot_overflow_counted_as_drop", slot_overflow_counted_as_drop },
	{ "generation_switch_fills_other_half", generation_switch_fills_other_half },
};

int main(int argc, char **argv)
{
	return bpf_unit_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
