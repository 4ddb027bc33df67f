#include "net_fold_slots.h"

#include <string.h>
#include <sys/mman.h>

#include "gw_events.h"
#include "network.skel.h"

struct gw_tcp_fold_slot *net_fold_slots_map(struct gw_network *skel, size_t *half_n)
{
	struct bpf_map *map = skel->maps.tcp_fold_slots;
	/* an mmapable array's values are laid out one after the other, as an array of them */
	void *p = mmap(NULL, (size_t)bpf_map__max_entries(map) * sizeof(struct gw_tcp_fold_slot),
		       PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map), 0);

	/* one half per tick, as the programs index it */
	*half_n = bpf_map__max_entries(map) / 2;
	return p == MAP_FAILED ? NULL : p;
}

void net_fold_slots_unmap(struct gw_network *skel, struct gw_tcp_fold_slot *all)
{
	if (all)
		munmap(all, (size_t)bpf_map__max_entries(skel->maps.tcp_fold_slots) *
				    sizeof(struct gw_tcp_fold_slot));
}

bool net_fold_slots_take(struct gw_network *skel, unsigned int which)
{
	__u64 *made;

	if (!skel->bss)
		return false;
	made = &skel->bss->gw_fold_slots_made[which & 1];
	if (!__atomic_load_n(made, __ATOMIC_ACQUIRE))
		return false;
	__atomic_store_n(made, 0, __ATOMIC_RELAXED);
	return true;
}

void net_fold_slots_empty(struct gw_tcp_fold_slot *half, size_t n,
			  void (*read)(void *ctx, const struct gw_tcp_fold *v), void *ctx)
{
	for (size_t i = 0; i < n; i++) {
		struct gw_tcp_fold_slot *s = &half[i];

		if (!__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE) &&
		    !__atomic_load_n(&s->claims, __ATOMIC_RELAXED))
			continue;
		if (s->ready && read)
			read(ctx, &s->v);
		memset(s, 0, sizeof(*s));
	}
}

void net_fold_slots_next_tick(struct gw_network *skel)
{
	/*
	 * .bss is mmapped by the skeleton: the programs see the store at once. Counted, not toggled:
	 * a program that remembered a fold slot with the tick's count must not find it again two
	 * ticks later, when the same half is live but was emptied in between.
	 */
	__atomic_store_n(&skel->bss->gw_tcp_fold_gen,
			 __atomic_load_n(&skel->bss->gw_tcp_fold_gen, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELEASE);
}
