#include "hooks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "small_file.h"

void hooks_init(struct gw_hooks *h)
{
	pthread_mutex_init(&h->lock, NULL);
	h->known.lock = &h->lock;
	h->attached.lock = &h->lock;
	h->events_fd = h->drops_fd = h->idle_fd = -1;
	h->uid_drops_fd = h->uid_buckets_fd = h->limits_fd = -1;
	h->audit.limits_fd = -1;
}

void hooks_set_status(struct gw_hooks *h, const char *signal, const char *hook, const char *error)
{
	struct gw_hook_status *s = NULL;

	pthread_mutex_lock(&h->lock);
	for (int i = 0; i < h->n_status; i++)
		if (!strcmp(h->status[i].signal, signal))
			s = &h->status[i];
	if (!s && h->n_status < GW_HOOK_STATUS_MAX)
		s = &h->status[h->n_status++];
	if (s) {
		snprintf(s->signal, sizeof(s->signal), "%s", signal);
		snprintf(s->hook, sizeof(s->hook), "%s", hook);
		snprintf(s->error, sizeof(s->error), "%s", error ? error : "");
		s->rank = h->loading && pthread_equal(pthread_self(), h->loader) ? h->loader_rank
										    : h->rank;
	}
	pthread_mutex_unlock(&h->lock);
}

void hooks_sort_status(struct gw_hooks *h)
{
	for (int i = 1; i < h->n_status; i++) {
		struct gw_hook_status s = h->status[i];
		int j = i;

		for (; j > 0 && h->status[j - 1].rank > s.rank; j--)
			h->status[j] = h->status[j - 1];
		h->status[j] = s;
	}
}

int hooks_attach(struct gw_hooks *h, struct bpf_program *prog)
{
	struct bpf_link *link;

	link = bpf_program__attach(prog);
	if (!link)
		return -errno;
	pthread_mutex_lock(&h->lock);
	if (h->n_links == GW_HOOK_LINKS_MAX) {
		pthread_mutex_unlock(&h->lock);
		bpf_link__destroy(link);
		return -ENOSPC;
	}
	h->links[h->n_links++] = link;
	pthread_mutex_unlock(&h->lock);
	attach_registry_add(&h->attached, bpf_link__fd(link), -1);
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

bool hooks_have_kprobes(void)
{
	return !access("/sys/bus/event_source/devices/kprobe/type", F_OK) ||
	       !access("/sys/kernel/tracing/kprobe_events", F_OK) ||
	       !access("/sys/kernel/debug/tracing/kprobe_events", F_OK);
}

/* The maps every object shares, by name (gw_bpf_common.h), and where the process object's fd is
 * kept. */
static int *shared_fd(struct gw_hooks *h, int i, const char **name)
{
	static const char *const names[] = {
		"gw_events", "gw_drops", "gw_reader_idle",
		"gw_uid_drops", "gw_uid_buckets", "gw_limits",
	};
	int *fds[] = {
		&h->events_fd, &h->drops_fd, &h->idle_fd,
		&h->uid_drops_fd, &h->uid_buckets_fd, &h->limits_fd,
	};

	if (i < 0 || i >= (int)(sizeof(names) / sizeof(names[0])))
		return NULL;
	*name = names[i];
	return fds[i];
}

int hooks_take_maps(struct gw_hooks *h, struct bpf_object *obj, const struct gw_hook_options *opt)
{
	struct gw_limits lim = {
		.rate = opt->uid_rate, .burst = opt->uid_burst, .gate_pct = opt->uid_gate_pct,
		.reserve_pct = opt->reserve_pct,
	};
	uint32_t zero = 0;
	const char *name;
	int *fd;

	for (int i = 0; (fd = shared_fd(h, i, &name)); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, name);

		*fd = m ? bpf_map__fd(m) : -1;
		if (*fd < 0)
			return -ENOENT;
	}
	ring_audit_expect_limits(&h->audit, h->limits_fd, &lim);
	return bpf_map_update_elem(h->limits_fd, &zero, &lim, BPF_ANY) ? -errno : 0;
}

int hooks_share_maps(const struct gw_hooks *h, struct bpf_object *obj)
{
	const char *name;
	int *fd;

	for (int i = 0; (fd = shared_fd((struct gw_hooks *)h, i, &name)); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, name);
		int err = m ? bpf_map__reuse_fd(m, *fd) : -ENOENT;

		if (err)
			return err;
	}
	return 0;
}

int hooks_open_ring(struct gw_hooks *h, ring_buffer_sample_fn on_record, void *ctx)
{
	int err;

	h->ring = ring_buffer__new(h->events_fd, on_record, ctx, NULL);
	if (!h->ring)
		return -errno;
	err = ring_audit_open(&h->audit, h->events_fd);
	if (err)
		fprintf(stderr, "ghostwatch: ring audit off: cannot map the ring's consumer page: %s\n",
			strerror(-err));
	return 0;
}

/*
 * fd's program id if fd is a program (not a link), else 0. The programs are read through the
 * descriptors the agent holds: BPF_PROG_GET_FD_BY_ID would need CAP_SYS_ADMIN, which the running
 * agent no longer has (privs.h).
 */
static uint32_t prog_fd_id(int fd)
{
	char path[64], buf[512], *p;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	len = gw_read_small_file(AT_FDCWD, path, 0, buf, sizeof(buf));
	if (len <= 0 || !strstr(buf, "prog_type:") || strstr(buf, "link_type:") ||
	    !(p = strstr(buf, "prog_id:")))
		return 0;
	return (uint32_t)strtoul(p + 8, NULL, 10);
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
	while ((de = readdir(d))) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = de->d_name[0] == '.' ? -1 : atoi(de->d_name);
		uint32_t id = fd >= 0 && fd != dirfd(d) ? prog_fd_id(fd) : 0;
		bool seen = false;

		for (size_t i = 0; id && i < n; i++)
			seen |= ids[i] == id;
		if (!id || seen || n == sizeof(ids) / sizeof(ids[0]))
			continue;
		ids[n++] = id;
		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			misses += info.recursion_misses;
			(*programs)++;
		}
	}
	closedir(d);
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

/* Keeps the `per` largest of one category in top[0..*n), largest first. */
static void keep_top(struct gw_uid_drop *top, size_t *n, size_t per, const struct gw_uid_drop *d)
{
	size_t i;

	if (*n == per && top[per - 1].value >= d->value)
		return;
	i = *n < per ? (*n)++ : per - 1;
	for (; i > 0 && top[i - 1].value < d->value; i--)
		top[i] = top[i - 1];
	top[i] = *d;
}

size_t hooks_read_uid_drops(const struct gw_hooks *h, size_t per_category, struct gw_uid_drop *out,
			    size_t max)
{
	struct gw_uid_drop top[GW_DROP_CATEGORY_MAX][8];
	size_t n_top[GW_DROP_CATEGORY_MAX] = { 0 }, n = 0;
	struct gw_uid_key key, next, *prev = NULL;

	if (h->uid_drops_fd < 0 || !per_category)
		return 0;
	if (per_category > 8)
		per_category = 8;
	while (!bpf_map_get_next_key(h->uid_drops_fd, prev, &next)) {
		struct gw_uid_drop d = { .uid = next.uid, .category = next.category };

		key = next;
		prev = &key;
		if (next.category >= GW_DROP_CATEGORY_MAX ||
		    bpf_map_lookup_elem(h->uid_drops_fd, &next, &d.value) || !d.value)
			continue;
		keep_top(top[next.category], &n_top[next.category], per_category, &d);
	}
	for (int c = 0; c < GW_DROP_CATEGORY_MAX; c++)
		for (size_t i = 0; i < n_top[c] && n < max; i++)
			out[n++] = top[c][i];
	return n;
}

void hooks_close(struct gw_hooks *h)
{
	for (int i = 0; i < h->n_links; i++)
		bpf_link__destroy(h->links[i]);
	h->n_links = 0;
	attach_registry_close(&h->attached);
	ring_audit_close(&h->audit);
	ring_buffer__free(h->ring);
	h->ring = NULL;
	if (h->process)
		h->process_destroy(h->process);
	h->process = NULL;
	hook_chain_known_release(&h->known);
	pthread_mutex_destroy(&h->lock);
}
