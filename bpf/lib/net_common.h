/* SPDX-License-Identifier: GPL-2.0 */
/*
 * net_common.h - what every network program reads the same way: the task that acts (struct
 * gw_net_task), a TCP socket's tuple and counters, the connect clock, the TCP record (emit_tcp),
 * and the settings the agent writes before load that more than one concern reads.
 *
 * Layering (a header includes only those above it): gw_bpf_common.h -> lib/net_common.h ->
 * lib/owner.h -> lib/fold.h -> lib/tcp.h -> lib/tcp_walk.h; lib/net_common.h -> lib/udp.h ->
 * lib/dns.h -> lib/dns_skb.h. Only entry files (bpf/network.bpf.c, a test program) define programs (SEC); they may
 * include any header and call its static inline functions with synthetic inputs.
 */
#ifndef GW_LIB_NET_COMMON_H
#define GW_LIB_NET_COMMON_H

#include "gw_bpf_common.h"
#include <bpf/bpf_endian.h>

#define AF_INET 2
#define AF_INET6 10
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define SOCK_DGRAM_ 2
#define ECONNRESET_ 104
#define ETIMEDOUT_ 110
#define ECONNREFUSED_ 111
#define SOCK_BINDADDR_LOCK_ 4
#define SOCK_BINDPORT_LOCK_ 8
#define DNS_PORT 53

struct conn_state {
	struct gw_net_task task;
	__u64 start;		/* conn_clock() at connect() */
	__s32 err;		/* connect and sockops flavours: the error inet_sk_error_report
				 * saw (a failed connect was reported then), if any */
	__u32 established;	/* connect and sockops flavours: the OK result was reported */
	__u32 fold_slot;	/* 1 + the fold-array slot its result went to, 0: none (see */
	__u32 fold_gen;		/* fold_entry_at_result()), in tick gw_tcp_fold_gen == fold_gen */
};

/*
 * `btf`: a tracing program, which may read the task through its BTF pointer: plain loads of the
 * same fields the helpers read (init-namespace ids, the subjective cred, the default hierarchy's
 * cgroup, the comm) without their calls, ~8 % of the TCP hook's time in a profile. A comm read while
 * the task renames itself may mix the two names; the agent treats comm as untrusted text anyway.
 */
static __always_inline void fill_task(struct gw_net_task *t, bool btf)
{
	if (btf && bpf_core_field_exists(struct task_struct, start_boottime)) {
		struct task_struct *task = bpf_get_current_task_btf();
		const struct cred *cred = task->cred;

		t->pid = task->tgid;
		t->tid = task->pid;
		t->uid = cred->uid.val;
		t->gid = cred->gid.val;
		t->start_boottime_ns = task->group_leader->start_boottime;
		t->cgroup_id = task->cgroups->dfl_cgrp->kn->id;
		__builtin_memcpy(t->comm, task->comm, sizeof(t->comm));
		return;
	}
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	t->pid = pid_tgid >> 32;
	t->tid = (__u32)pid_tgid;
	t->uid = (__u32)uid_gid;
	t->gid = uid_gid >> 32;
	t->start_boottime_ns = gw_task_start_boottime((struct task_struct *)bpf_get_current_task());
	t->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(t->comm, sizeof(t->comm));
}

static __always_inline void v4_mapped(__u8 out[16], __u32 addr_be)
{
	__builtin_memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(out + 12, &addr_be, 4);
}

/*
 * The TCP code below is inlined into both tracepoint flavours with `btf` a constant: tp_btf hands
 * us a BTF pointer we may load from directly, the classic tracepoint only an address that must go
 * through bpf_probe_read_kernel (BPF_CORE_READ). A direct load is a plain instruction where a probe
 * read is a helper call, and the emit path reads a dozen fields.
 */
#define SK_RD(btf, sk, field) ((btf) ? (sk)->field : BPF_CORE_READ(sk, field))

/*
 * Always a probe read, even from a BTF pointer: a direct load of the `net` pointer from a trusted
 * socket makes the verifier search the kernel's BTF for the field's trust annotations at every
 * place and path it is read, which cost more of the agent's start-up than any other instruction.
 */
static __always_inline __u32 sk_netns(const struct sock *sk, bool btf)
{
	(void)btf;
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/*
 * `tp`: on the BTF flavour, the socket as tcp_sock where the caller has it (CLOSE casts it once with
 * tcp_sock_of(), a helper call, for skc_num is already cleared there and the counters need it; the
 * iterator is handed one); NULL where skc_num still holds the port, and on the classic flavour,
 * which probe-reads through `sk`.
 */
static __always_inline void sock_tuple(const struct sock *sk, const struct tcp_sock *tp,
				       struct gw_net_tuple *tu, __u8 direction, bool btf)
{
	__u16 family = SK_RD(btf, sk, __sk_common.skc_family);

	tu->family = family;
	tu->protocol = IPPROTO_TCP_;
	tu->direction = direction;
	/* at CLOSE inet_sport, not skc_num: the kernel clears skc_num before CLOSE is traced */
	if (btf) {
		tu->local_port = tp ? bpf_ntohs(tp->inet_conn.icsk_inet.inet_sport) :
				      sk->__sk_common.skc_num;
	} else {
		tu->local_port =
			bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	}
	tu->remote_port = bpf_ntohs(SK_RD(btf, sk, __sk_common.skc_dport));
	tu->netns = sk_netns(sk, btf);
	if (family == AF_INET6) {
		if (btf) {
			__builtin_memcpy(tu->local_addr,
					 sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8, 16);
			__builtin_memcpy(tu->remote_addr, sk->__sk_common.skc_v6_daddr.in6_u.u6_addr8,
					 16);
		} else {
			BPF_CORE_READ_INTO(&tu->local_addr, sk,
					   __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
			BPF_CORE_READ_INTO(&tu->remote_addr, sk,
					   __sk_common.skc_v6_daddr.in6_u.u6_addr8);
		}
	} else {
		v4_mapped(tu->local_addr, SK_RD(btf, sk, __sk_common.skc_rcv_saddr));
		v4_mapped(tu->remote_addr, SK_RD(btf, sk, __sk_common.skc_daddr));
	}
}

/*
 * The verifier knows a tp_btf or sockops socket as struct sock: inet_sock and tcp_sock through a
 * cast. bpf_skc_to_tcp_sock checks the socket's kind and is a helper call; bpf_rdonly_cast (a
 * kfunc since 6.2) is an instruction the verifier rewrites to a move, and reads through what it
 * returns are fault-checked loads. Every socket cast here is a full TCP socket (tcp_destroy_sock
 * and the sockops callbacks used run for those only; the iterator is checked). Its calls were ~8 %
 * of the TCP programs' time per loopback connection. The agent sets gw_kfunc_cast where the
 * kernel has the kfunc; elsewhere the verifier drops that branch, never reaching the call libbpf
 * left unresolved (a weak extern).
 */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;
const volatile bool gw_kfunc_cast;

static __always_inline const struct tcp_sock *tcp_sock_cast(const void *sk)
{
	if (gw_kfunc_cast)
		return bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct tcp_sock));
	return bpf_skc_to_tcp_sock((void *)sk);
}

static __always_inline const struct tcp_sock *tcp_sock_of(const struct sock *sk, bool btf)
{
	return btf ? tcp_sock_cast(sk) : NULL;
}

/*
 * The connect flavour: set by the agent when that flavour is loaded. Nothing runs at ESTABLISHED
 * then, so the OK result of a connection is reported by whichever comes first of the iterator
 * (still open), an error (reset: it was established) or the close.
 */
const volatile bool gw_tcp_at_connect;

/*
 * Whether an outbound connection got its peer's SYN, for the connect flavour, which learns the
 * result after the fact: tcp_connect_init() sets rcv_nxt to 0 and the SYN-ACK sets it past the
 * peer's initial sequence number, so it stays 0 on a connect refused, timed out or given up (and
 * on 1 in 2^32 answered ones, whose peer chose 2^32 - 1).
 */
static __always_inline bool connect_answered(const struct tcp_sock *tp)
{
	return tp->rcv_nxt != 0;
}

static __always_inline __u32 result_of(int sk_err)
{
	switch (sk_err) {
	case 0: return GW_TCP_OK;
	case ECONNREFUSED_: return GW_TCP_REFUSED;
	case ETIMEDOUT_: return GW_TCP_TIMEOUT;
	case ECONNRESET_: return GW_TCP_RESET;
	default: return GW_TCP_OTHER;
	}
}

/*
 * bytes_acked and bytes_received count sequence space, and SYN and FIN take one each: an active
 * open's SYN is always in bytes_acked, our FIN is once it was acknowledged, the peer's FIN is in
 * bytes_received once it arrived. The state the socket closes from says which happened (FIN_WAIT2
 * and CLOSING reach CLOSE through TIME_WAIT after the peer's FIN; LAST_ACK on the ACK of ours).
 */
static __always_inline bool our_fin_acked(int oldstate)
{
	return oldstate == TCP_FIN_WAIT2 || oldstate == TCP_CLOSING || oldstate == TCP_LAST_ACK ||
	       oldstate == TCP_TIME_WAIT;
}

static __always_inline bool peer_fin_received(int oldstate)
{
	return oldstate == TCP_FIN_WAIT2 || oldstate == TCP_CLOSING || oldstate == TCP_LAST_ACK ||
	       oldstate == TCP_TIME_WAIT || oldstate == TCP_CLOSE_WAIT;
}

struct tcp_counters {
	__u64 bytes_sent;
	__u64 bytes_received;
	__u32 srtt_us;
};

static __always_inline void read_counters(const struct sock *sk, const struct tcp_sock *tp,
					  __u8 direction, int oldstate, bool btf,
					  struct tcp_counters *c)
{
	__u64 acked = 0;

	c->bytes_received = 0;
	c->srtt_us = 0;
	if (btf && tp) {
		acked = tp->bytes_acked;
		c->bytes_received = tp->bytes_received;
		c->srtt_us = tp->srtt_us >> 3;
	} else if (!btf) {
		const struct tcp_sock *t = (const struct tcp_sock *)sk;

		acked = BPF_CORE_READ(t, bytes_acked);
		c->bytes_received = BPF_CORE_READ(t, bytes_received);
		c->srtt_us = BPF_CORE_READ(t, srtt_us) >> 3;
	}
	/* payload only: see our_fin_acked() */
	if (direction == 0 && acked)
		acked--;
	if (our_fin_acked(oldstate) && acked)
		acked--;
	if (peer_fin_received(oldstate) && c->bytes_received)
		c->bytes_received--;
	c->bytes_sent = acked;
}

/*
 * When a connect starts, on the cheapest clock at hand: jiffies, a plain load behind the helper,
 * where a fine clock read cost ~15 % of the sockops program's time here. A connect's duration
 * (SYN to result) is then good to a tick (1-10 ms): a timeout takes seconds, and an answer within
 * a tick shows as 0. The agent sets the tick's length, the resolution of CLOCK_MONOTONIC_COARSE
 * (the kernel's HZ without needing its config); without it, or without the helper, the boot clock.
 */
const volatile __u64 gw_jiffy_ns;

static __always_inline bool conn_clock_is_jiffies(void)
{
	return gw_jiffy_ns && bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_jiffies64);
}

static __always_inline __u64 conn_clock(void)
{
	return conn_clock_is_jiffies() ? bpf_jiffies64() : bpf_ktime_get_boot_ns();
}

/* Nanoseconds since `start`, a conn_clock() reading (0: none). */
static __always_inline __u64 conn_clock_since_ns(__u64 start)
{
	__u64 now;

	if (!start)
		return 0;
	now = conn_clock();
	if (now < start)
		return 0;
	return conn_clock_is_jiffies() ? (now - start) * gw_jiffy_ns : now - start;
}

static __always_inline void emit_tcp(const struct gw_net_tuple *tu, __u16 type,
				     const struct conn_state *st, __u32 result, int sk_err,
				     const struct tcp_counters *c, __u64 duration_ns)
{
	struct gw_tcp_event *e = gw_reserve_uid(sizeof(*e), GW_DROP_TCP,
						   st->task.uid);

	if (!e)
		return;
	gw_fill_hdr(&e->hdr, type, sizeof(*e));
	e->task = st->task;
	e->tuple = *tu;
	e->result = result;
	e->sk_err = sk_err;
	e->duration_ns = duration_ns;
	e->bytes_sent = c ? c->bytes_sent : 0;
	e->bytes_received = c ? c->bytes_received : 0;
	e->srtt_us = c ? c->srtt_us : 0;
	e->pad = 0;
	gw_submit(e);
}

#endif /* GW_LIB_NET_COMMON_H */
