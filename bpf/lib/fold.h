/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fold.h - folding repeated TCP connections into one entry per key and tick (struct gw_tcp_fold in
 * gw_events.h): the double-buffered fold arrays (x86) and maps, the attempt and close counters,
 * and the bytes the open-connection sampler already counted (tcp_sampled).
 *
 * Layering (a header includes only those above it): gw_bpf_common.h -> lib/net_common.h ->
 * lib/owner.h -> lib/fold.h -> lib/tcp.h -> lib/tcp_walk.h; lib/net_common.h -> lib/udp.h ->
 * lib/dns.h -> lib/dns_skb.h. Only entry files (bpf/network.bpf.c, a test program) define programs (SEC); they may
 * include any header and call its static inline functions with synthetic inputs.
 */
#ifndef GW_LIB_FOLD_H
#define GW_LIB_FOLD_H

#include "lib/owner.h"

/* ---- folding repeated connections (struct gw_tcp_fold in gw_events.h) ---------------------- */

/* Counts the agent's ticks; the low bit says which fold map and array half is live. */
__u32 gw_tcp_fold_gen;

/*
 * The two fold maps, one per tick parity. Allocated per entry: on x86 the fold arrays
 * (tcp_fold_slots) hold a tick's keys and these maps only the keys whose slot another key held, so
 * two maps of GW_TCP_FOLD_MAX entries made up front would lock ~5 MiB that a tick rarely touches.
 */
#define TCP_FOLD_MAP(name)                                                                      \
	struct {                                                                                \
		__uint(type, BPF_MAP_TYPE_HASH);                                                \
		__uint(max_entries, GW_TCP_FOLD_MAX);                                           \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                           \
		__type(key, struct gw_tcp_fold_key);                                            \
		__type(value, struct gw_tcp_fold);                                              \
	} name SEC(".maps")

TCP_FOLD_MAP(tcp_fold_0);
TCP_FOLD_MAP(tcp_fold_1);

/* Zeroed template for a new entry: too big to build on the stack next to the rest. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gw_tcp_fold);
} tcp_fold_scratch SEC(".maps");

/*
 * Bytes of connections that stay open. Without this a long upload would show only when its
 * connection closes; the agent runs gw_tcp_sample (an iter/tcp program) once per flow window,
 * which folds each tracked connection's progress since its last sample into the live fold map and
 * remembers what it counted here, per socket; CLOSE takes the remembered part off its own figures,
 * so every byte is counted once. gw_tcp_sampled_n (entries made minus removed) lets CLOSE skip the
 * lookup while no connection has been sampled.
 */
struct tcp_sampled {
	__u64 sent;
	__u64 received;
};

/* Allocated per entry: only connections that moved bytes while a sample ran have one. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct tcp_sampled);
} tcp_sampled SEC(".maps");

__s64 gw_tcp_sampled_n;

/*
 * The fold arrays (struct gw_tcp_fold_slot): on x86 only, where the slot claim below is safe (see
 * owner_slots). Each hash-map lookup was four calls (hash, bucket walk, compare), every return
 * through this host's return-thunk mitigation: ~130 ns, and a loopback connection made four.
 */
#if defined(__TARGET_ARCH_x86)
#define FOLD_SLOT_BITS 9	/* per 100 ms tick: more keys than a busy endpoint has */
#else
#define FOLD_SLOT_BITS 0
#endif

/*
 * Both ticks' arrays in one map, the live one's half named by gw_tcp_fold_gen: one map, so every
 * lookup has it as a constant and is inlined (two maps behind one call, which the compiler makes of
 * two identical branches, are looked up through an indirect call).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2u << FOLD_SLOT_BITS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct gw_tcp_fold_slot);
} tcp_fold_slots SEC(".maps");

__u64 gw_fold_slot_taken;	/* fold lookups that went to the map: another key held the slot */
/* Slots claimed in each half: the agent reads a half (and zeroes this) only when it is not 0, so an
 * idle host's tick scans nothing. */
__u64 gw_fold_slots_made[2];

static __always_inline void fold_init(struct gw_tcp_fold *v, const struct gw_net_task *task,
				      const struct gw_net_tuple *tu)
{
	__builtin_memset(v, 0, sizeof(*v));
	v->task = *task;
	v->tuple = *tu;
	v->rtt_min_us = (__u32)-1;
}

static __always_inline bool fold_key_eq(const struct gw_tcp_fold_key *a,
					const struct gw_tcp_fold_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3] && x[4] == y[4];
}

/* `k`'s slot in half `half`: multiply-xor over the key's five words, then the top bits (Fibonacci
 * hashing). */
static __always_inline __u32 fold_slot_index(const struct gw_tcp_fold_key *k, __u32 half)
{
	const __u64 *w = (const __u64 *)k;
	__u64 h = w[0];

	h = (h ^ w[1]) * 0x9E3779B97F4A7C15ULL;
	h = (h ^ w[2]) * 0x9E3779B97F4A7C15ULL;
	h = (h ^ w[3]) * 0x9E3779B97F4A7C15ULL;
	h = (h ^ w[4]) * 0x9E3779B97F4A7C15ULL;
	return (half << FOLD_SLOT_BITS) | (__u32)(h >> (64 - FOLD_SLOT_BITS));
}

/* `k`'s slot in half `half` of the fold array; NULL where there is no array. */
static __always_inline struct gw_tcp_fold_slot *fold_slot_at(const struct gw_tcp_fold_key *k,
							      __u32 half)
{
	__u32 idx;

	if (!FOLD_SLOT_BITS)
		return NULL;
	idx = fold_slot_index(k, half);
	return bpf_map_lookup_elem(&tcp_fold_slots, &idx);
}

/*
 * `k`'s entry in the live fold array, made if its slot is free; NULL when another key holds the
 * slot (or is claiming it), and then the caller uses the map.
 */
static __always_inline struct gw_tcp_fold *fold_slot_entry(const struct gw_tcp_fold_key *k,
							    const struct gw_net_task *task,
							    const struct gw_net_tuple *tu, __u32 half,
							    __u32 *idx)
{
	struct gw_tcp_fold_slot *s;

	if (!FOLD_SLOT_BITS)
		return NULL;
	*idx = fold_slot_index(k, half);
	s = bpf_map_lookup_elem(&tcp_fold_slots, idx);
	if (!s)
		return NULL;
	if (*(volatile __u32 *)&s->ready) {
		if (fold_key_eq(&s->key, k))
			return &s->v;
		__sync_fetch_and_add(&gw_fold_slot_taken, 1);
		return NULL;
	}
	if (*(volatile __s64 *)&s->claims)
		return NULL;
	__sync_fetch_and_add(&s->claims, 1);
	if (*(volatile __s64 *)&s->claims != 1) {
		__sync_fetch_and_add(&s->claims, -1);
		return NULL;
	}
	s->key = *k;
	fold_init(&s->v, task, tu);
	/* x86 keeps stores in order; the compiler must too, so `ready` is written last */
	asm volatile("" ::: "memory");
	*(volatile __u32 *)&s->ready = 1;
	__sync_fetch_and_add(&gw_fold_slots_made[half], 1);
	return &s->v;
}

/*
 * Find or make `k`'s entry in one fold map. Called once per map with the map a constant: the
 * verifier inlines a hash lookup only where the map is known at that call, and a lookup through a
 * map chosen at run time is an indirect call, which cost ~150 ns per lookup here (retpolines).
 */
static __always_inline struct gw_tcp_fold *fold_entry_in(void *map, const struct gw_tcp_fold_key *k,
							  const struct gw_net_task *task,
							  const struct gw_net_tuple *tu)
{
	struct gw_tcp_fold *v = bpf_map_lookup_elem(map, k);
	__u32 zero = 0;

	if (v)
		return v;
	v = bpf_map_lookup_elem(&tcp_fold_scratch, &zero);
	if (!v)
		return NULL;
	fold_init(v, task, tu);
	/* EEXIST: another CPU made it first, which is as good */
	bpf_map_update_elem(map, k, v, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, k);
}

/*
 * A connection's fold key: an outbound one's process, peer and port; an accepted one's peer and
 * local port alone (pid and start 0), so its accept and its close find the entry without looking up
 * who listens there, which was two hash lookups per connection (fold_entry_accepted()).
 */
static __always_inline void fold_key_of(struct gw_tcp_fold_key *k, const struct gw_net_task *task,
					const struct gw_net_tuple *tu)
{
	k->pid = task ? task->pid : 0;
	k->netns = tu->netns;
	k->start_boottime_ns = task ? task->start_boottime_ns : 0;
	__builtin_memcpy(k->remote_addr, tu->remote_addr, 16);
	k->port = tu->direction ? tu->local_port : tu->remote_port;
	k->direction = tu->direction;
	__builtin_memset(k->pad, 0, sizeof(k->pad));
}

/* `k`'s entry in the live array or map, made with `task` and `tu` if missing; NULL when there is
 * no room (the caller then sends a record, as without folding). */
static __always_inline struct gw_tcp_fold *fold_entry_of(const struct gw_tcp_fold_key *k,
							 const struct gw_net_task *task,
							 const struct gw_net_tuple *tu)
{
	__u32 half = gw_tcp_fold_gen & 1, idx;
	struct gw_tcp_fold *v = fold_slot_entry(k, task, tu, half, &idx);

	if (v)
		return v;
	if (half)
		return fold_entry_in(&tcp_fold_1, k, task, tu);
	return fold_entry_in(&tcp_fold_0, k, task, tu);
}

/* An outbound connection's entry in the live tick, made if missing (NULL: no room). */
static __always_inline struct gw_tcp_fold *fold_entry(const struct gw_net_task *task,
						      const struct gw_net_tuple *tu)
{
	struct gw_tcp_fold_key k;

	fold_key_of(&k, task, tu);
	return fold_entry_of(&k, task, tu);
}

/*
 * An outbound connection's entry at its result, as fold_entry(); when it is in the array, its
 * slot and tick are remembered in `st`, so that a close within the same tick finds it without
 * building the tuple and key again (fold_entry_at_close()): most short connections close within
 * the 100 ms tick they were made in.
 */
static __always_inline struct gw_tcp_fold *fold_entry_at_result(struct conn_state *st,
								 const struct gw_net_tuple *tu)
{
	__u32 gen = gw_tcp_fold_gen, idx;
	struct gw_tcp_fold_key k;
	struct gw_tcp_fold *v;

	fold_key_of(&k, &st->task, tu);
	v = fold_slot_entry(&k, &st->task, tu, gen & 1, &idx);
	if (v) {
		st->fold_slot = idx + 1;
		st->fold_gen = gen;
		return v;
	}
	if (gen & 1)
		return fold_entry_in(&tcp_fold_1, &k, &st->task, tu);
	return fold_entry_in(&tcp_fold_0, &k, &st->task, tu);
}

/*
 * The entry fold_entry_at_result() remembered, if its tick is still the live one: within a tick a
 * claimed slot keeps its key (the agent empties a half only a tick after it stopped being live).
 * NULL: look it up.
 */
static __always_inline struct gw_tcp_fold *fold_entry_at_close(const struct conn_state *st)
{
	struct gw_tcp_fold_slot *s;
	__u32 idx;

	if (!st->fold_slot || st->fold_gen != gw_tcp_fold_gen)
		return NULL;
	idx = st->fold_slot - 1;
	s = bpf_map_lookup_elem(&tcp_fold_slots, &idx);
	return s ? &s->v : NULL;
}

/* `k`'s entry in the live array or map if there is one. */
static __always_inline struct gw_tcp_fold *fold_find(const struct gw_tcp_fold_key *k)
{
	struct gw_tcp_fold_slot *s = fold_slot_at(k, gw_tcp_fold_gen & 1);

	if (s && *(volatile __u32 *)&s->ready && fold_key_eq(&s->key, k))
		return &s->v;
	if (gw_tcp_fold_gen & 1)
		return bpf_map_lookup_elem(&tcp_fold_1, k);
	return bpf_map_lookup_elem(&tcp_fold_0, k);
}

/*
 * An accepted connection's entry in the live tick. The listener's owner is looked up only to make
 * the entry, and the entry keeps it for the tick: a listener that changes hands within a tick has
 * the rest of that tick's connections counted for the one before. `unknown_ok`: without a known
 * owner, make it for pid 0 (an accept: the agent counts those); else NULL (a close: it goes out as
 * a record the agent matches against the sockets it saw at start).
 */
static __always_inline struct gw_tcp_fold *fold_entry_accepted(const struct gw_net_tuple *tu,
							       bool unknown_ok)
{
	const struct gw_net_task *owner;
	struct gw_net_task none = {};
	struct gw_tcp_fold_key k;
	struct gw_tcp_fold *v;

	fold_key_of(&k, NULL, tu);
	v = fold_find(&k);
	if (v)
		return v;
	owner = listener_owner(tu);
	if (!owner) {
		if (!unknown_ok)
			return NULL;
		owner = &none;
	}
	return fold_entry_of(&k, owner, tu);
}

/*
 * An attempt (connect result or accept) into entry `v`. True when it was folded; false when it must
 * go out as a record: the first of its key and result this tick, or no room to fold (`v` NULL).
 * `reported` is set without an atomic: a race costs one extra record, never a lost or double count
 * (each attempt is either a record or an `attempts` increment).
 */
static __always_inline bool fold_attempt(struct gw_tcp_fold *v, __u32 result)
{
	__u32 bit = 1u << (result & 7);

	if (!v)
		return false;
	if (!(v->reported & bit)) {
		v->reported |= bit;
		return false;
	}
	__sync_fetch_and_add(&v->attempts, 1);
	if (result > GW_TCP_OK && result < GW_TCP_RESULT_MAX)
		__sync_fetch_and_add(&v->failures[result], 1);
	return true;
}

/* A close's bytes and RTT into entry `v`. False when there was no room (send a record). */
static __always_inline bool fold_close(struct gw_tcp_fold *v, __u32 result,
				       const struct tcp_counters *c)
{
	if (!v)
		return false;
	__sync_fetch_and_add(&v->closes, 1);
	__sync_fetch_and_add(&v->bytes_sent, c->bytes_sent);
	__sync_fetch_and_add(&v->bytes_received, c->bytes_received);
	if (c->srtt_us) {
		__sync_fetch_and_add(&v->rtt_sum_us, c->srtt_us);
		__sync_fetch_and_add(&v->rtt_samples, 1);
		if (c->srtt_us < v->rtt_min_us)
			v->rtt_min_us = c->srtt_us;
		if (c->srtt_us > v->rtt_max_us)
			v->rtt_max_us = c->srtt_us;
	}
	if (result > GW_TCP_OK && result < GW_TCP_RESULT_MAX)
		__sync_fetch_and_add(&v->failures[result], 1);
	return true;
}

/*
 * A closing connection's figures less what samples already counted; forgets the samples. True
 * when the iterator had seen it (in the connect flavour, it then reported an accepted one).
 */
static __always_inline bool unsample(const struct sock *sk, struct tcp_counters *c)
{
	__u64 key = (__u64)sk;
	struct tcp_sampled *done;

	if (!gw_tcp_sampled_n)
		return false;
	done = bpf_map_lookup_elem(&tcp_sampled, &key);
	if (!done)
		return false;
	c->bytes_sent = c->bytes_sent > done->sent ? c->bytes_sent - done->sent : 0;
	c->bytes_received =
		c->bytes_received > done->received ? c->bytes_received - done->received : 0;
	if (!bpf_map_delete_elem(&tcp_sampled, &key))
		__sync_fetch_and_add(&gw_tcp_sampled_n, -1);
	return true;
}

#endif /* GW_LIB_FOLD_H */
