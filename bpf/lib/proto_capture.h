/* SPDX-License-Identifier: GPL-2.0 */
/*
 * proto_capture.h - the first bytes of each TCP connection in each direction, cut to
 * GW_PROTO_CAPTURE_MAX, for the agent to name the application protocol by (RFB and SSH banners,
 * RDP's X.224 request and confirm, a TLS ClientHello's server name, an HTTP Host).
 *
 * Two flavours, the agent loads one (agent/net/net_proto_hooks.c):
 *  - preferred (6.3+, x86-64): tp_btf/sock_send_length and sock_recv_length, which fire once per
 *    send or receive call of a socket (not per packet: a connect storm without data never runs
 *    them), copying from the caller's buffer as the syscall's arguments name it;
 *  - fallback: cgroup_skb/ingress and egress on the root cgroup v2, on every packet of the host,
 *    copying the first data segment.
 *
 * The per-socket "still wanted" flag is the socket's own TCP counters, which the stack keeps
 * anyway (see proto_syscall() and proto_capture() for which): a socket past its first bytes in a
 * direction leaves after a few loads, and no socket costs an allocation (socket-local storage
 * would cost one per connection, and a lookup per call or packet).
 *
 * Layering (a header includes only those above it): gw_bpf_common.h -> lib/net_common.h ->
 * lib/owner.h -> lib/proto_capture.h, which also uses lib/dns.h's reader of syscall arguments.
 * Only entry files (bpf/network.bpf.c, a test program) define programs (SEC).
 */
#ifndef GW_LIB_PROTO_CAPTURE_H
#define GW_LIB_PROTO_CAPTURE_H

#include "lib/owner.h"
#include "lib/dns.h"

#define NR_WRITE_ 1
#define NR_WRITEV_ 20
#define NR_SENDTO_ 44
#define NR_SENDMSG_ 46

/* Bytes of the segment to copy: 1..GW_PROTO_CAPTURE_MAX, in a form the verifier can bound. */
static __always_inline __u32 proto_slice_len(__u32 len)
{
	_Static_assert((GW_PROTO_CAPTURE_MAX & (GW_PROTO_CAPTURE_MAX - 1)) == 0, "power of two");
	if (len > GW_PROTO_CAPTURE_MAX)
		len = GW_PROTO_CAPTURE_MAX;
	return ((len - 1) & (GW_PROTO_CAPTURE_MAX - 1)) + 1;
}

/*
 * The socket's owner and direction as the TCP hooks know them: the connecting task (outbound) or
 * the listener's owner (inbound); direction 2 when neither is known.
 */
static __always_inline void proto_owner(const struct sock *sk, const struct tcp_sock *tp,
					struct gw_net_tuple *tu, struct gw_net_task *task)
{
	struct gw_net_task *lo;
	struct owner_slot *slot;
	struct conn_state *st = owner_find(sk, true, &slot);

	sock_tuple(sk, tp, tu, st ? 0 : 2, true);
	lo = st ? NULL : listener_owner(tu);
	if (lo)
		tu->direction = 1;
	if (st)
		*task = st->task;
	else if (lo)
		*task = *lo;
	else
		__builtin_memset(task, 0, sizeof(*task));
}

/* Counted when a first send or receive's buffer could not be read (io_uring, sendfile, a fault). */
__u64 gw_proto_unread;

/* Where a send took its bytes from: the first buffer the sending syscall names (x86-64). */
static __always_inline bool proto_write_args(const void **buf, __u64 *len)
{
#if defined(__TARGET_ARCH_x86)
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 nr, arg1, arg2;
	struct pt_regs *regs;
	struct user_msghdr m;
	struct iovec iov;

	if (task->flags & (PF_KTHREAD_ | PF_IO_WORKER_))
		return false;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return false;
	nr = regs->orig_ax;
	arg1 = regs->si;
	arg2 = regs->dx;
	switch (nr) {
	case NR_WRITE_:
	case NR_SENDTO_:
		*buf = (const void *)arg1;
		*len = arg2;
		return true;
	case NR_WRITEV_:
		if (!arg2 || bpf_probe_read_user(&iov, sizeof(iov), (const void *)arg1))
			return false;
		break;
	case NR_SENDMSG_:
		if (bpf_probe_read_user(&m, sizeof(m), (const void *)arg1) || !m.msg_iovlen ||
		    bpf_probe_read_user(&iov, sizeof(iov), m.msg_iov))
			return false;
		break;
	default:
		return false;
	}
	*buf = iov.iov_base;
	*len = iov.iov_len;
	return true;
#else
	return false; /* the agent loads these programs on x86-64 only */
#endif
}

/*
 * A send or receive call returned `ret` bytes on `sk`: when they are the socket's first in that
 * direction, copies up to GW_PROTO_CAPTURE_MAX of them from the caller's buffer. The socket's
 * counters say whether they are the first, after the call: received, its read position
 * (copied_seq) is `ret` past the first byte (bytes_received less what waits unread); sent, what
 * it has written (acked and not yet acked: write_seq - snd_una) less `ret` is nothing, or the SYN
 * an outbound socket counts in bytes_acked.
 */
static __always_inline int proto_syscall(const struct sock *sk, int ret, int flags, bool send)
{
	const struct tcp_sock *tp;
	struct gw_proto_event *e;
	const void *buf = NULL;
	__u64 len = 0;
	__u32 n;

	if (ret <= 0 || (flags & MSG_PEEK_) ||
	    BPF_CORE_READ_BITFIELD(sk, sk_protocol) != IPPROTO_TCP_)
		return 0;
	tp = tcp_sock_cast(sk);
	if (!tp)
		return 0;
	if (send) {
		if (tp->bytes_acked + (__u32)(tp->write_seq - tp->snd_una) - (__u64)ret > 1)
			return 0;
	} else if ((__u32)(tp->bytes_received - (tp->rcv_nxt - tp->copied_seq)) != (__u32)ret) {
		return 0;
	}
	if (send) {
		if (!proto_write_args(&buf, &len))
			buf = NULL;
	} else {
		struct dns_read rd = {};

		if (dns_read_args(&rd)) {
			buf = rd.buf;
			len = rd.len;
		}
	}
	if (!buf) {
		__sync_fetch_and_add(&gw_proto_unread, 1);
		return 0;
	}
	e = gw_reserve_uid(sizeof(*e), GW_DROP_PROTO, gw_current_uid());
	if (!e)
		return 0;
	if ((__u64)ret < len)
		len = ret;
	n = proto_slice_len(len ? len : 1);
	if (!len || bpf_probe_read_user(e->data, n, buf)) {
		bpf_ringbuf_discard(e, 0);
		__sync_fetch_and_add(&gw_proto_unread, 1);
		return 0;
	}
	gw_fill_hdr(&e->hdr, GW_EV_TCP_PROTO, sizeof(*e));
	proto_owner(sk, tp, &e->tuple, &e->task);
	/* the caller is who did it: a forked server's child, not only the listener's owner */
	fill_task(&e->task, true);
	e->payload_len = ret > 0xffff ? 0xffff : ret;
	e->captured_len = n;
	e->flags = send ? GW_PROTO_F_EGRESS : 0;
	gw_submit(e);
	return 0;
}

/* The IP protocol and the offset of the L4 header, from the packet's linear part. */
static __always_inline int proto_l4(struct __sk_buff *skb, __u8 *ipproto, __u32 *l4_off)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__u8 *p = data;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (data + 20 > end)
			return -1;
		*ipproto = p[9];
		*l4_off = (p[0] & 0xf) * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (data + 40 > end)
			return -1;
		*ipproto = p[6]; /* extension headers in front of TCP are not followed */
		*l4_off = 40;
	} else {
		return -1;
	}
	return 0;
}

/*
 * Offset of the TCP payload in the packet (which starts at its IP header), 0 if the packet is not
 * TCP. Read straight from the packet where the headers are in its linear part (always, for what
 * reaches a socket or leaves one), a bounds check instead of a helper call on every packet.
 */
static __always_inline __u32 proto_payload_off(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__u32 l4 = 0;
	__u8 ipproto = 0, b;

	if (proto_l4(skb, &ipproto, &l4) || ipproto != IPPROTO_TCP_ || l4 < 20 || l4 > 60)
		return 0;
	if (data + l4 + 13 <= end) {
		b = *(__u8 *)(data + l4 + 12);
	} else if (bpf_skb_load_bytes(skb, l4 + 12, &b, 1)) {
		return 0;
	}
	/* data offset: the high nibble of the TCP header's 13th byte */
	return l4 + (b >> 4) * 4;
}

/*
 * The checks run cheapest first, for every packet of the host: the socket's state (a context
 * load), the packet's headers (bounds-checked loads: a bare ACK leaves here), and only then the
 * socket as tcp_sock for its counters. Only an established socket is a full one here (listeners,
 * request and timewait sockets are not), and the packet being TCP makes it a TCP socket.
 */
static __always_inline int proto_capture(struct __sk_buff *skb, bool egress)
{
	struct bpf_sock *bsk = skb->sk;
	const struct tcp_sock *tp;
	const struct sock *sk;
	struct gw_proto_event *e;
	__u32 off, len, n;

	if (!bsk || bsk->state != TCP_ESTABLISHED)
		return 1;
	off = proto_payload_off(skb);
	if (!off || skb->len <= off)
		return 1; /* not TCP over IP, or a bare ACK */
	len = skb->len - off;
	tp = tcp_sock_cast(bsk);
	if (!tp)
		return 1;
	if (egress) {
		/* its first data segment: the stack counted this packet's payload already */
		if (tp->bytes_sent != len)
			return 1;
	} else if (tp->data_segs_in) {
		return 1; /* counted after this program runs: set by an earlier data segment */
	}
	sk = (const struct sock *)tp;
	e = gw_reserve_uid(sizeof(*e), GW_DROP_PROTO, bpf_get_socket_uid(skb));
	if (!e)
		return 1;
	n = proto_slice_len(len);
	if (bpf_skb_load_bytes(skb, off, e->data, n)) {
		bpf_ringbuf_discard(e, 0);
		gw_count_drop(GW_DROP_PROTO);
		return 1;
	}
	gw_fill_hdr(&e->hdr, GW_EV_TCP_PROTO, sizeof(*e));
	proto_owner(sk, tp, &e->tuple, &e->task);
	e->payload_len = len > 0xffff ? 0xffff : len;
	e->captured_len = n;
	e->flags = egress ? GW_PROTO_F_EGRESS : 0;
	gw_submit(e);
	return 1;
}

#endif /* GW_LIB_PROTO_CAPTURE_H */
