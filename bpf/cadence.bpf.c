// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * cadence.bpf.c - how input arrives, per input device and window, without what was typed: the
 * hooks over the cadence machine (bpf/lib/cadence.h).
 *
 * Every key, button and pointer event of every input device passes input_handle_event(dev, type,
 * code, value) (input_event() and input_inject_event() both call it, with dev->event_lock held, so
 * the events of one device are serialised and the per-device values need no atomics). The agent
 * chooses the flavour at run time: fentry, else kprobe, on input_handle_event, else on input_event
 * (a kernel that inlined input_handle_event; evdev writes through input_inject_event are then
 * missed).
 */
#include "lib/cadence.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("fentry/input_handle_event")
int BPF_PROG(gw_cadence_fentry, struct input_dev *dev, unsigned int type, unsigned int code,
	     int value)
{
	cadence_on_input(dev, type, code, value);
	return 0;
}

/* Attached by the agent to input_handle_event or input_event (no auto-attach). */
SEC("kprobe")
int BPF_KPROBE(gw_cadence_kprobe, struct input_dev *dev, unsigned int type, unsigned int code,
	       int value)
{
	cadence_on_input(dev, type, code, value);
	return 0;
}

/*
 * Benchmark entry points (bench/cadence_cost.c), never attached: BPF_PROG_TEST_RUN runs them with
 * synthetic (dev, type, code, value) arguments, so the per-event cost can be measured natively on a
 * kernel that refuses fentry and has no input devices, against the empty program as the baseline.
 */
SEC("raw_tp")
int gw_cadence_bench(struct bpf_raw_tracepoint_args *ctx)
{
	cadence_on_input((struct input_dev *)ctx->args[0], ctx->args[1], ctx->args[2],
			 (int)ctx->args[3]);
	return 0;
}

SEC("raw_tp")
int gw_cadence_bench_empty(struct bpf_raw_tracepoint_args *ctx)
{
	(void)ctx;
	return 0;
}
