/* SPDX-License-Identifier: GPL-2.0 */
/*
 * udp.h - the first datagram per UDP socket and peer, from the cgroup sock_addr hooks, and the
 * (socket, peer) pairs DNS answers are checked against (sock_peers).
 *
 * UDP uses the cgroup sock_addr hooks on the root cgroup v2 (connect4/6, sendmsg4/6): process
 * context, first packet per socket cookie and peer (sock_peers, an LRU). Those programs, and the
 * post_bind ones, only observe: they always return 1 (allow) and never rewrite the address. They
 * also remember which sockets a process pointed at port 53 (UDP or TCP), for the DNS answers
 * below.
 *
 * Layering (a header includes only those above it): gw_bpf_common.h -> lib/net_common.h ->
 * lib/owner.h -> lib/fold.h -> lib/tcp.h -> lib/tcp_walk.h; lib/net_common.h -> lib/udp.h ->
 * lib/dns.h -> lib/dns_skb.h. Only entry files (bpf/network.bpf.c, a test program) define programs (SEC); they may
 * include any header and call its static inline functions with synthetic inputs.
 */
#ifndef GW_LIB_UDP_H
#define GW_LIB_UDP_H

#include "lib/net_common.h"

struct sock_peer_key {
	__u64 cookie;
	__u8 addr[16];
	__u16 port;
	__u16 pad[3];
};

/*
 * (socket cookie, peer) pairs the sock_addr hooks saw a process connect or send to: every UDP
 * peer (its first datagram is reported once) and the port-53 peers of TCP sockets; a UDP socket that
 * sent to any port 53 also has (cookie, ::, 53). A DNS answer is believed when its receiving socket
 * has its source here: a process asked that server from that socket. An LRU: under heavy churn an
 * old pair may go, and its late answer is then counted as unsolicited, not lost silently.
 * An LRU is allocated whole at creation; 16,384 pairs are far more UDP sockets and peers than an
 * endpoint keeps recent (a pair matters only until its socket's answers are in). The value is the
 * asking process's uid, read here in its context: the cgroup_skb fallback has no process, and the
 * socket's own uid is given as its network namespace's owner sees it (root in a user namespace of
 * any user's making).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sock_peer_key);
	__type(value, __u32);
} sock_peers SEC(".maps");

/* ---- UDP and other connectionless sends --------------------------------------------------- */

/* The address a sock_addr hook was given (a peer, or the sender at recvmsg), v4 as v4-mapped. */
static __always_inline void user_addr(const struct bpf_sock_addr *ctx, bool v6, __u8 out[16])
{
	if (v6) {
		__u32 a0 = ctx->user_ip6[0], a1 = ctx->user_ip6[1], a2 = ctx->user_ip6[2],
		      a3 = ctx->user_ip6[3];

		__builtin_memcpy(out, &a0, 4);
		__builtin_memcpy(out + 4, &a1, 4);
		__builtin_memcpy(out + 8, &a2, 4);
		__builtin_memcpy(out + 12, &a3, 4);
	} else {
		v4_mapped(out, ctx->user_ip4);
	}
}

static __always_inline void peer_seen_once(struct bpf_sock_addr *ctx, bool v6, __u32 hook)
{
	struct sock_peer_key k = {};
	struct gw_udp_event *e;
	bool udp = ctx->type == SOCK_DGRAM_;
	__u32 uid = (__u32)bpf_get_current_uid_gid();

	/* TCP connects are the tracepoint's; one to port 53 is only remembered, for its answers */
	if (!udp && ctx->user_port != bpf_htons(DNS_PORT))
		return;
	k.cookie = bpf_get_socket_cookie(ctx);
	user_addr(ctx, v6, k.addr);
	k.port = bpf_ntohs((__u16)ctx->user_port);
	if (bpf_map_lookup_elem(&sock_peers, &k))
		return;
	bpf_map_update_elem(&sock_peers, &k, &uid, BPF_ANY);
	if (k.port == DNS_PORT && udp) {
		/* any server: lets an unconnected socket's reads be told from others by cookie alone */
		struct sock_peer_key any = { .cookie = k.cookie, .port = DNS_PORT };

		bpf_map_update_elem(&sock_peers, &any, &uid, BPF_ANY);
	}
	if (!udp)
		return;

	e = gw_reserve_uid(sizeof(*e), GW_DROP_UDP, gw_current_uid());
	if (!e)
		return;
	gw_fill_hdr(&e->hdr, GW_EV_UDP_SEND, sizeof(*e));
	fill_task(&e->task, false);
	__builtin_memset(&e->tuple, 0, sizeof(e->tuple));
	__builtin_memcpy(e->tuple.remote_addr, k.addr, 16);
	e->tuple.remote_port = k.port;
	e->tuple.family = v6 ? AF_INET6 : AF_INET;
	e->tuple.protocol = ctx->protocol;
	{
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();

		e->tuple.netns = BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
	}
	if (ctx->sk) {
		struct bpf_sock *sk = ctx->sk;

		/* set once the socket is bound; an unbound socket shows the wildcard address */
		e->tuple.local_port = sk->src_port;
		if (v6) {
			__u32 l[4] = { sk->src_ip6[0], sk->src_ip6[1], sk->src_ip6[2],
				       sk->src_ip6[3] };

			__builtin_memcpy(e->tuple.local_addr, l, 16);
		} else {
			v4_mapped(e->tuple.local_addr, sk->src_ip4);
		}
	} else if (!v6) {
		v4_mapped(e->tuple.local_addr, 0);
	}
	e->hook = hook;
	e->pad = 0;
	gw_submit(e);
}

/* The UDP signal (peer_seen_once) is on: the agent sets it; the connect flavour may run without. */
const volatile bool gw_udp_peers;

#endif /* GW_LIB_UDP_H */
