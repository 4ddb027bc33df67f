/*
 * net_walks.c - running the network programs' iterators: the walk of every TCP socket (iter/tcp)
 * and the connect flavour's walks of its owner maps (iter/bpf_map_elem); for the agent and
 * connect_ab (declared in net_hooks.h).
 */
#include "net_hooks.h"

#include <errno.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "network.skel.h"

int net_walks_owners_attach(struct gw_network *skel, struct bpf_link *walk[2])
{
	struct bpf_program *progs[2] = { skel->progs.gw_owner_slots_walk,
					 skel->progs.gw_conn_owner_walk };
	struct bpf_map *maps[2] = { skel->maps.owner_slots, skel->maps.conn_owner };

	for (int i = 0; i < 2; i++) {
		union bpf_iter_link_info info = { .map.map_fd = bpf_map__fd(maps[i]) };
		LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &info,
			    .link_info_len = sizeof(info));

		walk[i] = bpf_program__attach_iter(progs[i], &opts);
		if (!walk[i]) {
			int err = -errno;

			bpf_link__destroy(walk[0]);
			walk[0] = NULL;
			return err;
		}
	}
	return 0;
}

int net_walks_owners_run(struct gw_network *skel, struct bpf_link *walk[2])
{
	int ret = net_walks_run(walk[0]);

	/* the hash map's walk visits each of its 65,536 buckets: only when it holds owners */
	if (!ret && __atomic_load_n(&skel->bss->gw_conn_owner_n, __ATOMIC_RELAXED) > 0)
		ret = net_walks_run(walk[1]);
	return ret;
}

int net_walks_read(int fd)
{
	char buf[64];
	ssize_t n;
	int err;

	/* the programs write nothing: reading to the end is what walks */
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

int net_walks_run(struct bpf_link *link)
{
	int fd = bpf_iter_create(bpf_link__fd(link));

	return fd < 0 ? -errno : net_walks_read(fd);
}
