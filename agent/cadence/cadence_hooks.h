/*
 * cadence_hooks.h - loading the input cadence BPF program (bpf/cadence.bpf.c) with its flavour
 * chain (core/hook_chain), and draining its per-device window map.
 *
 * Chain: fentry/input_handle_event, fentry/input_event, kprobe/input_handle_event,
 * kprobe/input_event. The first that loads and attaches is live; when none does (this build host:
 * fentry refused, no kprobes) the cadence signal is unavailable and the refusals are kept for the
 * hook status. The program shares the process object's ring buffer and drop counters.
 *
 * Draining flips the half of the window array the kernel fills, then reads and zeroes every used
 * slot of the other half: one record per device that had input in the window.
 */
#ifndef GW_CADENCE_HOOKS_H
#define GW_CADENCE_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#include "gw_events.h"
#include "core/hook_chain.h"
#include "core/hooks.h"

struct gw_cadence;
struct bpf_link;

struct cadence_hooks {
	struct gw_cadence *skel;
	struct bpf_link *link;
	char live[64];		/* "fentry/input_handle_event", or "none" */
	char why[HOOK_CHAIN_WHY_MAX];	/* why better flavours were refused */
	uint64_t drained, read_errors;
};

/* Which flavours to try: the whole chain, or only fentry or only kprobe ones (testing). */
enum cadence_hook_mode {
	CADENCE_HOOKS_AUTO = 0,
	CADENCE_HOOKS_FENTRY,
	CADENCE_HOOKS_KPROBE,
	CADENCE_HOOKS_OFF,
};

/* Tries the chain; never fails as a whole (cadence is then unavailable, with the reason). */
void cadence_hooks_load(struct cadence_hooks *ch, struct gw_hooks *h,
			const struct gw_hook_options *opt, uint64_t idle_ns,
			enum cadence_hook_mode mode);
bool cadence_hooks_live(const struct cadence_hooks *ch);

/* Flips the window and calls `fn` with a record per device of the finished window. */
int cadence_hooks_drain(struct cadence_hooks *ch, uint64_t now_boot_ns,
			void (*fn)(const struct gw_cadence_record *rec, void *ctx), void *ctx);

/* Cumulative (run_time_ns, run_cnt) of the live program; needs kernel.bpf_stats_enabled. */
int cadence_hooks_prog_stats(const struct cadence_hooks *ch, uint64_t *run_ns, uint64_t *run_cnt);

void cadence_hooks_close(struct cadence_hooks *ch);

#endif
