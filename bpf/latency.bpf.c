// SPDX-License-Identifier: GPL-2.0
/*
 * latency.bpf.c - the latency object's one program: the walk of open TCP connections that reads
 * the live RTT of the ones the agent watches (bpf/lib/latency.h). It shares no map with the other
 * objects: its output goes to the reader of the iterator, not the ring.
 */
#include "lib/latency.h"

char LICENSE[] SEC("license") = "GPL";

SEC("iter/tcp")
int gw_latency_walk(struct bpf_iter__tcp *ctx)
{
	return latency_sample(ctx);
}
