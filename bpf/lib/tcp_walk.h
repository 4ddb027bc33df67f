/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcp_walk.h - the walks the agent runs over open connections: the TCP iterator's sample of bytes
 * so far (and, in the connect flavour, results not reported yet), and the owner maps' walk.
 *
 * Layering (a header includes only those above it): gw_bpf_common.h -> lib/net_common.h ->
 * lib/owner.h -> lib/fold.h -> lib/tcp.h -> lib/tcp_walk.h; lib/net_common.h -> lib/udp.h ->
 * lib/dns.h -> lib/dns_skb.h. Only entry files (bpf/network.bpf.c, a test program) define programs (SEC); they may
 * include any header and call its static inline functions with synthetic inputs.
 */
#ifndef GW_LIB_TCP_WALK_H
#define GW_LIB_TCP_WALK_H

#include "lib/tcp.h"

/* A connection established and not yet closed: what the walks count and report. */
static __always_inline bool connection_open(int state)
{
	return state != TCP_LISTEN && state != TCP_CLOSE && state != TCP_SYN_SENT &&
	       state != TCP_SYN_RECV;
}

/*
 * Set by the agent for its first run of the iterator in the connect flavour, before the TCP
 * programs attach: that run only marks the accepted connections open then (tcp_sampled entries of
 * 0 bytes), which predate the agent and must not be reported as accepted when they close.
 */
__u32 gw_tcp_sample_baseline;

/*
 * Folds the progress of every tracked open connection since its last sample (see tcp_sampled). In
 * the connect flavour, also reports the result of each open connection not reported yet: an
 * outbound one's OK, an accepted one's accept (its tcp_sampled entry, made now, says so at close).
 */
static __always_inline int tcp_sample(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp;
	const struct sock *sk;
	struct gw_net_tuple tu = {};
	struct tcp_sampled *done, now_seen;
	struct gw_tcp_fold *v;
	struct tcp_counters c;
	struct owner_slot *slot;
	struct conn_state *st;
	__u64 key, sent, received, prev_sent, prev_received;
	int state;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0; /* request and time-wait sockets carry no counters */
	sk = (const struct sock *)tp;
	key = (__u64)tp;
	state = sk->__sk_common.skc_state;
	if (!connection_open(state))
		return 0;
	st = owner_find(sk, true, &slot);
	sock_tuple(sk, tp, &tu, st ? 0 : 1, true);
	done = bpf_map_lookup_elem(&tcp_sampled, &key);
	if (gw_tcp_at_connect) {
		if (st && !st->established) {
			report_established_late(st, &tu);
		} else if (!st && !done && sk->sk_max_ack_backlog) {
			/* accepted (a child keeps its listener's backlog); not an outbound one whose
			 * owner went unrecorded */
			struct tcp_sampled none = {};

			/* not marked, not reported: its close will report it */
			if (bpf_map_update_elem(&tcp_sampled, &key, &none, BPF_NOEXIST))
				return 0;
			__sync_fetch_and_add(&gw_tcp_sampled_n, 1);
			if (!gw_tcp_sample_baseline)
				report_accept(&tu, fold_entry_accepted(&tu, true));
			done = bpf_map_lookup_elem(&tcp_sampled, &key);
		}
		if (gw_tcp_sample_baseline)
			return 0;
	}
	read_counters(sk, tp, tu.direction, state, true, &c);
	prev_sent = done ? done->sent : 0;
	prev_received = done ? done->received : 0;
	sent = c.bytes_sent > prev_sent ? c.bytes_sent - prev_sent : 0;
	received = c.bytes_received > prev_received ? c.bytes_received - prev_received : 0;
	if (!sent && !received)
		return 0;
	v = st ? fold_entry(&st->task, &tu) : fold_entry_accepted(&tu, false);
	if (!v)
		return 0; /* no room, or accepted before the agent: counted at close instead */
	if (done) {
		done->sent = c.bytes_sent;
		done->received = c.bytes_received;
	} else {
		now_seen.sent = c.bytes_sent;
		now_seen.received = c.bytes_received;
		if (bpf_map_update_elem(&tcp_sampled, &key, &now_seen, BPF_NOEXIST))
			return 0; /* not remembered, so not counted: close counts it all */
		__sync_fetch_and_add(&gw_tcp_sampled_n, 1);
	}
	__sync_fetch_and_add(&v->bytes_sent, sent);
	__sync_fetch_and_add(&v->bytes_received, received);
	return 0;
}

/*
 * The connect flavour's walk of results (the agent runs it every second where the kernel has
 * bpf_rdonly_cast): the owners of outbound connections, a few hundred map entries at most, not
 * every socket of the host, whose walk (tens of thousands of TIME_WAIT sockets under a connect
 * loop, each taken and released) was a third of the agent's CPU when run every second
 * (BENCHMARKS.md). Reports the OK of each owned connection that is open and not reported yet. The
 * socket is read through the address its owner entry holds: an untrusted pointer whose loads are
 * fault-checked, and TCP sockets are freed by RCU into the same cache, so a socket destroyed
 * meanwhile reads as a socket; its destroy clears the entry before the socket is freed.
 * Namespaces do not matter here: the entries are the host's.
 */
static __always_inline void owner_check_open(struct conn_state *st, __u64 addr)
{
	struct gw_net_tuple tu = {};
	const struct tcp_sock *tp;
	const struct sock *sk;
	int state;

	if (!gw_kfunc_cast || !addr || st->established || st->err)
		return;
	tp = bpf_rdonly_cast((void *)addr, bpf_core_type_id_kernel(struct tcp_sock));
	sk = (const struct sock *)tp;
	state = sk->__sk_common.skc_state;
	if (!connection_open(state))
		return;
	sock_tuple(sk, tp, &tu, 0, true);
	report_established_late(st, &tu);
}

#endif /* GW_LIB_TCP_WALK_H */
