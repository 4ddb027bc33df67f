#include "cadence_hooks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cadence.skel.h"

/*
 * The flavours in the order they are tried, with the supported kernel or configuration that needs
 * each; a flavour's name is its hook, "<type>/<function>". input_handle_event sees every path
 * (input_event and input_inject_event); input_event is the exported entry kept for kernels that
 * inline the former. A kernel that refuses all four (this build host) has no cadence.
 */
static const char *const fentry_progs[] = { "gw_cadence_fentry", NULL };
static const char *const kprobe_progs[] = { "gw_cadence_kprobe", NULL };

static const struct hook_flavour flavours[] = {
	{ "fentry/input_handle_event", "distro kernels with BPF trampolines (5.5+)", fentry_progs },
	{ "fentry/input_event", "a kernel with trampolines that inlines input_handle_event",
	  fentry_progs },
	{ "kprobe/input_handle_event", "kernels that refuse fentry: RHEL 8 without trampolines, "
	  "lockdown or an LSM denying tracing programs", kprobe_progs },
	{ "kprobe/input_event", "a kernel that refuses fentry and inlines input_handle_event",
	  kprobe_progs },
};

struct cadence_load {
	const struct gw_hooks *h;
	const struct gw_hook_options *opt;
	uint64_t idle_ns;
	struct hook_chain_known *known;
	struct gw_cadence *skel;
};

static const char *flavour_function(const struct hook_flavour *f)
{
	return strchr(f->name, '/') + 1;
}

/* hook_chain_open_fn: the object with the chain's current flavour, its fentry target resolved
 * (a function missing from the kernel's BTF refuses the flavour here); none (ENOENT) when every
 * flavour is refused without a load. */
static struct bpf_object_skeleton *cadence_open(void *ctx, struct hook_chain *ch, int n)
{
	struct cadence_load *l = ctx;

	(void)n;
	for (;;) {
		const struct hook_flavour *f;
		struct gw_cadence *s;
		char why[HOOK_CHAIN_WHY_MAX];
		bool fentry;
		int err;

		gw_cadence__destroy(l->skel);
		l->skel = NULL;
		hook_chain_refuse_known(ch, 1, l->known);
		f = hook_chain_current(ch);
		if (!f) {
			errno = ENOENT;
			return NULL;
		}
		s = l->skel = gw_cadence__open();
		if (!s)
			return NULL;
		fentry = hook_chain_wants(ch, "gw_cadence_fentry");
		bpf_program__set_autoload(s->progs.gw_cadence_fentry, fentry);
		bpf_program__set_autoload(s->progs.gw_cadence_kprobe, !fentry);
		bpf_program__set_autoload(s->progs.gw_cadence_bench, false);
		bpf_program__set_autoload(s->progs.gw_cadence_bench_empty, false);
		s->rodata->gw_wakeup_bytes = l->opt->wakeup_bytes;
		s->rodata->cadence_idle_ns = l->idle_ns;
		err = hooks_share_maps(l->h, s->obj);
		if (err) {
			errno = err < 0 ? -err : err;
			return NULL;
		}
		if (!fentry)
			return s->skeleton;
		err = bpf_program__set_attach_target(s->progs.gw_cadence_fentry, 0,
						     flavour_function(f));
		if (!err)
			return s->skeleton;
		snprintf(why, sizeof(why),
			 "%.32s refused: program gw_cadence_fentry: no attach point in the "
			 "kernel's BTF: %.40s", f->name, strerror(err < 0 ? -err : err));
		hook_chain_refuse(ch, why);
	}
}

/* Attaches the chain's current flavour; the link, or NULL with the flavour refused. */
static struct bpf_link *cadence_attach(struct gw_cadence *s, struct hook_chain *ch)
{
	const struct hook_flavour *f = hook_chain_current(ch);
	bool fentry = hook_chain_wants(ch, "gw_cadence_fentry");
	struct bpf_program *prog = fentry ? s->progs.gw_cadence_fentry : s->progs.gw_cadence_kprobe;
	struct bpf_link *link = fentry ? bpf_program__attach(prog) :
				bpf_program__attach_kprobe(prog, false, flavour_function(f));

	if (!link)
		hook_chain_refuse_attach(ch, prog, -errno);
	return link;
}

void cadence_hooks_load(struct cadence_hooks *ch, struct gw_hooks *h,
			const struct gw_hook_options *opt, uint64_t idle_ns,
			enum cadence_hook_mode mode)
{
	struct hook_chain chain = { "input_cadence", flavours, 4, 0, "" };
	struct cadence_load l = { .h = h, .opt = opt, .idle_ns = idle_ns, .known = &h->known };
	char msg[HOOK_CHAIN_WHY_MAX] = "";
	int err;

	memset(ch, 0, sizeof(*ch));
	snprintf(ch->live, sizeof(ch->live), "none");
	if (mode == CADENCE_HOOKS_OFF || h->events_fd < 0) {
		snprintf(ch->why, sizeof(ch->why), "%s", mode == CADENCE_HOOKS_OFF ?
			 "disabled by configuration" : "no shared ring buffer");
		return;
	}
	if (mode == CADENCE_HOOKS_FENTRY || mode == CADENCE_HOOKS_KPROBE) {
		chain.flavours = &flavours[mode == CADENCE_HOOKS_FENTRY ? 0 : 2];
		chain.n = 2;
	}
	/* each round refuses a flavour that would not attach, so this ends */
	while (!(err = hook_chain_load(&chain, 1, &h->known, cadence_open, &l, msg, sizeof(msg))) &&
	       !(ch->link = cadence_attach(l.skel, &chain)))
		;
	if (err) {
		/* every flavour refused without a load (ENOENT), or the object failed */
		if (hook_chain_current(&chain))
			hook_chain_refuse(&chain, msg);
		gw_cadence__destroy(l.skel);
	} else {
		ch->skel = l.skel;
		snprintf(ch->live, sizeof(ch->live), "%s", hook_chain_current(&chain)->name);
	}
	snprintf(ch->why, sizeof(ch->why), "%s", chain.why);
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
