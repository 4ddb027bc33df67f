/*
 * process_hooks.h - loading and attaching the process BPF object (bpf/process.bpf.c): exec, exit
 * and fork, each through the first flavour of its chain the kernel accepts (core/hook_chain.h).
 *
 * Chains (every one tried in this order unless --hooks forces where it starts):
 *   exec, exit, fork: tp_btf/sched_process_*, then raw_tp/sched_process_*
 * The process object owns the ring buffer and drop counters every other object shares.
 */
#ifndef GW_PROCESS_HOOKS_H
#define GW_PROCESS_HOOKS_H

#include <stddef.h>

#include "core/hooks.h"

/* Loads and attaches the process programs into `h`; 0, or -errno with a message in err. */
int process_hooks_load(struct gw_hooks *h, const struct gw_hook_options *opt, char *err,
		       size_t err_size);

#endif
