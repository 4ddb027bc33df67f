// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_cadence.bpf.c - the cadence machine (bpf/lib/cadence.h) driven by tests/bpf/test_cadence.c:
 * one input event per run, at a time the runner chooses, and a copy of a device's kernel-only state
 * for the runner to check transitions against.
 */
#include "lib/cadence.h"
#include "test_cadence.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* args: dev, type, code, value, now (boot ns). Returns the event's kind (0: not looked at). */
SEC("raw_tp")
int cadence_test_event(struct bpf_raw_tracepoint_args *ctx)
{
	enum cadence_kind kind = cadence_kind(ctx->args[1], ctx->args[2]);

	if (kind != CADENCE_IGNORED)
		cadence_count((struct input_dev *)ctx->args[0], kind, ctx->args[1], ctx->args[2],
			      (int)ctx->args[3], ctx->args[4]);
	return kind;
}

/* What cadence_test_peek found: the part of the state the agent itself can never read. */
struct cadence_peek test_state;

/* args: dev. Returns 1 and fills test_state when the device has state. */
SEC("raw_tp")
int cadence_test_peek(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 key = ctx->args[0];
	struct cadence_state *s = bpf_map_lookup_elem(&cadence_state, &key);

	if (!s)
		return 0;
	test_state.burst_start_ns = s->burst_start_ns;
	test_state.last_input_ns = s->last_input_ns;
	test_state.burst_dx = s->burst_dx;
	test_state.burst_dy = s->burst_dy;
	test_state.abs_x = s->abs_x;
	test_state.abs_y = s->abs_y;
	test_state.start_x = s->start_x;
	test_state.start_y = s->start_y;
	test_state.end_x = s->end_x;
	test_state.end_y = s->end_y;
	test_state.burst_steps = s->burst_steps;
	test_state.slot = s->slot;
	return 1;
}
