/* exfil_removable.c - the block-layer hook and its per-disk sums. See exfil_removable.h. */
#include "exfil_removable.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/hooks.h"
#include "exfil.skel.h"

#define DISKS_TABLE 256

static const char *const btf_progs[] = { "gw_exfil_rq_btf", NULL };
static const char *const tp_progs[] = { "gw_exfil_rq_tp", NULL };

static const struct hook_flavour flavours[] = {
	{ "tp_btf/block_rq_issue", "kernels with BTF whose block_rq_issue takes the request alone "
	  "(5.11+)", btf_progs },
	{ "tp/block/block_rq_issue", "kernels before 5.11 (the queue is the first argument) or "
	  "without tp_btf", tp_progs },
};

struct removable_load {
	struct gw_exfil *skel;
};

static struct bpf_object_skeleton *removable_open(void *ctx, struct hook_chain *ch, int n)
{
	struct removable_load *l = ctx;
	struct gw_exfil *s;

	(void)n;
	gw_exfil__destroy(l->skel);
	s = l->skel = gw_exfil__open();
	if (!s)
		return NULL;
	bpf_program__set_autoload(s->progs.gw_exfil_rq_btf, hook_chain_wants(ch, "gw_exfil_rq_btf"));
	bpf_program__set_autoload(s->progs.gw_exfil_rq_tp, hook_chain_wants(ch, "gw_exfil_rq_tp"));
	return s->skeleton;
}

static struct bpf_program *current_prog(struct gw_exfil *s, const struct hook_chain *ch)
{
	return hook_chain_wants(ch, "gw_exfil_rq_btf") ? s->progs.gw_exfil_rq_btf
						       : s->progs.gw_exfil_rq_tp;
}

void exfil_removable_load(struct exfil_removable *r, struct hook_chain_known *known,
			  struct gw_attach_registry *attached, const char *sys_root,
			  uint64_t threshold, uint64_t window_ns)
{
	struct hook_chain chain = { "removable_storage", flavours, 2, 0, "" };
	struct removable_load l = { 0 };
	char msg[HOOK_CHAIN_WHY_MAX] = "";
	bool mounted;
	int err;

	memset(r, 0, sizeof(*r));
	r->sys_root = sys_root;
	exfil_uploads_init(&r->window, DISKS_TABLE, window_ns, threshold);
	snprintf(r->live, sizeof(r->live), "none");
	/* the classic tracepoint is resolved through tracefs */
	hooks_ensure_tracefs(&mounted);
	while (!(err = hook_chain_load(&chain, 1, known, removable_open, &l, msg, sizeof(msg)))) {
		struct bpf_program *prog = current_prog(l.skel, &chain);

		r->link = bpf_program__attach(prog);
		if (r->link)
			break;
		hook_chain_refuse_attach(&chain, prog, -errno);
	}
	if (err) {
		if (hook_chain_current(&chain))
			hook_chain_refuse(&chain, msg);
		gw_exfil__destroy(l.skel);
	} else {
		r->skel = l.skel;
		attach_registry_add(attached, bpf_link__fd(r->link), -1);
		snprintf(r->live, sizeof(r->live), "%s", hook_chain_current(&chain)->name);
	}
	snprintf(r->why, sizeof(r->why), "%s", chain.why);
}

bool exfil_removable_live(const struct exfil_removable *r)
{
	return r->skel != NULL;
}

/* Bytes written to dev since the last poll (the kernel's sums only grow while the agent runs). */
static uint64_t delta_of(struct exfil_removable *r, uint32_t dev, uint64_t total)
{
	uint64_t d;

	for (size_t i = 0; i < r->n_seen; i++)
		if (r->seen[i].dev == dev) {
			d = total >= r->seen[i].total ? total - r->seen[i].total : total;
			r->seen[i].total = total;
			return d;
		}
	if (r->n_seen == EXFIL_DISKS_MAX)
		return 0;
	r->seen[r->n_seen].dev = dev;
	r->seen[r->n_seen++].total = total;
	return total;
}

void exfil_removable_poll(struct exfil_removable *r, uint64_t now_realtime_ns,
			  void (*fn)(const struct exfil_removable_hit *hit, void *ctx), void *ctx)
{
	int ncpu = libbpf_num_possible_cpus(), fd;
	uint32_t key, next, *prev = NULL;
	uint64_t *vals;

	if (!r->skel || ncpu <= 0)
		return;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals) {
		r->read_errors++;
		return;
	}
	fd = bpf_map__fd(r->skel->maps.gw_block_written);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct exfil_usb_disk disk;
		struct exfil_upload_hit h;
		uint64_t total = 0, d;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, vals)) {
			r->read_errors++;
			continue;
		}
		for (int c = 0; c < ncpu; c++)
			total += vals[c];
		d = delta_of(r, key, total);
		if (!d || !exfil_usb_disk_of(r->sys_root, key, &disk))
			continue;
		if (exfil_uploads_add(&r->window, 0, disk.name, d, now_realtime_ns, &h))
			fn(&(struct exfil_removable_hit){ &disk, key, h.bytes }, ctx);
	}
	free(vals);
}

uint64_t exfil_removable_untracked(const struct exfil_removable *r)
{
	return r->skel && r->skel->bss ? r->skel->bss->gw_block_untracked : 0;
}

void exfil_removable_prog_stats(const struct exfil_removable *r, uint64_t *run_ns,
				uint64_t *run_cnt)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	const struct bpf_program *p;

	*run_ns = *run_cnt = 0;
	if (!r->skel)
		return;
	p = bpf_program__fd(r->skel->progs.gw_exfil_rq_btf) >= 0 ? r->skel->progs.gw_exfil_rq_btf
								   : r->skel->progs.gw_exfil_rq_tp;
	if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
		return;
	*run_ns = info.run_time_ns;
	*run_cnt = info.run_cnt;
}

void exfil_removable_close(struct exfil_removable *r)
{
	bpf_link__destroy(r->link);
	gw_exfil__destroy(r->skel);
	r->link = NULL;
	r->skel = NULL;
	exfil_uploads_free(&r->window);
}
