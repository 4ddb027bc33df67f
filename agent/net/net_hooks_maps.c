/* net_hooks_maps.c - what the network domain reads from its loaded object: the maps, the fold
 * slots, the kernel's counters and the walks; and closing it. See net_hooks.h. */
#include "net_hooks.h"

#include <errno.h>
#include <sys/mount.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "network.skel.h"

int net_hooks_listen_map_fd(const struct gw_net_hooks *nh)
{
	return nh->skel ? bpf_map__fd(nh->skel->maps.listen_owner) : -1;
}

int net_hooks_fold_map_fd(const struct gw_net_hooks *nh, unsigned int which)
{
	if (!nh->skel)
		return -1;
	return bpf_map__fd(which & 1 ? nh->skel->maps.tcp_fold_1 : nh->skel->maps.tcp_fold_0);
}

struct gw_tcp_fold_slot *net_hooks_fold_slots(struct gw_net_hooks *nh, unsigned int which,
					      size_t *n)
{
	*n = 0;
	if (!nh->skel)
		return NULL;
	if (!nh->fold_slots)
		nh->fold_slots = net_fold_slots_map(nh->skel, &nh->fold_slots_half);
	if (!nh->fold_slots)
		return NULL;
	*n = nh->fold_slots_half;
	return nh->fold_slots + (which & 1) * *n;
}

bool net_hooks_fold_slots_take(struct gw_net_hooks *nh, unsigned int which)
{
	return nh->skel && net_fold_slots_take(nh->skel, which);
}

unsigned int net_hooks_fold_live(const struct gw_net_hooks *nh)
{
	return nh->skel && nh->skel->bss ? __atomic_load_n(&nh->skel->bss->gw_tcp_fold_gen,
							   __ATOMIC_RELAXED) & 1 : 0;
}

void net_hooks_fold_set_live(struct gw_net_hooks *nh, unsigned int which)
{
	if (nh->skel && nh->skel->bss &&
	    (__atomic_load_n(&nh->skel->bss->gw_tcp_fold_gen, __ATOMIC_RELAXED) & 1) != (which & 1))
		net_fold_slots_next_tick(nh->skel);
}

uint64_t net_hooks_fold_slot_taken(const struct gw_net_hooks *nh)
{
	return nh->skel && nh->skel->bss ?
		       __atomic_load_n(&nh->skel->bss->gw_fold_slot_taken, __ATOMIC_RELAXED) : 0;
}

uint64_t net_hooks_owner_overflows(const struct gw_net_hooks *nh)
{
	return nh->skel && nh->skel->bss ?
		       __atomic_load_n(&nh->skel->bss->gw_owner_overflows, __ATOMIC_RELAXED) : 0;
}

uint64_t net_hooks_dns_unread(const struct gw_net_hooks *nh)
{
	return nh->skel && nh->skel->bss ?
		       __atomic_load_n(&nh->skel->bss->gw_dns_recv_unread, __ATOMIC_RELAXED) : 0;
}

int net_hooks_sample(struct gw_net_hooks *nh)
{
	if (!nh->sample_link)
		return -ENOENT;
	return net_walks_run(nh->sample_link);
}

int net_hooks_sample_in(struct gw_net_hooks *nh, struct netns_iter *h, int ns_fd)
{
	int fd;

	if (!nh->sample_link)
		return -ENOENT;
	fd = netns_iter_create(h, ns_fd, bpf_link__fd(nh->sample_link));
	return fd < 0 ? fd : net_walks_read(fd);
}

int net_hooks_walk_owners(struct gw_net_hooks *nh)
{
	if (!nh->owner_walk[0])
		return -ENOENT;
	return net_walks_owners_run(nh->skel, nh->owner_walk);
}

void net_hooks_close(struct gw_net_hooks *nh)
{
	for (int i = 0; i < 2; i++) {
		bpf_link__destroy(nh->owner_walk[i]);
		nh->owner_walk[i] = NULL;
	}
	nh->results_walk = false;
	bpf_link__destroy(nh->sample_link);
	nh->sample_link = NULL;
	for (int i = 0; i < nh->n_links; i++)
		bpf_link__destroy(nh->links[i]);
	nh->n_links = 0;
	if (nh->skel)
		net_fold_slots_unmap(nh->skel, nh->fold_slots);
	nh->fold_slots = NULL;
	gw_network__destroy(nh->skel);
	nh->skel = NULL;
	if (nh->cgroup_fd >= 0)
		close(nh->cgroup_fd);
	nh->cgroup_fd = -1;
	if (nh->mounted_cgroup)
		umount2(nh->cgroup_path, MNT_DETACH);
	nh->mounted_cgroup = false;
}
