#include "cadence_hooks.h"

#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cadence.skel.h"

struct flavour {
	bool fentry;
	const char *func;
};

/* input_handle_event sees every path (input_event and input_inject_event); input_event is the
 * exported entry kept for kernels that inline the former. */
static const struct flavour chain[] = {
	{ true, "input_handle_event" },
	{ true, "input_event" },
	{ false, "input_handle_event" },
	{ false, "input_event" },
};

/* "EPERM": the status line has room for four refusals only when they are this short */
static const char *errno_name(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : strerror(err);
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static int try_flavour(struct cadence_hooks *ch, const struct gw_hooks *h,
		       const struct gw_hook_options *opt, uint64_t idle_ns,
		       const struct flavour *f, const char **step)
{
	struct gw_cadence *skel;
	struct bpf_program *prog;
	int err;

	*step = "open";
	skel = gw_cadence__open();
	if (!skel)
		return -errno;
	prog = f->fentry ? skel->progs.gw_cadence_fentry : skel->progs.gw_cadence_kprobe;
	bpf_program__set_autoload(f->fentry ? skel->progs.gw_cadence_kprobe :
					      skel->progs.gw_cadence_fentry, false);
	bpf_program__set_autoload(skel->progs.gw_cadence_bench, false);
	bpf_program__set_autoload(skel->progs.gw_cadence_bench_empty, false);
	skel->rodata->gw_wakeup_bytes = opt->wakeup_bytes;
	skel->rodata->cadence_idle_ns = idle_ns;
	err = hooks_share_maps(h, skel->maps.gw_events, skel->maps.gw_drops,
			       skel->maps.gw_reader_idle);
	if (!err && f->fentry)
		err = bpf_program__set_attach_target(prog, 0, f->func);
	if (!err) {
		*step = "load";
		err = gw_cadence__load(skel);
	}
	if (!err) {
		*step = "attach";
		ch->link = f->fentry ? bpf_program__attach(prog) :
				       bpf_program__attach_kprobe(prog, false, f->func);
		if (!ch->link)
			err = -errno;
	}
	if (err) {
		gw_cadence__destroy(skel);
		return err < 0 ? err : -err;
	}
	ch->skel = skel;
	return 0;
}

void cadence_hooks_load(struct cadence_hooks *ch, const struct gw_hooks *h,
			const struct gw_hook_options *opt, uint64_t idle_ns,
			enum cadence_hook_mode mode)
{
	bool verbose = getenv("GW_BPF_VERBOSE") != NULL;
	libbpf_print_fn_t old = verbose ? NULL : libbpf_set_print(silent_print);
	bool have_kprobes = hooks_have_kprobes(), fentry_eperm = false;
	size_t used = 0;

	memset(ch, 0, sizeof(*ch));
	snprintf(ch->live, sizeof(ch->live), "none");
	if (mode == CADENCE_HOOKS_OFF) {
		snprintf(ch->why, sizeof(ch->why), "disabled by configuration");
		goto out;
	}
	if (h->events_fd < 0) {
		snprintf(ch->why, sizeof(ch->why), "no shared ring buffer");
		goto out;
	}
	for (size_t i = 0; i < sizeof(chain) / sizeof(chain[0]); i++) {
		const char *step = "load";
		int err;

		if ((mode == CADENCE_HOOKS_FENTRY && !chain[i].fentry) ||
		    (mode == CADENCE_HOOKS_KPROBE && chain[i].fentry))
			continue;
		/*
		 * Refusals known without a load (each load parses the kernel's BTF): no kprobes in
		 * this kernel, or fentry refused as a program type (EPERM), not for its target
		 */
		if (!chain[i].fentry && !have_kprobes) {
			step = "attach";
			err = -EOPNOTSUPP;
		} else if (chain[i].fentry && fentry_eperm) {
			err = -EPERM;
		} else {
			err = try_flavour(ch, h, opt, idle_ns, &chain[i], &step);
		}
		if (chain[i].fentry && err == -EPERM && !strcmp(step, "load"))
			fentry_eperm = true;
		if (!err) {
			snprintf(ch->live, sizeof(ch->live), "%s/%s",
				 chain[i].fentry ? "fentry" : "kprobe", chain[i].func);
			break;
		}
		if (used < sizeof(ch->why))
			used += (size_t)snprintf(ch->why + used, sizeof(ch->why) - used,
						 "%s%s/%s: %s %s", used ? "; " : "",
						 chain[i].fentry ? "fentry" : "kprobe", chain[i].func,
						 step, errno_name(-err));
	}
out:
	if (!verbose)
		libbpf_set_print(old);
	malloc_trim(0); /* the loads' BTF parses: see hook_chain_load() */
}

bool cadence_hooks_live(const struct cadence_hooks *ch)
{
	return ch->skel != NULL;
}

int cadence_hooks_drain(struct cadence_hooks *ch, uint64_t now_boot_ns,
			void (*fn)(const struct gw_cadence_record *rec, void *ctx), void *ctx)
{
	static const struct gw_cadence_window empty;
	struct gw_cadence_record rec;
	uint32_t old;
	int fd, n = 0;

	if (!ch->skel)
		return 0;
	fd = bpf_map__fd(ch->skel->maps.cadence_windows);
	/* the kernel fills the other half from now on; this half is a finished window */
	old = ch->skel->bss->cadence_gen++;
	for (uint32_t slot = 0; slot < GW_CADENCE_SLOTS; slot++) {
		uint32_t idx = slot * 2 + (old & 1);

		memset(&rec, 0, sizeof(rec));
		if (bpf_map_lookup_elem(fd, &idx, &rec.w)) {
			ch->read_errors++;
			continue;
		}
		if (!rec.w.first_ns)
			continue;
		if (bpf_map_update_elem(fd, &idx, &empty, BPF_ANY))
			ch->read_errors++;
		rec.hdr.type = GW_EV_CADENCE_WINDOW;
		rec.hdr.size = sizeof(rec);
		rec.hdr.ktime_ns = rec.w.last_ns ? rec.w.last_ns : now_boot_ns;
		rec.dev = rec.w.dev;
		rec.w.name[sizeof(rec.w.name) - 1] = 0;
		fn(&rec, ctx);
		ch->drained++;
		n++;
	}
	return n;
}

int cadence_hooks_prog_stats(const struct cadence_hooks *ch, uint64_t *run_ns, uint64_t *run_cnt)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	const struct bpf_program *prog;

	*run_ns = *run_cnt = 0;
	if (!ch->skel)
		return -ENOENT;
	prog = bpf_program__autoload(ch->skel->progs.gw_cadence_fentry) ?
		       ch->skel->progs.gw_cadence_fentry : ch->skel->progs.gw_cadence_kprobe;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
		return -errno;
	*run_ns = info.run_time_ns;
	*run_cnt = info.run_cnt;
	return 0;
}

void cadence_hooks_close(struct cadence_hooks *ch)
{
	bpf_link__destroy(ch->link);
	ch->link = NULL;
	gw_cadence__destroy(ch->skel);
	ch->skel = NULL;
}
