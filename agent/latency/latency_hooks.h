/*
 * latency_hooks.h - the latency object (bpf/latency.bpf.c): its map of watched connections and
 * the walk that reads their live RTT. Loaded on its own (no ring: the walk's output is read
 * right away); where iter/tcp is refused the latency signal is unavailable, with the reason.
 */
#ifndef GW_LATENCY_HOOKS_H
#define GW_LATENCY_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#include "gw_latency.h"

struct gw_latency;
struct bpf_link;

struct latency_hooks {
	struct gw_latency *skel;
	struct bpf_link *walk;
	char why[256]; /* why it is not live */
	uint64_t walks, walk_errors, short_reads;
};

/* 0, or -errno with the reason in lh->why. */
int latency_hooks_load(struct latency_hooks *lh);
bool latency_hooks_live(const struct latency_hooks *lh);
/* Adds or replaces a watch; 0 or -errno (-E2BIG when the map is full). */
int latency_hooks_watch(struct latency_hooks *lh, const struct gw_latency_key *k,
			uint64_t process_id);
void latency_hooks_unwatch(struct latency_hooks *lh, const struct gw_latency_key *k);
/* Walks the open connections; fn gets a sample per watched one. Returns samples or -errno. */
int latency_hooks_walk(struct latency_hooks *lh,
		       void (*fn)(const struct gw_latency_sample *s, void *ctx), void *ctx);
void latency_hooks_close(struct latency_hooks *lh);

#endif
