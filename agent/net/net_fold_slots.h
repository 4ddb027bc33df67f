/*
 * net_fold_slots.h - the network programs' fold arrays (struct gw_tcp_fold_slot, tcp_fold_slots in
 * bpf/lib/fold.h) and tick, on the skeleton itself: for the agent's tick (through net_hooks) and
 * for connect_ab, which stands in for it without a gw_net_hooks.
 */
#ifndef GW_NET_FOLD_SLOTS_H
#define GW_NET_FOLD_SLOTS_H

#include <stdbool.h>
#include <stddef.h>

struct gw_network;	/* the generated skeleton */
struct gw_tcp_fold;
struct gw_tcp_fold_slot;

/* Both fold arrays mapped into this process (NULL on failure), with the slots of each in *half_n. */
struct gw_tcp_fold_slot *net_fold_slots_map(struct gw_network *skel, size_t *half_n);
void net_fold_slots_unmap(struct gw_network *skel, struct gw_tcp_fold_slot *all);
/* Whether half `which` had entries made since the last call (which resets that). */
bool net_fold_slots_take(struct gw_network *skel, unsigned int which);
/* The next tick: the other fold map and array half become live. */
void net_fold_slots_next_tick(struct gw_network *skel);
/* Empties `n` slots of a half, each entry handed to `read` (may be NULL) first. */
void net_fold_slots_empty(struct gw_tcp_fold_slot *half, size_t n,
			  void (*read)(void *ctx, const struct gw_tcp_fold *v), void *ctx);

#endif
