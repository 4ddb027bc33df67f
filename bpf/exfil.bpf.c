// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * exfil.bpf.c - bytes written to each block device, summed in the kernel: one per-CPU counter per
 * disk (dev_t of the whole disk), never a record per request. The agent reads the sums, keeps the
 * disks that are USB mass storage and raises a finding past a threshold (agent/exfil).
 *
 * Flavours, chosen at run time (agent/exfil/exfil_removable.c): tp_btf/block_rq_issue (BTF-typed
 * request, 5.11+ signature with the request alone), else the classic tracepoint, whose record
 * carries the device, the bytes and the rwbs string.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define REQ_OP_MASK_BITS 0xff
#define REQ_OP_WRITE_NR 1
#define MINORBITS 20

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);   /* dev_t as the kernel encodes it: major << 20 | minor */
	__type(value, __u64); /* bytes written since the agent started */
} gw_block_written SEC(".maps");

/* disks not counted: the map was full */
__u64 gw_block_untracked = 0;

static __always_inline void count_write(__u32 dev, __u64 bytes)
{
	static const __u64 zero;
	__u64 *sum;

	if (!bytes)
		return;
	sum = bpf_map_lookup_elem(&gw_block_written, &dev);
	if (!sum) {
		bpf_map_update_elem(&gw_block_written, &dev, &zero, BPF_NOEXIST);
		sum = bpf_map_lookup_elem(&gw_block_written, &dev);
		if (!sum) {
			__sync_fetch_and_add(&gw_block_untracked, 1);
			return;
		}
	}
	*sum += bytes;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(gw_exfil_rq_btf, struct request *rq)
{
	struct gendisk *disk;

	if ((rq->cmd_flags & REQ_OP_MASK_BITS) != REQ_OP_WRITE_NR)
		return 0;
	disk = rq->q->disk;
	if (!disk)
		return 0;
	count_write(((__u32)disk->major << MINORBITS) | (__u32)disk->first_minor, rq->__data_len);
	return 0;
}

SEC("tp/block/block_rq_issue")
int gw_exfil_rq_tp(struct trace_event_raw_block_rq *ctx)
{
	char rwbs[4];

	/* "W", "WS", "FWS", "FWFS": a flush may come first, then the operation */
	__builtin_memcpy(rwbs, ctx->rwbs, sizeof(rwbs));
	if (rwbs[0] != 'W' && !(rwbs[0] == 'F' && rwbs[1] == 'W'))
		return 0;
	count_write(ctx->dev, ctx->bytes);
	return 0;
}
