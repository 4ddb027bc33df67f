/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * gw_bpf_common.h - what every ghostwatch BPF program shares: the one ring buffer, the per-CPU drop
 * counters, and the emit discipline.
 *
 * Each bpf/ *.bpf.c is its own object and skeleton; the agent loads the process object first and
 * hands its gw_events and gw_drops fds to the others (bpf_map__reuse_fd) so there is one ring to
 * drain and one set of counters to report.
 *
 * Emit discipline: a submit that wakes the reader costs ~55x one that does not on a VM (the wakeup
 * traps out), so records go in with BPF_RB_NO_WAKEUP and the reader is woken only once
 * gw_wakeup_bytes are pending, or for the first record after the reader went idle: while records
 * flow the agent drains on a short timer, which bounds latency; when a drain finds the ring empty
 * it sets gw_reader_idle and sleeps on a long timer, so an idle host wakes it about once a second.
 */
#ifndef GW_BPF_COMMON_H
#define GW_BPF_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "gw_events.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* the agent resizes it before load */
} gw_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GW_DROP_CATEGORY_MAX);
	__type(key, __u32);
	__type(value, __u64);
} gw_drops SEC(".maps");

/* [0]: nonzero while the reader is idle. The agent sets it; the first record after clears it and
 * wakes the reader (two CPUs may both wake it: harmless). The agent shares it across objects. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} gw_reader_idle SEC(".maps");

/* Set by the agent before load. */
const volatile __u64 gw_wakeup_bytes = 256 << 10;

static __always_inline void gw_count_drop(__u32 category)
{
	__u64 *n = bpf_map_lookup_elem(&gw_drops, &category);

	if (n)
		*n += 1; /* per-CPU slot: no atomics needed */
}

static __always_inline __u64 gw_submit_flags(void)
{
	__u32 zero = 0;
	__u32 *idle = bpf_map_lookup_elem(&gw_reader_idle, &zero);

	if (idle && *idle) {
		*idle = 0;
		return BPF_RB_FORCE_WAKEUP;
	}
	if (bpf_ringbuf_query(&gw_events, BPF_RB_AVAIL_DATA) >= gw_wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/* Reserve a fixed-size record; a failure is counted as a drop of `category`. */
static __always_inline void *gw_reserve(__u64 size, __u32 category)
{
	void *rec = bpf_ringbuf_reserve(&gw_events, size, 0);

	if (!rec)
		gw_count_drop(category);
	return rec;
}

static __always_inline void gw_submit(void *rec)
{
	bpf_ringbuf_submit(rec, gw_submit_flags());
}

/* Copy a variable-size record built in scratch memory; a failure is counted as a drop. */
static __always_inline void gw_output(void *rec, __u64 size, __u32 category)
{
	if (bpf_ringbuf_output(&gw_events, rec, size, gw_submit_flags()))
		gw_count_drop(category);
}

static __always_inline void gw_fill_hdr(struct gw_event_hdr *hdr, __u16 type, __u16 size)
{
	hdr->type = type;
	hdr->size = size;
	hdr->cpu = bpf_get_smp_processor_id();
	hdr->ktime_ns = bpf_ktime_get_boot_ns();
}

/* Kernels before 5.5 call start_boottime real_start_time. */
struct task_struct___pre55 {
	__u64 real_start_time;
} __attribute__((preserve_access_index));

static __always_inline __u64 gw_task_start_boottime(struct task_struct *task)
{
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);

	if (bpf_core_field_exists(leader->start_boottime))
		return BPF_CORE_READ(leader, start_boottime);
	return BPF_CORE_READ((struct task_struct___pre55 *)leader, real_start_time);
}

/* Who `task` is, for any record that names a process (the agent keys its table on these). */
static __always_inline void gw_fill_task_ids(struct task_struct *task, struct gw_task_ids *ids)
{
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);

	ids->pid = BPF_CORE_READ(task, tgid);
	ids->tid = BPF_CORE_READ(task, pid);
	ids->ppid = BPF_CORE_READ(parent, tgid);
	ids->uid = BPF_CORE_READ(task, cred, uid.val);
	ids->gid = BPF_CORE_READ(task, cred, gid.val);
	ids->auid = (__u32)-1;
	if (bpf_core_field_exists(task->loginuid))
		ids->auid = BPF_CORE_READ(task, loginuid.val);
	ids->session_id = (__u32)-1;
	if (bpf_core_field_exists(task->sessionid))
		ids->session_id = BPF_CORE_READ(task, sessionid);
	ids->pad = 0;
	ids->start_boottime_ns = gw_task_start_boottime(task);
	ids->parent_start_boottime_ns = gw_task_start_boottime(parent);
	ids->cgroup_id = bpf_get_current_cgroup_id();
	BPF_CORE_READ_STR_INTO(&ids->comm, task, comm);
}

#endif /* GW_BPF_COMMON_H */
