/* SPDX-License-Identifier: GPL-2.0 */
/*
 * owner.h - who owns a TCP socket: the connecting task, remembered at connect() in a direct-mapped
 * slot (owner_slots) or, when its slot is taken, in conn_owner, and forgotten at close; and who
 * owns a listening port (listen_owner), which an accepted connection is attributed to.
 *
 * Layering (a header includes only those above it): gw_bpf_common.h -> lib/net_common.h ->
 * lib/owner.h -> lib/fold.h -> lib/tcp.h -> lib/tcp_walk.h; lib/net_common.h -> lib/udp.h ->
 * lib/dns.h -> lib/dns_skb.h. Only entry files (bpf/network.bpf.c, a test program) define programs (SEC); they may
 * include any header and call its static inline functions with synthetic inputs.
 */
#ifndef GW_LIB_OWNER_H
#define GW_LIB_OWNER_H

#include "lib/net_common.h"

/*
 * Outbound connections we saw start, keyed by struct sock address. A plain hash, not an LRU:
 * every tracked socket reaches CLOSE, where its entry goes, so the map only fills under a flood of
 * open connections, and then the failed insert is counted as a drop instead of an LRU silently
 * forgetting an open connection (an LRU update also costs more: its lists take a lock).
 * Accepted connections need no entry: their listener's owner (listen_owner, by netns and local
 * port) is their owner, and the local port survives in inet_sport until CLOSE.
 * Allocated per entry (BPF_F_NO_PREALLOC): on x86 owner_slots hold nearly every owner and this map
 * is usually empty, so 65,536 entries made up front would lock ~9 MiB for the rare overflow.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct conn_state);
} conn_owner SEC(".maps");

/*
 * Most outbound connections live briefly and few are open at once, so a direct-mapped array holds
 * their owners first: no bucket lock, allocation or free as in conn_owner, whose insert, lookups
 * and delete were ~0.8 us of the ~3 us the TCP hook spent per loopback connection (BENCHMARKS.md).
 * The slot is a hash of the socket's address, which stays the socket's through failed connects and
 * reconnects until it is freed, and freed sockets are handed out again first, so the slots of a
 * burst of short connections stay in cache. (It was the socket cookie: generating one at each
 * connect was ~13 % of the sockops program's time.) A socket whose slot another open connection
 * still holds goes to conn_owner, so nothing depends on the array being large enough; the array
 * is small so that it stays cached.
 *
 * A slot is claimed by adding 1 to `claims` and reading back 1, and released by subtracting 1 after
 * its owner was read: fetch-less atomic adds exist on every kernel this loads on, where
 * compare-and-swap needs 5.12. That is only safe where an atomic add orders the loads before it,
 * as on x86 (a full barrier); elsewhere every owner goes to conn_owner. The classic tracepoint
 * flavour uses conn_owner alone: the TCP iterator, which samples open connections, holds a BTF
 * socket and could not find a slot that flavour chose from the plain address.
 */
#if defined(__TARGET_ARCH_x86)
#define OWNER_SLOT_BITS 8
#else
#define OWNER_SLOT_BITS 0
#endif

struct owner_slot {
	__u64 sk;	/* the socket whose owner this is, set by the claimer once `st` is written */
	__s64 claims;
	struct conn_state st;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1u << OWNER_SLOT_BITS);
	__type(key, __u32);
	__type(value, struct owner_slot);
} owner_slots SEC(".maps");

__u64 gw_owner_overflows;	/* owners that went to conn_owner: their slot was taken */
/*
 * Entries in conn_owner (made minus removed). Usually 0 where owner_slots exist, and then a socket
 * its slot does not name (every accepted connection at CLOSE) skips a lookup that would miss: a
 * cold bucket, ~10 % of the TCP hook's time per loopback connection in a profile. The count goes
 * up after the insert and down after the delete, so a socket's own later lookup never sees 0 while
 * its entry is there (an insert that replaced a stale entry overcounts, which only costs the skip).
 */
__s64 gw_conn_owner_n;

/*
 * A fixed address to measure socket addresses from: the verifier allows no arithmetic on a BTF
 * pointer but the difference of two pointers (for a loader that may read kernel addresses), so
 * that difference is what gets hashed.
 */
__u64 gw_owner_anchor;

/* `sk`'s owner slot (`btf`: a BTF pointer; the classic flavour has none, see above). */
static __always_inline struct owner_slot *owner_slot_of(const struct sock *sk, bool btf)
{
	__u64 addr;
	__u32 idx;

	if (!OWNER_SLOT_BITS || !btf)
		return NULL;
	addr = (__u64)sk - (__u64)&gw_owner_anchor;
	/* keeps the compiler from multiplying the two pointers apart, which the verifier refuses */
	asm volatile("" : "+r"(addr));
	/* Fibonacci hashing: addresses differ in their middle bits, not their low ones */
	idx = (addr * 0x9E3779B97F4A7C15ULL) >> (64 - OWNER_SLOT_BITS);
	return bpf_map_lookup_elem(&owner_slots, &idx);
}

/* SYN_SENT: remember who connects. False when neither a slot nor conn_owner had room. */
static __always_inline bool owner_remember(const struct sock *sk, const struct conn_state *st,
					   bool btf)
{
	struct owner_slot *slot = owner_slot_of(sk, btf);
	__u64 key = (__u64)sk;

	if (slot) {
		__sync_fetch_and_add(&slot->claims, 1);
		if (*(volatile __s64 *)&slot->claims == 1) {
			slot->st = *st;
			slot->sk = key;
			return true;
		}
		__sync_fetch_and_add(&slot->claims, -1);
		__sync_fetch_and_add(&gw_owner_overflows, 1);
	}
	if (bpf_map_update_elem(&conn_owner, &key, st, BPF_ANY))
		return false;
	__sync_fetch_and_add(&gw_conn_owner_n, 1);
	return true;
}

/* The owner remembered for this socket, if any; `slot` says where, for owner_forget(). */
static __always_inline struct conn_state *owner_find(const struct sock *sk, bool btf,
						     struct owner_slot **slot)
{
	__u64 key = (__u64)sk;

	*slot = owner_slot_of(sk, btf);
	if (*slot && (*slot)->sk == key)
		return &(*slot)->st;
	*slot = NULL;
	if (!gw_conn_owner_n)
		return NULL;
	return bpf_map_lookup_elem(&conn_owner, &key);
}

/* CLOSE, once the owner has been read. */
static __always_inline void owner_forget(const struct sock *sk, struct owner_slot *slot)
{
	__u64 key = (__u64)sk;

	if (slot) {
		slot->sk = 0;
		__sync_fetch_and_add(&slot->claims, -1);
		return;
	}
	if (!bpf_map_delete_elem(&conn_owner, &key))
		__sync_fetch_and_add(&gw_conn_owner_n, -1);
}

/*
 * Who listens on a port (netns, port), for the connections accepted there; also seeded by the
 * agent from /proc at start. An LRU: in the connect flavour every bind() of a TCP socket makes a
 * key, and a client's bind to no address and no port leaves nothing its destroy can tell it by
 * (see bound_explicitly()), so such keys would fill a plain map; every accept's lookup keeps a live
 * listener's key recent.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct gw_listen_key);
	__type(value, struct gw_net_task);
} listen_owner SEC(".maps");

/* Who listens on the connection's local port: the owner of a connection accepted there. */
static __always_inline struct gw_net_task *listener_owner(const struct gw_net_tuple *tu)
{
	struct gw_listen_key lk = { .netns = tu->netns, .port = tu->local_port };

	return bpf_map_lookup_elem(&listen_owner, &lk);
}

static __always_inline struct gw_listen_key listen_key_of(const struct sock *sk, bool btf)
{
	struct gw_listen_key k = {
		.netns = sk_netns(sk, btf),
		.port = SK_RD(btf, sk, __sk_common.skc_num),
	};
	return k;
}

#endif /* GW_LIB_OWNER_H */
