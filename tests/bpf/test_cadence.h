/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * test_cadence.h - what test_cadence.bpf.c copies out of a device's kernel-only cadence state for
 * tests/bpf/test_cadence.c to check (shared by both sides, like gw_events.h).
 */
#ifndef GW_TEST_CADENCE_H
#define GW_TEST_CADENCE_H

#ifndef __BPF__
#include <linux/types.h>
#endif

struct cadence_peek {
	__u64 burst_start_ns;
	__u64 last_input_ns;
	__s64 burst_dx, burst_dy;
	__s32 abs_x, abs_y;
	__s32 start_x, start_y;
	__s32 end_x, end_y;
	__u32 burst_steps;
	__u32 slot;
};

#endif /* GW_TEST_CADENCE_H */
