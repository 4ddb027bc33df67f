#include "latency_hooks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "latency.skel.h"

int latency_hooks_load(struct latency_hooks *lh)
{
	int err;

	memset(lh, 0, sizeof(*lh));
	lh->skel = gw_latency__open();
	if (!lh->skel) {
		err = -errno;
		snprintf(lh->why, sizeof(lh->why), "open: %s", strerror(-err));
		return err;
	}
	err = gw_latency__load(lh->skel);
	if (!err) {
		lh->walk = bpf_program__attach_iter(lh->skel->progs.gw_latency_walk, NULL);
		if (!lh->walk)
			err = -errno;
	}
	if (err) {
		snprintf(lh->why, sizeof(lh->why), "iter/tcp: %s", strerror(-err));
		latency_hooks_close(lh);
	}
	return err;
}

bool latency_hooks_live(const struct latency_hooks *lh)
{
	return lh->walk != NULL;
}

int latency_hooks_watch(struct latency_hooks *lh, const struct gw_latency_key *k,
			uint64_t process_id)
{
	if (!lh->skel)
		return -ENOENT;
	if (bpf_map_update_elem(bpf_map__fd(lh->skel->maps.latency_watch), k, &process_id,
				BPF_ANY))
		return -errno;
	return 0;
}

void latency_hooks_unwatch(struct latency_hooks *lh, const struct gw_latency_key *k)
{
	if (lh->skel)
		bpf_map_delete_elem(bpf_map__fd(lh->skel->maps.latency_watch), k);
}

int latency_hooks_walk(struct latency_hooks *lh,
		       void (*fn)(const struct gw_latency_sample *s, void *ctx), void *ctx)
{
	struct gw_latency_sample buf[32];
	size_t have = 0;
	ssize_t n;
	int fd, err, count = 0;

	if (!lh->walk)
		return -ENOENT;
	fd = bpf_iter_create(bpf_link__fd(lh->walk));
	if (fd < 0) {
		lh->walk_errors++;
		return -errno;
	}
	/* a read returns whole samples unless the kernel split one at its buffer's end */
	while ((n = read(fd, (char *)buf + have, sizeof(buf) - have)) > 0) {
		size_t whole;

		have += (size_t)n;
		whole = have / sizeof(buf[0]);
		for (size_t i = 0; i < whole; i++)
			fn(&buf[i], ctx);
		count += (int)whole;
		have -= whole * sizeof(buf[0]);
		if (have)
			memmove(buf, (char *)buf + whole * sizeof(buf[0]), have);
	}
	err = n < 0 ? -errno : 0;
	if (err)
		lh->walk_errors++;
	else if (have)
		lh->short_reads++;
	close(fd);
	lh->walks++;
	return err ? err : count;
}

void latency_hooks_close(struct latency_hooks *lh)
{
	bpf_link__destroy(lh->walk);
	lh->walk = NULL;
	gw_latency__destroy(lh->skel);
	lh->skel = NULL;
}
