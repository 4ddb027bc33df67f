#include "hooks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "process.skel.h"
#include "small_file.h"

const char *hooks_flavour_name(enum gw_hook_flavour f)
{
	switch (f) {
	case GW_HOOK_TP_BTF:
		return "tp_btf";
	case GW_HOOK_RAW_TP:
		return "raw_tp";
	case GW_HOOK_TP:
		return "tp";
	default:
		return "auto";
	}
}

void hooks_set_status(struct gw_hooks *h, const char *signal, const char *hook, const char *error)
{
	struct gw_hook_status *s = NULL;

	for (int i = 0; i < h->n_status; i++)
		if (!strcmp(h->status[i].signal, signal))
			s = &h->status[i];
	if (!s) {
		if (h->n_status == GW_HOOK_STATUS_MAX)
			return;
		s = &h->status[h->n_status++];
	}
	snprintf(s->signal, sizeof(s->signal), "%s", signal);
	snprintf(s->hook, sizeof(s->hook), "%s", hook);
	snprintf(s->error, sizeof(s->error), "%s", error ? error : "");
}

/* The process signals and their programs per flavour (NULL: the flavour cannot serve it). */
enum { SIG_EXEC, SIG_EXIT, SIG_FORK, SIG_COUNT };

static const char *const signal_names[SIG_COUNT] = { "exec", "exit", "fork" };
static const char *const tracepoints[SIG_COUNT] = { "sched_process_exec", "sched_process_exit",
						    "sched_process_fork" };

static struct bpf_program *signal_prog(struct gw_process *skel, int sig, enum gw_hook_flavour f)
{
	switch (f) {
	case GW_HOOK_TP_BTF:
		return sig == SIG_EXEC ? skel->progs.gw_exec_btf :
		       sig == SIG_EXIT ? skel->progs.gw_exit_btf : skel->progs.gw_fork_btf;
	case GW_HOOK_RAW_TP:
		return sig == SIG_EXEC ? skel->progs.gw_exec_raw :
		       sig == SIG_EXIT ? skel->progs.gw_exit_raw : skel->progs.gw_fork_raw;
	case GW_HOOK_TP:
		/* the classic tracepoint has no pointer to the child: fork cannot be served */
		return sig == SIG_EXEC ? skel->progs.gw_exec_tp :
		       sig == SIG_EXIT ? skel->progs.gw_exit_tp : NULL;
	default:
		return NULL;
	}
}

int hooks_attach(struct gw_hooks *h, struct bpf_program *prog)
{
	struct bpf_link *link;

	if (h->n_links == GW_HOOK_LINKS_MAX)
		return -ENOSPC;
	link = bpf_program__attach(prog);
	if (!link)
		return -errno;
	h->links[h->n_links++] = link;
	return 0;
}

#define TRACEFS_MAGIC_NUMBER 0x74726163

int hooks_ensure_tracefs(bool *mounted)
{
	struct statfs st;

	*mounted = false;
	if (!statfs("/sys/kernel/tracing", &st) && st.f_type == TRACEFS_MAGIC_NUMBER)
		return 0;
	if (!access("/sys/kernel/debug/tracing/events", F_OK))
		return 0;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL))
		return -errno;
	*mounted = true;
	return 0;
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* Opens the object with only the chosen programs enabled and the options applied. */
static struct gw_process *open_with(const struct gw_hook_options *opt,
				    const enum gw_hook_flavour chosen[SIG_COUNT])
{
	struct gw_process *skel = gw_process__open();
	struct bpf_program *prog;

	if (!skel)
		return NULL;
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, false);
	for (int sig = 0; sig < SIG_COUNT; sig++) {
		struct bpf_program *p = signal_prog(skel, sig, chosen[sig]);

		if (p)
			bpf_program__set_autoload(p, true);
	}
	skel->rodata->gw_wakeup_bytes = opt->wakeup_bytes;
	skel->rodata->gw_trace_forks = opt->trace_forks;
	if (bpf_map__set_max_entries(skel->maps.gw_events, opt->ringbuf_bytes)) {
		gw_process__destroy(skel);
		errno = EINVAL;
		return NULL;
	}
	return skel;
}

/* Finds the first flavour, from `from` down the chain, whose program for `sig` loads here. */
static enum gw_hook_flavour probe_signal(const struct gw_hook_options *opt, int sig,
					 enum gw_hook_flavour from, char *why, size_t why_size)
{
	libbpf_print_fn_t old = libbpf_set_print(silent_print);
	enum gw_hook_flavour found = GW_HOOK_AUTO;

	why[0] = 0;
	for (enum gw_hook_flavour f = from; f <= GW_HOOK_TP; f++) {
		enum gw_hook_flavour only[SIG_COUNT] = { GW_HOOK_AUTO, GW_HOOK_AUTO, GW_HOOK_AUTO };
		struct gw_process *skel;
		int err;

		only[sig] = f;
		skel = open_with(opt, only);
		if (!skel || !signal_prog(skel, sig, f)) {
			gw_process__destroy(skel);
			continue;
		}
		err = gw_process__load(skel);
		gw_process__destroy(skel);
		if (!err) {
			found = f;
			break;
		}
		if (!why[0])
			snprintf(why, why_size, "%s refused: %s", hooks_flavour_name(f), strerror(-err));
	}
	libbpf_set_print(old);
	return found;
}

int hooks_load_process(struct gw_hooks *h, const struct gw_hook_options *opt, char *err,
		       size_t err_size)
{
	enum gw_hook_flavour first = opt->process_flavour == GW_HOOK_AUTO ? GW_HOOK_TP_BTF :
									  opt->process_flavour;
	enum gw_hook_flavour chosen[SIG_COUNT];
	char why[SIG_COUNT][160] = { "", "", "" };
	struct gw_process *skel;
	int ret;

	h->events_fd = h->drops_fd = h->idle_fd = -1;
	for (int sig = 0; sig < SIG_COUNT; sig++)
		chosen[sig] = first;
	/* Fast path: everything loads with the preferred flavour. */
	skel = open_with(opt, chosen);
	if (!skel) {
		snprintf(err, err_size, "opening the process BPF object: %s", strerror(errno));
		return -errno;
	}
	ret = gw_process__load(skel);
	if (ret) {
		gw_process__destroy(skel);
		for (int sig = 0; sig < SIG_COUNT; sig++) {
			if (sig == SIG_FORK && !opt->trace_forks)
				continue;
			chosen[sig] = probe_signal(opt, sig, first, why[sig], sizeof(why[sig]));
			if (chosen[sig] == GW_HOOK_AUTO && sig != SIG_FORK) {
				snprintf(err, err_size, "no hook for %s loads on this kernel (%s)",
					 signal_names[sig], why[sig]);
				return -ENOTSUP;
			}
		}
		skel = open_with(opt, chosen);
		if (!skel || (ret = gw_process__load(skel))) {
			snprintf(err, err_size, "loading the process BPF object: %s",
				 strerror(skel ? -ret : errno));
			gw_process__destroy(skel);
			return skel ? ret : -errno;
		}
	}
	for (int sig = 0; sig < SIG_COUNT; sig++) {
		struct bpf_program *p = signal_prog(skel, sig, chosen[sig]);
		char hook[64];

		if (sig == SIG_FORK && !opt->trace_forks) {
			hooks_set_status(h, signal_names[sig], "off", "disabled by configuration");
			continue;
		}
		if (!p) {
			hooks_set_status(h, signal_names[sig], "none",
					 why[sig][0] ? why[sig] : "no flavour serves it here");
			continue;
		}
		if (chosen[sig] == GW_HOOK_TP) {
			bool mounted;

			if (!hooks_ensure_tracefs(&mounted) && mounted)
				hooks_set_status(h, "tracefs", "mounted:/sys/kernel/tracing", NULL);
		}
		ret = hooks_attach(h, p);
		if (ret) {
			snprintf(err, err_size, "attaching %s/%s: %s", hooks_flavour_name(chosen[sig]),
				 tracepoints[sig], strerror(-ret));
			hooks_close(h);
			gw_process__destroy(skel);
			return ret;
		}
		snprintf(hook, sizeof(hook), "%s/%s", hooks_flavour_name(chosen[sig]),
			 tracepoints[sig]);
		hooks_set_status(h, signal_names[sig], hook, why[sig]);
	}
	h->process = skel;
	h->events_fd = bpf_map__fd(skel->maps.gw_events);
	h->drops_fd = bpf_map__fd(skel->maps.gw_drops);
	h->idle_fd = bpf_map__fd(skel->maps.gw_reader_idle);
	return 0;
}

int hooks_share_maps(const struct gw_hooks *h, struct bpf_map *events, struct bpf_map *drops,
		     struct bpf_map *idle)
{
	int err = bpf_map__reuse_fd(events, h->events_fd);

	if (!err)
		err = bpf_map__reuse_fd(idle, h->idle_fd);
	return err ? err : bpf_map__reuse_fd(drops, h->drops_fd);
}

int hooks_open_ring(struct gw_hooks *h, ring_buffer_sample_fn on_record, void *ctx)
{
	h->ring = ring_buffer__new(h->events_fd, on_record, ctx, NULL);
	return h->ring ? 0 : -errno;
}

/* Adds fd's prog_id (a program fd, or a link's program) to ids, once. */
static void note_prog_id(int fd, uint32_t *ids, size_t *n, size_t max)
{
	char path[64], buf[512], *p;
	ssize_t len;
	uint32_t id;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	len = gw_read_small_file(AT_FDCWD, path, 0, buf, sizeof(buf));
	if (len <= 0 || !(p = strstr(buf, "prog_id:")))
		return;
	id = (uint32_t)strtoul(p + 8, NULL, 10);
	for (size_t i = 0; i < *n; i++)
		if (ids[i] == id)
			return;
	if (id && *n < max)
		ids[(*n)++] = id;
}

uint64_t hooks_recursion_misses(uint32_t *programs)
{
	uint32_t ids[256];
	size_t n = 0;
	uint64_t misses = 0;
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");

	*programs = 0;
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			note_prog_id(atoi(de->d_name), ids, &n, sizeof(ids) / sizeof(ids[0]));
	closedir(d);
	for (size_t i = 0; i < n; i++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			misses += info.recursion_misses;
			(*programs)++;
		}
		close(fd);
	}
	return misses;
}

int hooks_read_drops(const struct gw_hooks *h, uint64_t out[GW_DROP_CATEGORY_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	memset(out, 0, sizeof(uint64_t) * GW_DROP_CATEGORY_MAX);
	if (h->drops_fd < 0 || ncpu <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (uint32_t cat = 0; cat < GW_DROP_CATEGORY_MAX; cat++) {
		if (bpf_map_lookup_elem(h->drops_fd, &cat, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[cat] += vals[c];
	}
	free(vals);
	return 0;
}

void hooks_close(struct gw_hooks *h)
{
	for (int i = 0; i < h->n_links; i++)
		bpf_link__destroy(h->links[i]);
	h->n_links = 0;
	ring_buffer__free(h->ring);
	h->ring = NULL;
	gw_process__destroy(h->process);
	h->process = NULL;
}
