/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dns.h - DNS answers for the agent's address -> name cache, the preferred way: copied from the
 * reader's buffer at sock_recv_length, with the sender noted at recvmsg.
 *
 * DNS: at most GW_DNS_PAYLOAD_MAX bytes of each answer, flagged GW_DNS_F_ASKED when the receiving
 * socket was pointed at that server's port 53 (sock_peers); parsing is the agent's job (hostile
 * input stays out of the kernel). Preferred: copied from the reader's buffer after it read a socket
 * connected to (or known to have sent to) port 53 (tp_btf/sock_recv_length). Fallback: a
 * cgroup_skb/ingress program on every packet, and the egress one (queries, for the agent's
 * transaction-id match) where that match is configured or the socket check cannot run. Both
 * return 1.
 *
 * Layering (a header includes only those above it): gw_bpf_common.h -> lib/net_common.h ->
 * lib/owner.h -> lib/fold.h -> lib/tcp.h -> lib/tcp_walk.h; lib/net_common.h -> lib/udp.h ->
 * lib/dns.h -> lib/dns_skb.h. Only entry files (bpf/network.bpf.c, a test program) define programs (SEC); they may
 * include any header and call its static inline functions with synthetic inputs.
 */
#ifndef GW_LIB_DNS_H
#define GW_LIB_DNS_H

#include "lib/udp.h"

/* ---- DNS answers ------------------------------------------------------------------------- */

struct dns_scratch {
	struct gw_dns_event ev;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dns_scratch);
} dns_scratch SEC(".maps");

/* How much of a `len`-byte message (len >= 1) is copied: 1..GW_DNS_PAYLOAD_MAX, in arithmetic every
 * verifier follows (6.1 loses a branch-only bound and sees a possible zero length). */
static __always_inline __u64 dns_slice_len(__u64 len)
{
	_Static_assert((GW_DNS_PAYLOAD_MAX & (GW_DNS_PAYLOAD_MAX - 1)) == 0, "power of two");
	if (len > GW_DNS_PAYLOAD_MAX)
		len = GW_DNS_PAYLOAD_MAX;
	return ((len - 1) & (GW_DNS_PAYLOAD_MAX - 1)) + 1;
}

/* Sends the message copied into s->ev.data (n bytes of a len-byte one), within `uid`'s share. */
static __always_inline void dns_emit(struct dns_scratch *s, __u16 type,
				     const struct gw_net_tuple *tu, __u64 len, __u64 n, __u32 flags,
				     __u32 uid)
{
	gw_fill_hdr(&s->ev.hdr, type, sizeof(s->ev));
	s->ev.tuple = *tu;
	s->ev.payload_len = len > 0xffff ? 0xffff : len;
	s->ev.captured_len = n;
	s->ev.flags = flags;
	/* fixed size keeps the verifier simple; DNS answers are few compared to connections */
	gw_output_uid(&s->ev, sizeof(s->ev), GW_DROP_DNS, uid);
}

/*
 * Preferred: the answer as the asking process reads it (sock_recv_length, after each read from a
 * socket), so nothing runs per packet: the program returns on the first load for every socket but
 * the few connected to port 53 or known (sock_peers) to have sent there. The tracepoint gives no
 * buffer; the syscall's own arguments say where the kernel just copied the message (read, readv,
 * recvfrom, recvmsg on x86-64; another way of reading, such as recvmmsg or io_uring, is counted in
 * gw_dns_recv_unread instead). What is read is what the process got; the process could rewrite it
 * first, but it can as well ask a server of its own, so it names only its own connections either
 * way. The cgroup_skb programs below are the fallback for kernels without the tracepoint.
 */
#define MSG_PEEK_ 2
#define NR_READ_ 0
#define NR_READV_ 19
#define NR_RECVFROM_ 45
#define NR_RECVMSG_ 47
#define PF_KTHREAD_ 0x00200000
#define PF_IO_WORKER_ 0x00000010

__u64 gw_dns_recv_unread;

/*
 * TCP DNS sockets whose last read was the 2-byte length alone (glibc reads it so): their next read
 * is the message without it (GW_DNS_F_BARE). By cookie; an LRU, as a socket may close in between.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} dns_tcp_length_read SEC(".maps");

/*
 * Who sent what an unconnected socket reads is copied to the reader only after the tracepoint; the
 * cgroup recvmsg4/6 hooks see it first, in the same call (udp_recvmsg, when the reader asks for the
 * sender). They note a port-53 sender for the reading thread; the tracepoint takes the note.
 */
struct dns_sender {
	__u64 cookie;
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);	/* thread id */
	__type(value, struct dns_sender);
} dns_recv_sender SEC(".maps");

static __always_inline void dns_sender_note(struct bpf_sock_addr *ctx, bool v6)
{
	struct dns_sender v = {};
	__u32 tid;

	if (bpf_ntohs((__u16)ctx->user_port) != DNS_PORT)
		return;
	v.cookie = bpf_get_socket_cookie(ctx);
	user_addr(ctx, v6, v.addr);
	tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&dns_recv_sender, &tid, &v, BPF_ANY);
}

/* Takes this thread's note of the sender of what it is reading from socket `cookie`. */
static __always_inline bool dns_sender_take(__u64 cookie, __u8 addr[16])
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct dns_sender *v = bpf_map_lookup_elem(&dns_recv_sender, &tid);
	bool found = v && v->cookie == cookie;

	if (found)
		__builtin_memcpy(addr, v->addr, 16);
	if (v)
		bpf_map_delete_elem(&dns_recv_sender, &tid);
	return found;
}

/* Where the read went and who sent it, from the reading syscall's arguments. */
struct dns_read {
	const void *buf;
	__u64 len;
	const void *name;	/* the sender's address (unconnected sockets), NULL if not asked for */
};

static __always_inline bool dns_read_args(struct dns_read *r)
{
#if defined(__TARGET_ARCH_x86)
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 nr, arg1, arg2, arg4;
	struct pt_regs *regs;
	struct user_msghdr m;
	struct iovec iov;

	if (task->flags & (PF_KTHREAD_ | PF_IO_WORKER_))
		return false;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return false;
	/* read once, up front: a load the compiler shared between regs and the stack is refused */
	nr = regs->orig_ax;
	arg1 = regs->si;
	arg2 = regs->dx;
	arg4 = regs->r8;
	switch (nr) {
	case NR_READ_:
		r->buf = (const void *)arg1;
		r->len = arg2;
		return true;
	case NR_RECVFROM_:
		r->buf = (const void *)arg1;
		r->len = arg2;
		r->name = (const void *)arg4;
		return true;
	case NR_READV_:
		if (!arg2 || bpf_probe_read_user(&iov, sizeof(iov), (const void *)arg1))
			return false;
		break;
	case NR_RECVMSG_:
		if (bpf_probe_read_user(&m, sizeof(m), (const void *)arg1) || !m.msg_iovlen ||
		    bpf_probe_read_user(&iov, sizeof(iov), m.msg_iov))
			return false;
		r->name = m.msg_namelen ? m.msg_name : NULL;
		break;
	default:
		return false;
	}
	/* the first buffer: a DNS message read into several is cut there, and the parser takes a cut */
	r->buf = iov.iov_base;
	r->len = iov.iov_len;
	return true;
#else
	return false; /* the agent loads this program on x86-64 only */
#endif
}

/*
 * `sender`: who sent it, for an unconnected socket (connected ones have their peer); NULL when the
 * reader did not ask, which leaves the answer unbelievable.
 */
static __always_inline int dns_recv_capture(const struct sock *sk, int ret, __u64 cookie,
					    bool connected, const __u8 *sender,
					    const struct dns_read *r)
{
	struct gw_net_tuple tu = {};
	struct dns_scratch *s;
	__u32 zero = 0, flags = 0;
	__u8 proto = BPF_CORE_READ_BITFIELD(sk, sk_protocol);
	__u64 n;

	if (!r) {
		__sync_fetch_and_add(&gw_dns_recv_unread, 1);
		return 0;
	}
	sock_tuple(sk, NULL, &tu, 1, true);
	tu.protocol = proto;
	tu.remote_port = DNS_PORT;
	/* an unconnected socket has no peer: the sender, or nothing when the reader did not ask */
	if (!connected) {
		if (sender)
			__builtin_memcpy(tu.remote_addr, sender, 16);
		else
			__builtin_memset(tu.remote_addr, 0, 16);
	}
	if (cookie && (connected || sender)) {
		struct sock_peer_key k = { .cookie = cookie, .port = DNS_PORT };

		__builtin_memcpy(k.addr, tu.remote_addr, 16);
		if (bpf_map_lookup_elem(&sock_peers, &k))
			flags |= GW_DNS_F_ASKED;
	}
	if (proto == IPPROTO_TCP_) {
		__u8 one = 1;

		if (ret == 2) {
			/* the length alone: the message comes with the next read */
			bpf_map_update_elem(&dns_tcp_length_read, &cookie, &one, BPF_ANY);
			return 0;
		}
		if (!bpf_map_delete_elem(&dns_tcp_length_read, &cookie))
			flags |= GW_DNS_F_BARE;
	}
	n = (__u64)ret < r->len ? (__u64)ret : r->len;
	if (!n)
		return 0;
	s = bpf_map_lookup_elem(&dns_scratch, &zero);
	if (!s)
		return 0;
	n = dns_slice_len(n);
	if (bpf_probe_read_user(s->ev.data, n, r->buf)) {
		__sync_fetch_and_add(&gw_dns_recv_unread, 1);
		return 0;
	}
	s->ev.uid = (__u32)bpf_get_current_uid_gid();
	dns_emit(s, GW_EV_DNS_ANSWER, &tu, ret, n, flags, s->ev.uid);
	return 0;
}

static __always_inline int dns_recv(const struct sock *sk, int ret, int flags)
{
	struct sock_peer_key any = { .port = DNS_PORT };
	__u16 dport = sk->__sk_common.skc_dport;
	__u8 proto, sender[16];
	struct dns_read r = {};
	bool noted;

	if (dport == bpf_htons(DNS_PORT)) {
		if (ret <= 0 || (flags & MSG_PEEK_))
			return 0;
		proto = BPF_CORE_READ_BITFIELD(sk, sk_protocol);
		if (proto != IPPROTO_UDP_ && proto != IPPROTO_TCP_)
			return 0;
		return dns_recv_capture(sk, ret, sk->__sk_common.skc_cookie.counter, true, NULL,
					dns_read_args(&r) ? &r : NULL);
	}
	if (dport || BPF_CORE_READ_BITFIELD(sk, sk_protocol) != IPPROTO_UDP_)
		return 0;
	/* unconnected UDP: only a socket the sock_addr hooks saw send to a port 53 */
	any.cookie = sk->__sk_common.skc_cookie.counter;
	if (!any.cookie || !bpf_map_lookup_elem(&sock_peers, &any))
		return 0;
	/* taken even from a read not captured (a peek), so it never outlives its own read */
	noted = dns_sender_take(any.cookie, sender);
	if (ret <= 0 || (flags & MSG_PEEK_))
		return 0;
	if (!dns_read_args(&r))
		return dns_recv_capture(sk, ret, any.cookie, false, NULL, NULL);
	if (!noted && r.name)
		return 0; /* the reader asked, and recvmsg4/6 saw no port 53 sender: not DNS */
	return dns_recv_capture(sk, ret, any.cookie, false, noted ? sender : NULL, &r);
}

#endif /* GW_LIB_DNS_H */
