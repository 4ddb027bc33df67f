// SPDX-License-Identifier: GPL-2.0
/*
 * network.bpf.c - the network object's programs: outbound and inbound TCP connections with their
 * process, result, bytes and RTT; the first datagram per UDP socket and peer; DNS answers. Each
 * program is a thin entry point over the headers in bpf/lib/, which own the logic by concern:
 * net_common.h (task, socket tuple, clock), owner.h (socket and listener owners), fold.h (folding
 * repeated connections), tcp.h (the TCP state machine), tcp_walk.h (walks of open connections),
 * udp.h (UDP peers), dns.h and dns_skb.h (DNS answers), proto_capture.h (the first bytes of
 * TCP connections). The agent loads one flavour per signal (agent/net/net_hooks.c); the headers
 * say which program belongs to which.
 */
#include "lib/tcp_walk.h"
#include "lib/dns_skb.h"
#include "lib/proto_capture.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * The programs the newest kernels alone accept come first: libbpf loads in this order, so a
 * kernel that refuses one says so before the others were verified for nothing.
 */
SEC("iter/bpf_map_elem")
int gw_owner_slots_walk(struct bpf_iter__bpf_map_elem *ctx)
{
	struct owner_slot *slot = ctx->value;

	if (slot)
		owner_check_open(&slot->st, *(volatile __u64 *)&slot->sk);
	return 0;
}

SEC("iter/bpf_map_elem")
int gw_conn_owner_walk(struct bpf_iter__bpf_map_elem *ctx)
{
	struct conn_state *st = ctx->value;
	__u64 *key = ctx->key;

	if (key && st)
		owner_check_open(st, *key);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(gw_dns_recv, const struct sock *sk, int ret, int flags)
{
	return dns_recv(sk, ret, flags);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(gw_tcp_state_btf, const struct sock *sk, int oldstate, int newstate)
{
	if (!interesting(oldstate, newstate))
		return 0;
	/* a BTF pointer: read directly, no probe-read helper call */
	if (BPF_CORE_READ_BITFIELD(sk, sk_protocol) != IPPROTO_TCP_)
		return 0;
	return on_state(sk, oldstate, newstate, true, false);
}

SEC("tp/sock/inet_sock_set_state")
int gw_tcp_state_tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP_ || !interesting(ctx->oldstate, ctx->newstate))
		return 0;
	return on_state((const struct sock *)ctx->skaddr, ctx->oldstate, ctx->newstate, false, false);
}

SEC("sockops")
int gw_tcp_sockops(struct bpf_sock_ops *ops)
{
	struct bpf_sock *bsk;
	const struct sock *sk;
	int oldstate, newstate;

	/* the callbacks run for every socket of the host: the ones not used here leave first */
	switch (ops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		oldstate = TCP_CLOSE;
		newstate = TCP_SYN_SENT;
		break;
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
		oldstate = TCP_CLOSE;
		newstate = TCP_LISTEN;
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		oldstate = TCP_SYN_SENT;
		newstate = TCP_ESTABLISHED;
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		oldstate = TCP_SYN_RECV;
		newstate = TCP_ESTABLISHED;
		break;
	default:
		return 1;
	}
	bsk = ops->sk;
	/* these callbacks come with full sockets; the cast below may not check */
	if (!bsk || !ops->is_fullsock)
		return 1;
	/* a BTF pointer, as tp_btf gives: the same direct reads */
	sk = (const struct sock *)tcp_sock_cast(bsk);
	if (sk)
		on_state(sk, oldstate, newstate, true, true);
	return 1; /* observe only: never changes what the socket does */
}

SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(gw_tcp_destroy, const struct sock *sk)
{
	if (BPF_CORE_READ_BITFIELD(sk, sk_protocol) != IPPROTO_TCP_)
		return 0;
	return on_destroy(sk);
}

SEC("tp_btf/inet_sk_error_report")
int BPF_PROG(gw_tcp_error, const struct sock *sk)
{
	return on_error(sk);
}

SEC("iter/tcp")
int gw_tcp_sample(struct bpf_iter__tcp *ctx)
{
	return tcp_sample(ctx);
}

static __always_inline void on_connect(struct bpf_sock_addr *ctx, bool v6)
{
	/* TCP only: MPTCP and SCTP stream sockets connect here too, and are never destroyed as TCP */
	if (gw_tcp_at_connect && ctx->protocol == IPPROTO_TCP_)
		tcp_owner_at_connect(ctx);
	if (gw_udp_peers)
		peer_seen_once(ctx, v6, GW_UDP_HOOK_CONNECT);
}

/* Every connect() of the host: the UDP signal's, and the connect flavour's TCP owners. */
SEC("cgroup/connect4")
int gw_connect4(struct bpf_sock_addr *ctx)
{
	on_connect(ctx, false);
	return 1;
}

SEC("cgroup/connect6")
int gw_connect6(struct bpf_sock_addr *ctx)
{
	on_connect(ctx, true);
	return 1;
}

SEC("cgroup/post_bind4")
int gw_tcp_bind4(struct bpf_sock *ctx)
{
	tcp_bind_owner(ctx);
	return 1;
}

SEC("cgroup/post_bind6")
int gw_tcp_bind6(struct bpf_sock *ctx)
{
	tcp_bind_owner(ctx);
	return 1;
}

SEC("cgroup/sendmsg4")
int gw_udp_sendmsg4(struct bpf_sock_addr *ctx)
{
	peer_seen_once(ctx, false, GW_UDP_HOOK_SENDMSG);
	return 1;
}

SEC("cgroup/sendmsg6")
int gw_udp_sendmsg6(struct bpf_sock_addr *ctx)
{
	peer_seen_once(ctx, true, GW_UDP_HOOK_SENDMSG);
	return 1;
}

SEC("cgroup/recvmsg4")
int gw_dns_sender4(struct bpf_sock_addr *ctx)
{
	dns_sender_note(ctx, false);
	return 1;
}

SEC("cgroup/recvmsg6")
int gw_dns_sender6(struct bpf_sock_addr *ctx)
{
	dns_sender_note(ctx, true);
	return 1;
}

SEC("cgroup_skb/ingress")
int gw_dns_ingress(struct __sk_buff *skb)
{
	return dns_capture(skb, false);
}

SEC("cgroup_skb/egress")
int gw_dns_egress(struct __sk_buff *skb)
{
	return dns_capture(skb, true);
}

SEC("cgroup_skb/ingress")
int gw_proto_ingress(struct __sk_buff *skb)
{
	return proto_capture(skb, false);
}

SEC("cgroup_skb/egress")
int gw_proto_egress(struct __sk_buff *skb)
{
	return proto_capture(skb, true);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(gw_proto_send, const struct sock *sk, int ret, int flags)
{
	return proto_syscall(sk, ret, flags, true);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(gw_proto_recv, const struct sock *sk, int ret, int flags)
{
	return proto_syscall(sk, ret, flags, false);
}
