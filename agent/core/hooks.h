/*
 * hooks.h - what every domain's BPF loader shares: the links it attached, the one ring buffer and
 * drop counters, and the status list of what is live per signal.
 *
 * Kernels differ (this build host refuses fentry and has no kprobes; distro kernels have both), so
 * every signal has an ordered chain of attachment flavours (core/hook_chain.h), tried at run time,
 * never chosen by kernel version. What is live for each signal, and why a better flavour was
 * refused, is recorded as a status list that the agent prints at start and reports in its stats.
 *
 * The process object (process/process_hooks.c) owns the shared maps (gw_bpf_common.h: the ring,
 * the drop counters, the flood limits); other domains' objects reuse them through
 * hooks_share_maps() so the agent drains one ring and reports one set of counters.
 */
#ifndef GW_HOOKS_H
#define GW_HOOKS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <bpf/libbpf.h>

#include "hook_chain.h"

#include "attach_registry.h"
#include "gw_events.h"
#include "ring_audit.h"

enum gw_hook_flavour {
	GW_HOOK_AUTO = 0,
	GW_HOOK_TP_BTF,
	GW_HOOK_RAW_TP,
};

struct gw_hook_options {
	uint32_t ringbuf_bytes;		/* power of two, multiple of the page size */
	uint64_t wakeup_bytes;		/* wake the reader once this much is pending */
	bool trace_forks;
	enum gw_hook_flavour process_flavour; /* AUTO: tp_btf, then raw_tp */
	/* shares of the ring (gw_bpf_common.h): records/s and burst per (uid, category),
	 * applied once the ring is uid_gate_pct full (uid_rate 0 turns it off); the last
	 * reserve_pct of the ring no network capture may fill */
	uint32_t uid_rate;
	uint32_t uid_burst;
	uint32_t uid_gate_pct;
	uint32_t reserve_pct;
};

#define GW_HOOK_STATUS_MAX 32

struct gw_hook_status {
	char signal[24];
	char hook[64];
	char error[384];	/* HOOK_CHAIN_WHY_MAX: a signal's every refusal */
	int rank;		/* the domain that set it, in registration order */
};

struct gw_process;

#define GW_HOOK_LINKS_MAX 32

struct gw_hooks {
	struct gw_process *process;	/* the process skeleton (process/process_hooks.c) */
	void (*process_destroy)(struct gw_process *process);
	struct ring_buffer *ring;
	struct bpf_link *links[GW_HOOK_LINKS_MAX];
	int n_links;
	int events_fd;
	int drops_fd;
	int idle_fd;	/* gw_reader_idle (gw_bpf_common.h) */
	int uid_drops_fd;
	int uid_buckets_fd;
	int limits_fd;
	struct gw_hook_status status[GW_HOOK_STATUS_MAX];
	int n_status;
	struct hook_chain_known known;	/* what every domain's chains learnt the kernel refuses */
	struct gw_attach_registry attached; /* every domain's links, by kernel id */
	/*
	 * A domain's object may load on the loader thread while other domains start (agent.h,
	 * load): what they share here (status, links, the registry, what the chains learnt) is
	 * taken under this lock. rank is the domain starting on the calling thread.
	 */
	pthread_mutex_t lock;
	pthread_t loader;
	bool loading;
	int rank, loader_rank;
	struct gw_ring_audit audit;	/* who else reads the ring, what rewrote the limits */
};

/* Attaches `prog`, keeping the link so hooks_close() detaches it; 0 or -errno. */
int hooks_attach(struct gw_hooks *h, struct bpf_program *prog);

/* Mounts tracefs when it is missing: classic tracepoints are resolved through it. Returns 0 when
 * it is (now) available; `mounted` says whether this call mounted it. */
int hooks_ensure_tracefs(bool *mounted);

/*
 * Whether kprobes can be attached here (the kprobe PMU or tracefs kprobe_events exists): a kernel
 * built without them refuses only at attach, after a load that costs a parse of its BTF.
 */
bool hooks_have_kprobes(void);

/* After loading the process object: keep the fds of the maps every object shares, and write the
 * flood limits. 0 or -errno. */
int hooks_take_maps(struct gw_hooks *h, struct bpf_object *obj, const struct gw_hook_options *opt);

/* Before loading another domain's object: make it use the shared maps (gw_bpf_common.h). */
int hooks_share_maps(const struct gw_hooks *h, struct bpf_object *obj);

/* Opens the reader of the shared ring and the audit of who else consumes it (ring_audit.h); the
 * reader calls ring_audit_saw() for every record. */
int hooks_open_ring(struct gw_hooks *h, ring_buffer_sample_fn on_record, void *ctx);

/*
 * Runs the kernel skipped, summed over every BPF program this process holds (read through its
 * program fds, found in /proc/self/fdinfo, so every domain's are counted, with no capability). A
 * tracing program that fires again on a CPU where it is already running is not run at all: that
 * lost event is a drop like any other, and only the kernel counts it (recursion_misses, 5.12+).
 */
uint64_t hooks_recursion_misses(uint32_t *programs);

/* Sums the per-CPU drop counters. */
int hooks_read_drops(const struct gw_hooks *h, uint64_t out[GW_DROP_CATEGORY_MAX]);

struct gw_uid_drop {
	uint32_t uid;
	uint32_t category;	/* enum gw_drop_category */
	uint64_t value;
};

/*
 * Drops charged to uids (gw_uid_drops), the `per_category` largest of each category, ordered by
 * category then value; returns how many it wrote to out (at most max).
 */
size_t hooks_read_uid_drops(const struct gw_hooks *h, size_t per_category, struct gw_uid_drop *out,
			    size_t max);

void hooks_set_status(struct gw_hooks *h, const char *signal, const char *hook, const char *error);

/* Once every domain has started: the status list in registration order of the domains that set
 * it, whichever thread finished first. */
void hooks_sort_status(struct gw_hooks *h);

/* Before any domain starts: the lock, and the chains' and the registry's use of it. */
void hooks_init(struct gw_hooks *h);

void hooks_close(struct gw_hooks *h);

#endif
