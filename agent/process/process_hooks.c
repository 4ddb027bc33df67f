#include "process_hooks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/hook_chain.h"
#include "process.skel.h"

enum { SIG_EXEC, SIG_EXIT, SIG_FORK, SIG_COUNT };

static const char *const tracepoints[SIG_COUNT] = { "sched_process_exec", "sched_process_exit",
						    "sched_process_fork" };

/*
 * Flavours in the order of enum gw_hook_flavour (tp_btf first), per signal. No classic tracepoint:
 * raw_tp (4.17) is on every kernel with a ring buffer, so no supported kernel needs one.
 */
static const char *const exec_btf[] = { "gw_exec_btf", NULL };
static const char *const exec_raw[] = { "gw_exec_raw", NULL };
static const char *const exit_btf[] = { "gw_exit_btf", NULL };
static const char *const exit_raw[] = { "gw_exit_raw", NULL };
static const char *const fork_btf[] = { "gw_fork_btf", NULL };
static const char *const fork_raw[] = { "gw_fork_raw", NULL };

#define NEEDS_BTF "every supported kernel (5.8+ with BTF)"
#define NEEDS_RAW "a kernel that refuses tp_btf programs (RHEL 8 without BPF trampolines)"

static const struct hook_flavour exec_flavours[] = {
	{ "tp_btf", NEEDS_BTF, exec_btf }, { "raw_tp", NEEDS_RAW, exec_raw },
};
static const struct hook_flavour exit_flavours[] = {
	{ "tp_btf", NEEDS_BTF, exit_btf }, { "raw_tp", NEEDS_RAW, exit_raw },
};
static const struct hook_flavour fork_flavours[] = {
	{ "tp_btf", NEEDS_BTF, fork_btf }, { "raw_tp", NEEDS_RAW, fork_raw },
};

struct process_load {
	const struct gw_hook_options *opt;
	struct gw_process *skel;
};

/* hook_chain_open_fn: the object with the chains' current programs and the options applied. */
static struct bpf_object_skeleton *process_open(void *ctx, struct hook_chain *ch, int n)
{
	struct process_load *l = ctx;
	struct bpf_program *prog;

	gw_process__destroy(l->skel);
	l->skel = gw_process__open();
	if (!l->skel)
		return NULL;
	bpf_object__for_each_program(prog, l->skel->obj) {
		bool wanted = false;

		for (int i = 0; i < n && !wanted; i++)
			wanted = hook_chain_wants(&ch[i], bpf_program__name(prog));
		bpf_program__set_autoload(prog, wanted);
	}
	l->skel->rodata->gw_wakeup_bytes = l->opt->wakeup_bytes;
	l->skel->rodata->gw_trace_forks = l->opt->trace_forks;
	if (bpf_map__set_max_entries(l->skel->maps.gw_events, l->opt->ringbuf_bytes)) {
		errno = EINVAL;
		return NULL;
	}
	return l->skel->skeleton;
}

int process_hooks_load(struct gw_hooks *h, const struct gw_hook_options *opt, char *err,
		       size_t err_size)
{
	int first = opt->process_flavour == GW_HOOK_AUTO ? 0 : (int)opt->process_flavour - 1;
	struct hook_chain ch[SIG_COUNT] = {
		[SIG_EXEC] = { "exec", exec_flavours, 2, first, "" },
		[SIG_EXIT] = { "exit", exit_flavours, 2, first, "" },
		[SIG_FORK] = { "fork", fork_flavours, 2, opt->trace_forks ? first : 2, "" },
	};
	struct process_load l = { .opt = opt };
	int ret;

	h->events_fd = h->drops_fd = h->idle_fd = -1;
	h->uid_drops_fd = h->uid_buckets_fd = h->limits_fd = -1;
	ret = hook_chain_load(ch, SIG_COUNT, &h->known, process_open, &l, err, err_size);
	for (int sig = 0; !ret && sig <= SIG_EXIT; sig++) {
		if (!hook_chain_current(&ch[sig])) {
			snprintf(err, err_size, "no hook for %s loads on this kernel (%s)",
				 ch[sig].signal, ch[sig].why);
			ret = -ENOTSUP;
		}
	}
	if (ret) {
		gw_process__destroy(l.skel);
		return ret;
	}
	h->process = l.skel;
	h->process_destroy = gw_process__destroy;
	ret = hooks_take_maps(h, l.skel->obj, opt);
	if (ret) {
		snprintf(err, err_size, "the shared maps: %s", strerror(-ret));
		hooks_close(h);
		return ret;
	}
	for (int sig = 0; sig < SIG_COUNT; sig++) {
		const struct hook_flavour *f = hook_chain_current(&ch[sig]);
		struct bpf_program *p;
		char hook[64];

		if (sig == SIG_FORK && !opt->trace_forks) {
			hooks_set_status(h, ch[sig].signal, "off", "disabled by configuration");
			continue;
		}
		if (!f) {
			hooks_set_status(h, ch[sig].signal, "none",
					 ch[sig].why[0] ? ch[sig].why : "no flavour serves it here");
			continue;
		}
		p = bpf_object__find_program_by_name(l.skel->obj, f->progs[0]);
		ret = p ? hooks_attach(h, p) : -ENOENT;
		if (ret) {
			snprintf(err, err_size, "attaching %s/%s: %s", f->name, tracepoints[sig],
				 strerror(-ret));
			hooks_close(h);
			return ret;
		}
		snprintf(hook, sizeof(hook), "%s/%s", f->name, tracepoints[sig]);
		hooks_set_status(h, ch[sig].signal, hook, ch[sig].why);
	}
	return 0;
}
