/* SPDX-License-Identifier: GPL-2.0 */
/*
 * proto_capture.h - the first data segment of each TCP connection in each direction, cut to
 * GW_PROTO_CAPTURE_MAX bytes, for the agent to name the application protocol by (RFB and SSH
 * banners, RDP's X.224 request and confirm, a TLS ClientHello's server name, an HTTP Host). Runs
 * in cgroup_skb ingress and egress on the root cgroup v2: every packet of the host.
 *
 * The per-socket "still wanted" flag is the socket's own TCP counters, which the stack keeps
 * anyway: a socket that has sent more than this packet's length (bytes_sent) or has received a
 * data segment before (data_segs_in) is done in that direction. A packet of a socket past its first
 * segments therefore leaves after one helper call and two loads, and no socket costs an
 * allocation (socket-local storage would cost one per connection, and a lookup per packet).
 *
 * Layering (a header includes only those above it): gw_bpf_common.h -> lib/net_common.h ->
 * lib/owner.h -> lib/proto_capture.h. Only entry files (bpf/network.bpf.c, a test program) define
 * programs (SEC).
 */
#ifndef GW_LIB_PROTO_CAPTURE_H
#define GW_LIB_PROTO_CAPTURE_H

#include "lib/owner.h"

/* Bytes of the segment to copy: 1..GW_PROTO_CAPTURE_MAX, in a form the verifier can bound. */
static __always_inline __u32 proto_slice_len(__u32 len)
{
	_Static_assert((GW_PROTO_CAPTURE_MAX & (GW_PROTO_CAPTURE_MAX - 1)) == 0, "power of two");
	if (len > GW_PROTO_CAPTURE_MAX)
		len = GW_PROTO_CAPTURE_MAX;
	return ((len - 1) & (GW_PROTO_CAPTURE_MAX - 1)) + 1;
}

/* Offset of the TCP payload in the packet (which starts at its IP header), 0 if not TCP. */
static __always_inline __u32 proto_payload_off(struct __sk_buff *skb)
{
	__u8 b[2];
	__u32 l4_off;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, 0, b, 1))
			return 0;
		l4_off = (b[0] & 0xf) * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, 6, b, 1) || b[0] != IPPROTO_TCP_)
			return 0; /* extension headers in front of TCP are not followed */
		l4_off = 40;
	} else {
		return 0;
	}
	/* data offset: the high nibble of the TCP header's 13th byte */
	if (bpf_skb_load_bytes(skb, l4_off + 12, b, 1))
		return 0;
	return l4_off + (b[0] >> 4) * 4;
}

static __always_inline int proto_capture(struct __sk_buff *skb, bool egress)
{
	struct bpf_sock *bsk = skb->sk;
	const struct tcp_sock *tp;
	const struct sock *sk;
	struct gw_proto_event *e;
	struct gw_net_tuple tu = {};
	struct gw_net_task *lo;
	struct owner_slot *slot;
	struct conn_state *st;
	__u32 off, len, n;
	__u64 sent = 0;

	if (!bsk)
		return 1;
	tp = bpf_skc_to_tcp_sock(bsk);	/* NULL unless a full TCP socket */
	if (!tp)
		return 1;
	if (egress) {
		/* its first data segment: the stack counted this packet's payload already */
		sent = tp->bytes_sent;
		if (!sent || sent > skb->len)
			return 1;
	} else if (tp->data_segs_in) {
		return 1; /* counted after this program runs: set by an earlier data segment */
	}
	sk = (const struct sock *)tp;
	if (sk->__sk_common.skc_state == TCP_LISTEN)
		return 1; /* data on the handshake's last ACK: the child socket is not made yet */
	off = proto_payload_off(skb);
	if (!off || skb->len <= off)
		return 1; /* not TCP over IP, or a bare ACK */
	len = skb->len - off;
	if (egress && len != sent)
		return 1;
	st = owner_find(sk, true, &slot);
	sock_tuple(sk, tp, &tu, st ? 0 : 2, true);
	lo = st ? NULL : listener_owner(&tu);
	if (lo)
		tu.direction = 1;
	e = gw_reserve(sizeof(*e), GW_DROP_PROTO);
	if (!e)
		return 1;
	n = proto_slice_len(len);
	if (bpf_skb_load_bytes(skb, off, e->data, n)) {
		bpf_ringbuf_discard(e, 0);
		gw_count_drop(GW_DROP_PROTO);
		return 1;
	}
	gw_fill_hdr(&e->hdr, GW_EV_TCP_PROTO, sizeof(*e));
	if (st)
		e->task = st->task;
	else if (lo)
		e->task = *lo;
	else
		__builtin_memset(&e->task, 0, sizeof(e->task));
	e->tuple = tu;
	e->payload_len = len > 0xffff ? 0xffff : len;
	e->captured_len = n;
	e->flags = egress ? GW_PROTO_F_EGRESS : 0;
	gw_submit(e);
	return 1;
}

#endif /* GW_LIB_PROTO_CAPTURE_H */
