/* SPDX-License-Identifier: GPL-2.0 */
/*
 * latency.h - the live RTT of watched connections: for every open TCP socket of the walk's network
 * namespace whose peer and port the agent watches (remote-control flows), the kernel's own
 * smoothed RTT and its mean deviation, written to the iterator's output. The agent runs the walk a
 * few times per window; an unwatched socket costs two hash lookups, and a host with nothing
 * watched is not walked at all.
 */
#ifndef GW_LIB_LATENCY_H
#define GW_LIB_LATENCY_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "gw_latency.h"

#ifndef AF_INET6
#define AF_INET6 10
#endif

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GW_LATENCY_WATCH_MAX);
	__type(key, struct gw_latency_key);
	__type(value, __u64); /* the process id of the flow */
} latency_watch SEC(".maps");

static __always_inline void latency_v4_mapped(__u8 *dst, __u32 addr)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, &addr, 4);
}

static __always_inline bool latency_open(int state)
{
	return state == TCP_ESTABLISHED || state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 ||
	       state == TCP_CLOSE_WAIT || state == TCP_CLOSING || state == TCP_LAST_ACK;
}

static __always_inline int latency_sample(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct gw_latency_sample s = {};
	const struct sock *sk;
	struct tcp_sock *tp;
	__u64 *process_id;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0; /* request and time-wait sockets have no RTT estimate of their own */
	sk = (const struct sock *)tp;
	if (!latency_open(sk->__sk_common.skc_state))
		return 0;
	if (sk->__sk_common.skc_family == AF_INET6) {
		__builtin_memcpy(s.key.remote_addr, sk->__sk_common.skc_v6_daddr.in6_u.u6_addr8, 16);
		__builtin_memcpy(s.local_addr, sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8, 16);
	} else {
		latency_v4_mapped(s.key.remote_addr, sk->__sk_common.skc_daddr);
		latency_v4_mapped(s.local_addr, sk->__sk_common.skc_rcv_saddr);
	}
	s.local_port = sk->__sk_common.skc_num;
	s.remote_port = bpf_ntohs(sk->__sk_common.skc_dport);
	/* inbound first: an accepted connection's key is our port, an outbound one's the peer's */
	s.key.port = s.local_port;
	s.key.inbound = 1;
	process_id = bpf_map_lookup_elem(&latency_watch, &s.key);
	if (!process_id) {
		s.key.port = s.remote_port;
		s.key.inbound = 0;
		process_id = bpf_map_lookup_elem(&latency_watch, &s.key);
		if (!process_id)
			return 0;
	}
	s.process_id = *process_id;
	s.srtt_us = tp->srtt_us >> 3;
	s.mdev_us = tp->mdev_us >> 2;
	s.bytes_acked = tp->bytes_acked;
	s.bytes_received = tp->bytes_received;
	bpf_seq_write(ctx->meta->seq, &s, sizeof(s));
	return 0;
}

#endif /* GW_LIB_LATENCY_H */
