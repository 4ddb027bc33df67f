/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * gw_bpf_common.h - what every ghostwatch BPF program shares: the one ring buffer, the drop
 * counters (per CPU by category, and by uid), the flood limits, and the emit discipline.
 *
 * Each bpf/ *.bpf.c is its own object and skeleton; the agent loads the process object first and
 * hands its shared maps (every gw_* map below) to the others (bpf_map__reuse_fd) so there is one
 * ring to drain and one set of counters to report.
 *
 * One ring keeps the order the agent relies on (a process's exec before its connections, a
 * socket's close before its owner's exit), so floods are kept apart by shares of it instead:
 * - the high-volume captures (connections, UDP, DNS, first bytes), which any user can make by the
 *   ten thousand a second, may not fill the last reserve_pct of the ring: that space is exec, exit,
 *   fork, device, tunnel and cadence records' alone;
 * - once the ring is gate_pct full, each (uid, category) of the captures and of exec, exit, fork
 *   and tunnel-open records is held to a token bucket (gw_limits: rate, burst), so the flooding uid
 *   loses its surplus and everyone else's records still fit. Below the gate nothing is limited (a
 *   busy but healthy host loses nothing); device and cadence records, which no user makes at
 *   will, are never limited.
 * Drops are counted per category (gw_drops) and per (uid, category) (gw_uid_drops).
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

/* Drops by (uid, category) of the limited categories; an LRU, so a uid-spraying flood forgets its
 * oldest uids rather than failing to count (gw_drops still has every drop). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct gw_uid_key);
	__type(value, __u64);
} gw_uid_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct gw_uid_key);
	__type(value, struct gw_uid_bucket);
} gw_uid_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gw_limits);
} gw_limits SEC(".maps");

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

/* The high-volume captures: kept out of the ring's reserve. */
static __always_inline bool gw_bulk_category(__u32 category)
{
	return category == GW_DROP_TCP || category == GW_DROP_UDP || category == GW_DROP_DNS ||
	       category == GW_DROP_PROTO;
}

/* A global function (verified once per program, not at each of its many call sites): the
 * limits added to every capture path made the network object's load markedly slower. */
__noinline int gw_count_drop_uid(__u32 category, __u32 uid)
{
	struct gw_uid_key k = { .uid = uid, .category = category };
	__u64 one = 1, *n;

	gw_count_drop(category);
	n = bpf_map_lookup_elem(&gw_uid_drops, &k);
	if (n)
		__sync_fetch_and_add(n, 1);
	else if (bpf_map_update_elem(&gw_uid_drops, &k, &one, BPF_NOEXIST) &&
		 (n = bpf_map_lookup_elem(&gw_uid_drops, &k)))
		__sync_fetch_and_add(n, 1); /* another CPU added it first */
	return 0;
}

#define GW_RECORD_CREDIT 1000000000ULL
#define GW_REFILL_MAX_NS (1ULL << 36) /* ~69 s: bounds elapsed * rate below 2^63 for rate < 2^26 */

/*
 * Whether `uid` may add a record of `category` now: a capture never into the reserve; below the
 * gate, always; past it, within a token bucket per (uid, category). Two CPUs updating one bucket
 * may lose an update (a record more or less admitted), and the reserve holds within a record: the
 * shares are bounds on floods, not exact quotas.
 */
__noinline int gw_admit(__u32 category, __u32 uid)
{
	struct gw_uid_key k = { .uid = uid, .category = category };
	struct gw_uid_bucket *b, fresh;
	__u32 zero = 0;
	struct gw_limits *l = bpf_map_lookup_elem(&gw_limits, &zero);
	__u64 now, elapsed, credit, cap, pending, size;

	if (!l)
		return true;
	pending = bpf_ringbuf_query(&gw_events, BPF_RB_AVAIL_DATA) * 100;
	size = bpf_ringbuf_query(&gw_events, BPF_RB_RING_SIZE);
	if (gw_bulk_category(category) && l->reserve_pct < 100 &&
	    pending >= size * (100 - l->reserve_pct))
		return false;
	if (!l->rate || pending < size * l->gate_pct)
		return true;
	now = bpf_ktime_get_ns();
	cap = (__u64)l->burst * GW_RECORD_CREDIT;
	b = bpf_map_lookup_elem(&gw_uid_buckets, &k);
	if (!b) {
		fresh.credit = cap > GW_RECORD_CREDIT ? cap - GW_RECORD_CREDIT : 0;
		fresh.last_ns = now;
		bpf_map_update_elem(&gw_uid_buckets, &k, &fresh, BPF_ANY);
		return true;
	}
	elapsed = now > b->last_ns ? now - b->last_ns : 0;
	if (elapsed > GW_REFILL_MAX_NS)
		elapsed = GW_REFILL_MAX_NS;
	credit = b->credit + elapsed * l->rate;
	if (credit > cap)
		credit = cap;
	b->last_ns = now;
	if (credit < GW_RECORD_CREDIT) {
		b->credit = credit;
		return false;
	}
	b->credit = credit - GW_RECORD_CREDIT;
	return true;
}

/* Reserve a fixed-size record; a failure is counted as a drop of `category`. Categories that are
 * not limited (devices, cadence) only. */
static __always_inline void *gw_reserve(__u64 size, __u32 category)
{
	void *rec = bpf_ringbuf_reserve(&gw_events, size, 0);

	if (!rec)
		gw_count_drop(category);
	return rec;
}

/* Reserve a record `uid` makes, within its share; a refusal or failure counts under the uid. */
static __always_inline void *gw_reserve_uid(__u64 size, __u32 category, __u32 uid)
{
	void *rec = NULL;

	if (gw_admit(category, uid))
		rec = bpf_ringbuf_reserve(&gw_events, size, 0);
	if (!rec)
		gw_count_drop_uid(category, uid);
	return rec;
}

static __always_inline void gw_submit(void *rec)
{
	bpf_ringbuf_submit(rec, gw_submit_flags());
}

/* Copy a variable-size record built in scratch memory, made by `uid`, within its share; a refusal
 * or failure counts under the uid. */
static __always_inline void gw_output_uid(void *rec, __u64 size, __u32 category, __u32 uid)
{
	if (!gw_admit(category, uid) ||
	    bpf_ringbuf_output(&gw_events, rec, size, gw_submit_flags()))
		gw_count_drop_uid(category, uid);
}

/* The current task's real uid, for records made in its context. */
static __always_inline __u32 gw_current_uid(void)
{
	return (__u32)bpf_get_current_uid_gid();
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
