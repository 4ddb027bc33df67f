// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_share.c - the shares of the ring of bpf/gw_bpf_common.h as units: records of one category
 * and uid go through BPF_PROG_TEST_RUN into test_share.bpf.c, and each case checks how many the
 * ring took and which uid the drops were charged to.
 *
 * Each case loads its own object with a 16 KiB ring (fifteen 1 KiB records, each with the ring's
 * 8-byte header), so the ring, the buckets and the counters start empty.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_unit.h"
#include "test_share.h"
#include "test_share.skel.h"

#define RING_BYTES (16u << 10)
#define FLOODER 1000
#define OTHER 0

static int open_share(struct test_share **skel, uint32_t rate, uint32_t burst, uint32_t gate,
		      uint32_t reserve)
{
	struct gw_limits lim = {
		.rate = rate, .burst = burst, .gate_pct = gate, .reserve_pct = reserve,
	};
	uint32_t zero = 0;

	*skel = test_share__open();
	if (!*skel) {
		fprintf(stderr, "open: %s\n", strerror(errno));
		return -1;
	}
	bpf_map__set_max_entries((*skel)->maps.gw_events, RING_BYTES);
	if (test_share__load(*skel)) {
		fprintf(stderr, "load: %s\n", strerror(errno));
		return -1;
	}
	return bpf_map_update_elem(bpf_map__fd((*skel)->maps.gw_limits), &zero, &lim, BPF_ANY);
}

/* Makes `tries` records as `uid` with `prog`; how many the ring took, -1 on error. */
static int make(struct test_share *s, struct bpf_program *prog, uint32_t uid, uint32_t tries)
{
	s->bss->share_io.uid = uid;
	s->bss->share_io.tries = tries;
	if (bpf_unit_run(bpf_program__fd(prog), NULL, 0, NULL))
		return -1;
	return (int)s->bss->share_io.admitted;
}

static uint64_t charged(struct test_share *s, uint32_t uid, uint32_t category)
{
	struct gw_uid_key k = { .uid = uid, .category = category };
	uint64_t v = 0;

	bpf_map_lookup_elem(bpf_map__fd(s->maps.gw_uid_drops), &k, &v);
	return v;
}

static uint64_t dropped(struct test_share *s, uint32_t category)
{
	uint64_t v = 0;

	bpf_unit_percpu_sum(bpf_map__fd(s->maps.gw_drops), category, &v);
	return v;
}

/* Without a share the first uid takes the whole ring: what the share is for. */
static int no_share_flood_takes_the_ring(void)
{
	struct test_share *s;

	UNIT_CHECK(!open_share(&s, 0, 1, 0, 0), "open");
	UNIT_EQ(make(s, s->progs.share_test_dns, FLOODER, 40), 15);
	UNIT_EQ(make(s, s->progs.share_test_exec, OTHER, 4), 0);
	UNIT_EQ(charged(s, FLOODER, GW_DROP_DNS), 25);
	UNIT_EQ(charged(s, OTHER, GW_DROP_EXEC), 4);
	UNIT_EQ(dropped(s, GW_DROP_DNS), 25);
	test_share__destroy(s);
	return 0;
}

/*
 * Rate 1/s, burst 4, gate 25%: the flooder fills the ring freely to the gate (4 KiB: four
 * records, the fourth crossing it), then gets its burst of four and nothing more; another uid,
 * its own bucket full, still gets its four into the space left.
 */
static int share_holds_the_flooder_past_the_gate(void)
{
	struct test_share *s;

	UNIT_CHECK(!open_share(&s, 1, 4, 25, 0), "open");
	UNIT_EQ(make(s, s->progs.share_test_dns, FLOODER, 40), 8);
	UNIT_EQ(charged(s, FLOODER, GW_DROP_DNS), 32);
	UNIT_EQ(make(s, s->progs.share_test_dns, OTHER, 4), 4);
	UNIT_EQ(charged(s, OTHER, GW_DROP_DNS), 0);
	UNIT_EQ(dropped(s, GW_DROP_DNS), 32);
	test_share__destroy(s);
	return 0;
}

/*
 * Reserve 25%, no per-uid share: captures stop once the ring is three quarters full (the twelfth
 * record crosses it: 11 * 1032 < 12288 <= 12 * 1032), and execs still get the rest.
 */
static int captures_leave_the_reserve_to_execs(void)
{
	struct test_share *s;

	UNIT_CHECK(!open_share(&s, 0, 1, 0, 25), "open");
	UNIT_EQ(make(s, s->progs.share_test_dns, FLOODER, 40), 12);
	UNIT_EQ(charged(s, FLOODER, GW_DROP_DNS), 28);
	UNIT_EQ(make(s, s->progs.share_test_exec, OTHER, 3), 3);
	UNIT_EQ(dropped(s, GW_DROP_EXEC), 0);
	test_share__destroy(s);
	return 0;
}

/* Rate 1000/s, burst 1, no gate: one record, none within the same run, one again 5 ms later. */
static int bucket_refills_with_time(void)
{
	struct timespec ms5 = { 0, 5000000 };
	struct test_share *s;

	UNIT_CHECK(!open_share(&s, 1000, 1, 0, 0), "open");
	UNIT_EQ(make(s, s->progs.share_test_exec, FLOODER, 3), 1);
	nanosleep(&ms5, NULL);
	UNIT_EQ(make(s, s->progs.share_test_exec, FLOODER, 1), 1);
	UNIT_EQ(charged(s, FLOODER, GW_DROP_EXEC), 2);
	UNIT_EQ(dropped(s, GW_DROP_EXEC), 2);
	test_share__destroy(s);
	return 0;
}

static const struct bpf_unit_case cases[] = {
	{ "no_share_flood_takes_the_ring", no_share_flood_takes_the_ring },
	{ "share_holds_the_flooder_past_the_gate", share_holds_the_flooder_past_the_gate },
	{ "captures_leave_the_reserve_to_execs", captures_leave_the_reserve_to_execs },
	{ "bucket_refills_with_time", bucket_refills_with_time },
};

int main(int argc, char **argv)
{
	return bpf_unit_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
