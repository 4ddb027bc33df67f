// SPDX-License-Identifier: GPL-2.0
/*
 * network.bpf.c - outbound and inbound connections with their process, result, bytes and RTT;
 * first datagram per UDP socket and peer; DNS answers for the agent's address -> name cache.
 *
 * TCP has four flavours; the agent loads the first that loads here. Preferred, "connect": no hook
 * of its own on the way to ESTABLISHED. The cgroup connect4/6 programs, which run for every
 * connect() anyway (the UDP signal needs them), remember the connecting task; cgroup post_bind4/6
 * the task that binds a port (a server, before it listens); tcp_destroy_sock (once per socket) and
 * inet_sk_error_report (only on errors) give the result, bytes and RTT; walks the agent makes
 * report the result of connections still open: of the owner maps every second, of every socket
 * each window (gw_tcp_at_connect). Next, "sockops" on the root cgroup v2: TCP_CONNECT_CB,
 * TCP_LISTEN_CB and ACTIVE_/PASSIVE_ESTABLISHED_CB report each result as it happens, with the
 * same close and error programs, but the kernel runs sockops 9 times per loopback connection, 6
 * of them callbacks no program here needs (~1 % of a 10k/s connect loop with an empty program,
 * BENCHMARKS.md).
 * Fallbacks: inet_sock_set_state as tp_btf or classic tracepoint, which runs on every transition
 * of every TCP socket (~10 per loopback connection). In every flavour the connecting task is where
 * the process is remembered (owner_slots, or conn_owner when the socket's slot is taken); the
 * result, in softirq or later, is reported with the remembered owner. A listener's owner is
 * remembered at bind() or listen() so an accepted connection is attributed to the listening
 * process. Bytes and smoothed RTT come from tcp_sock via CO-RE at the close.
 *
 * UDP uses the cgroup sock_addr hooks on the root cgroup v2 (connect4/6, sendmsg4/6): process
 * context, first packet per socket cookie and peer (sock_peers, an LRU). Those programs, and the
 * post_bind ones, only observe: they always return 1 (allow) and never rewrite the address. They
 * also remember which sockets a process pointed at port 53 (UDP or TCP), for the DNS answers
 * below.
 *
 * DNS: at most GW_DNS_PAYLOAD_MAX bytes of each answer, flagged GW_DNS_F_ASKED when the receiving
 * socket was pointed at that server's port 53 (sock_peers); parsing is the agent's job (hostile
 * input stays out of the kernel). Preferred: copied from the reader's buffer after it read a socket
 * connected to (or known to have sent to) port 53 (tp_btf/sock_recv_length). Fallback: a
 * cgroup_skb/ingress program on every packet, and the egress one (queries, for the agent's
 * transaction-id match) where that match is configured or the socket check cannot run. Both
 * return 1.
 */
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

char LICENSE[] SEC("license") = "GPL";

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
 * Outbound connections we saw start, keyed by struct sock address. A plain hash, not an LRU:
 * every tracked socket reaches CLOSE, where its entry goes, so the map only fills under a flood of
 * open connections, and then the failed insert is counted as a drop instead of an LRU silently
 * forgetting an open connection (an LRU update also costs more: its lists take a lock).
 * Accepted connections need no entry: their listener's owner (listen_owner, by netns and local
 * port) is their owner, and the local port survives in inet_sport until CLOSE.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
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
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sock_peer_key);
	__type(value, __u8);
} sock_peers SEC(".maps");

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

static __always_inline __u32 sk_netns(const struct sock *sk, bool btf)
{
	return btf ? sk->__sk_common.skc_net.net->ns.inum :
		     BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
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
	struct gw_tcp_event *e = gw_reserve(sizeof(*e), GW_DROP_TCP);

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

/* ---- folding repeated connections (struct gw_tcp_fold in gw_events.h) ---------------------- */

/* Counts the agent's ticks; the low bit says which fold map and array half is live. */
__u32 gw_tcp_fold_gen;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GW_TCP_FOLD_MAX);
	__type(key, struct gw_tcp_fold_key);
	__type(value, struct gw_tcp_fold);
} tcp_fold_0 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GW_TCP_FOLD_MAX);
	__type(key, struct gw_tcp_fold_key);
	__type(value, struct gw_tcp_fold);
} tcp_fold_1 SEC(".maps");

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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
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

/* Who listens on the connection's local port: the owner of a connection accepted there. */
static __always_inline struct gw_net_task *listener_owner(const struct gw_net_tuple *tu)
{
	struct gw_listen_key lk = { .netns = tu->netns, .port = tu->local_port };

	return bpf_map_lookup_elem(&listen_owner, &lk);
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

/*
 * The connect flavour: an outbound connection found established after the fact (see
 * gw_tcp_at_connect) is reported now, its SYN-to-result time unknown (0). Marks it reported.
 */
static __always_inline void report_established_late(struct conn_state *st,
						    const struct gw_net_tuple *tu)
{
	st->established = 1;
	if (!fold_attempt(fold_entry_at_result(st, tu), GW_TCP_OK))
		emit_tcp(tu, GW_EV_TCP_CONNECT, st, GW_TCP_OK, 0, NULL, 0);
}

/* An accepted connection's attempt: folded into `v` (fold_entry_accepted(tu, true)), or sent. */
static __always_inline void report_accept(const struct gw_net_tuple *tu, struct gw_tcp_fold *v)
{
	struct conn_state who = {};
	struct gw_net_task *owner;

	if (fold_attempt(v, GW_TCP_OK))
		return;
	if (v)
		who.task = v->task;
	else if ((owner = listener_owner(tu)))
		who.task = *owner; /* else pid 0: listener predates the agent */
	emit_tcp(tu, GW_EV_TCP_ACCEPT, &who, GW_TCP_OK, 0, NULL, 0);
}

static __always_inline struct gw_listen_key listen_key_of(const struct sock *sk, bool btf)
{
	struct gw_listen_key k = {
		.netns = sk_netns(sk, btf),
		.port = SK_RD(btf, sk, __sk_common.skc_num),
	};
	return k;
}

/*
 * The close of an accepted connection (counters read, samples taken off): folded into its entry;
 * else a record for its listener's owner (no room); else, with no owner known, a record without one
 * (opened before we were loaded, or its insert failed, counted) that the agent matches against the
 * sockets /proc showed at start. Only sockets older than the agent take that last path.
 * `accept_unreported`: the connect flavour, and no iterator run saw it open: its accept first.
 */
static __always_inline void close_accepted(struct gw_net_tuple *tu, __u32 result, int sk_err,
					   const struct tcp_counters *c, bool accept_unreported)
{
	struct gw_tcp_fold *v = fold_entry_accepted(tu, accept_unreported);
	struct conn_state other = {};
	struct gw_net_task *owner;

	if (accept_unreported)
		report_accept(tu, v);
	if (fold_close(v, result, c))
		return;
	owner = listener_owner(tu);
	if (owner)
		other.task = *owner;
	else
		tu->direction = 2;
	emit_tcp(tu, GW_EV_TCP_CLOSE, &other, result, sk_err, c, 0);
}

/* `sockops`: called from the sockops callbacks (btf too), not from inet_sock_set_state. */
static __always_inline int on_state(const struct sock *sk, int oldstate, int newstate, bool btf,
				    bool sockops)
{
	struct gw_net_tuple tu = {};
	struct owner_slot *slot;
	struct conn_state *st;

	/*
	 * The clock is read at SYN_SENT only, where a record's duration starts (conn_clock(), the
	 * cheap one); every other transition folds, and the fold map's tick dates what it counts (the
	 * agent knows when it flipped the maps).
	 */
	if (newstate == TCP_SYN_SENT) {
		/* connect(): we are in the calling task */
		struct conn_state fresh = { .start = conn_clock() };

		fill_task(&fresh.task, btf);
		/*
		 * sockops keeps an owner until the socket is destroyed, and a socket whose connect
		 * failed may connect again: it starts over in the entry it has
		 */
		if (sockops && (st = owner_find(sk, btf, &slot))) {
			*st = fresh;
			return 0;
		}
		if (!owner_remember(sk, &fresh, btf))
			gw_count_drop(GW_DROP_TCP);
		return 0;
	}
	if (newstate == TCP_LISTEN) {
		struct gw_listen_key lk = listen_key_of(sk, btf);
		struct gw_net_task owner = {};

		fill_task(&owner, btf);
		if (bpf_map_update_elem(&listen_owner, &lk, &owner, BPF_ANY))
			gw_count_drop(GW_DROP_TCP);
		return 0;
	}
	if (oldstate == TCP_LISTEN && newstate == TCP_CLOSE) {
		struct gw_listen_key lk = listen_key_of(sk, btf);

		bpf_map_delete_elem(&listen_owner, &lk);
		return 0;
	}
	if (oldstate == TCP_SYN_SENT && newstate == TCP_ESTABLISHED) {
		st = owner_find(sk, btf, &slot);
		if (!st)
			return 0; /* connect began before we were loaded */
		st->established = 1;
		sock_tuple(sk, NULL, &tu, 0, btf);
		if (!fold_attempt(fold_entry_at_result(st, &tu), GW_TCP_OK))
			emit_tcp(&tu, GW_EV_TCP_CONNECT, st, GW_TCP_OK, 0, NULL,
				 conn_clock_since_ns(st->start));
		return 0;
	}
	if (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED) {
		sock_tuple(sk, NULL, &tu, 1, btf);
		report_accept(&tu, fold_entry_accepted(&tu, true));
		return 0;
	}
	if (newstate == TCP_CLOSE) {
		const struct tcp_sock *tp = tcp_sock_of(sk, btf);
		int sk_err = SK_RD(btf, sk, sk_err);
		__u32 result = result_of(sk_err);
		struct tcp_counters c;

		st = owner_find(sk, btf, &slot);
		if (st) {
			if (oldstate == TCP_SYN_SENT) {
				sock_tuple(sk, tp, &tu, 0, btf);
				if (!sk_err)
					result = GW_TCP_OTHER;
				if (!fold_attempt(fold_entry(&st->task, &tu), result))
					emit_tcp(&tu, GW_EV_TCP_CONNECT, st, result, sk_err, NULL,
						 conn_clock_since_ns(st->start));
			} else {
				struct gw_tcp_fold *v = fold_entry_at_close(st);

				if (!v) {
					sock_tuple(sk, tp, &tu, 0, btf);
					v = fold_entry(&st->task, &tu);
				}
				read_counters(sk, tp, 0, oldstate, btf, &c);
				unsample(sk, &c);
				if (!fold_close(v, result, &c))
					emit_tcp(&tu, GW_EV_TCP_CLOSE, st, result, sk_err, &c, 0);
			}
			owner_forget(sk, slot);
			return 0;
		}
		if (oldstate == TCP_SYN_SENT || oldstate == TCP_SYN_RECV || oldstate == TCP_CLOSE)
			return 0; /* never established: nothing was reported for it */
		sock_tuple(sk, tp, &tu, 1, btf);
		read_counters(sk, tp, 1, oldstate, btf, &c);
		unsample(sk, &c);
		close_accepted(&tu, result, sk_err, &c, false);
	}
	return 0;
}

/* Transitions nothing here reacts to (FIN_WAIT*, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSING, SYN_RECV
 * of a new child) are most of the tracepoint's traffic: leave before touching the socket. */
static __always_inline bool interesting(int oldstate, int newstate)
{
	return newstate == TCP_SYN_SENT || newstate == TCP_LISTEN || newstate == TCP_CLOSE ||
	       (newstate == TCP_ESTABLISHED && (oldstate == TCP_SYN_SENT || oldstate == TCP_SYN_RECV));
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

/* ---- TCP from sockops, tcp_destroy_sock and inet_sk_error_report (the preferred flavour) ---- */

/*
 * Errors of sockets without an owner slot (accepted connections), by socket address. An error is
 * rare, and the connect() or read() that returns it clears sk_err before the socket is destroyed,
 * so it is kept here until then; gw_sock_err_n lets the close skip the lookup while it is empty.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __s32);
} sock_err SEC(".maps");

__s64 gw_sock_err_n;

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

/*
 * A destroyed socket's state is CLOSE whatever it went through, so what the transitions told is
 * read from tcp_sock: acknowledged sequence space less our SYN (active open) is the payload sent
 * plus our FIN if it was acknowledged, and never more than the distinct payload bytes sent, so the
 * smaller of the two is the payload; SOCK_DONE says the peer's FIN is in bytes_received.
 */
static __always_inline void destroy_counters(const struct sock *sk, const struct tcp_sock *tp,
					     __u8 direction, struct tcp_counters *c)
{
	__u64 acked = tp->bytes_acked, payload = tp->bytes_sent - tp->bytes_retrans;

	if (direction == 0 && acked)
		acked--;
	c->bytes_sent = acked < payload ? acked : payload;
	c->bytes_received = tp->bytes_received;
	if ((sk->__sk_common.skc_flags &
	     (1ul << bpf_core_enum_value(enum sock_flags, SOCK_DONE))) &&
	    c->bytes_received)
		c->bytes_received--;
	c->srtt_us = tp->srtt_us >> 3;
}

/* The error an accepted connection's socket reported, forgotten here (its close is now). */
static __always_inline int accepted_err(const struct sock *sk)
{
	__u64 key = (__u64)sk;
	__s32 *err, out;

	if (!gw_sock_err_n)
		return 0;
	err = bpf_map_lookup_elem(&sock_err, &key);
	if (!err)
		return 0;
	out = *err;
	if (!bpf_map_delete_elem(&sock_err, &key))
		__sync_fetch_and_add(&gw_sock_err_n, -1);
	return out;
}

/*
 * Whether bind() named an address or a port: the kernel marks those (a bind to neither marks
 * nothing, and is then told from the port a connect picks by nothing at destroy).
 */
static __always_inline bool bound_explicitly(const struct sock *sk)
{
	return BPF_CORE_READ_BITFIELD(sk, sk_userlocks) & (SOCK_BINDADDR_LOCK_ | SOCK_BINDPORT_LOCK_);
}

/* A listener's (or a bound socket's) port is no longer its owner's. */
static __always_inline void forget_bound_port(const struct sock *sk, const struct tcp_sock *tp)
{
	struct gw_listen_key lk = {
		.netns = sk_netns(sk, true),
		.port = bpf_ntohs(tp->inet_conn.icsk_inet.inet_sport),
	};

	bpf_map_delete_elem(&listen_owner, &lk);
}

static __always_inline int on_destroy(const struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sock_cast(sk);
	struct gw_net_tuple tu = {};
	struct owner_slot *slot;
	struct tcp_counters c;
	struct conn_state *st;
	bool sampled;
	int err;

	if (!tp)
		return 0;
	err = sk->sk_err;
	st = owner_find(sk, true, &slot);
	if (st) {
		if (gw_tcp_at_connect) {
			if (!st->established && !st->err && connect_answered(tp)) {
				sock_tuple(sk, tp, &tu, 0, true);
				report_established_late(st, &tu);
			}
			/* bound by its process, as a client may: post_bind made it a listener key */
			if (bound_explicitly(sk))
				forget_bound_port(sk, tp);
		}
		if (!st->established) {
			/*
			 * A failed connect was reported with its error; one given up had none. (The
			 * connect flavour's owner may be of a connect() that failed before any SYN, and
			 * the socket then has no peer: nothing to report, as the other flavours never
			 * saw it.)
			 */
			if (!st->err && sk->__sk_common.skc_dport) {
				sock_tuple(sk, tp, &tu, 0, true);
				if (!fold_attempt(fold_entry(&st->task, &tu), GW_TCP_OTHER))
					emit_tcp(&tu, GW_EV_TCP_CONNECT, st, GW_TCP_OTHER, err, NULL,
						 conn_clock_since_ns(st->start));
			}
		} else {
			struct gw_tcp_fold *v = fold_entry_at_close(st);

			if (!err)
				err = st->err;
			if (!v) {
				sock_tuple(sk, tp, &tu, 0, true);
				v = fold_entry(&st->task, &tu);
			}
			destroy_counters(sk, tp, 0, &c);
			unsample(sk, &c);
			/* v is NULL only where it was looked up, so `tu` is built for the record */
			if (!fold_close(v, result_of(err), &c))
				emit_tcp(&tu, GW_EV_TCP_CLOSE, st, result_of(err), err, &c, 0);
		}
		owner_forget(sk, slot);
		return 0;
	}
	if (!sk->__sk_common.skc_dport) {
		/*
		 * Not connected: a listener, whose owner goes now, or a socket only bound (a failed
		 * connect, disconnected by its connect(), had its owner above), whose post_bind
		 * owner goes in the connect flavour
		 */
		if (sk->sk_max_ack_backlog || (gw_tcp_at_connect && bound_explicitly(sk)))
			forget_bound_port(sk, tp);
		return 0;
	}
	if (!err)
		err = accepted_err(sk);
	sock_tuple(sk, tp, &tu, 1, true);
	destroy_counters(sk, tp, 1, &c);
	sampled = unsample(sk, &c);
	close_accepted(&tu, result_of(err), err, &c,
		       gw_tcp_at_connect && !sampled && sk->sk_max_ack_backlog);
	return 0;
}

SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(gw_tcp_destroy, const struct sock *sk)
{
	if (BPF_CORE_READ_BITFIELD(sk, sk_protocol) != IPPROTO_TCP_)
		return 0;
	return on_destroy(sk);
}

/*
 * A connect that fails (refused, timed out) is reported here, while the socket still holds its
 * peer: the connect() that returns the error disconnects the socket, clearing the peer and the
 * error before it is destroyed. Errors of established connections are kept for their close.
 */
SEC("tp_btf/inet_sk_error_report")
int BPF_PROG(gw_tcp_error, const struct sock *sk)
{
	const struct tcp_sock *tp;
	struct gw_net_tuple tu = {};
	struct owner_slot *slot;
	struct conn_state *st;
	__s32 err;
	__u64 key;

	if (BPF_CORE_READ_BITFIELD(sk, sk_protocol) != IPPROTO_TCP_)
		return 0;
	err = sk->sk_err;
	if (!err)
		return 0;
	st = owner_find(sk, true, &slot);
	if (st) {
		if (!st->established && !st->err && (tp = tcp_sock_cast(sk))) {
			sock_tuple(sk, tp, &tu, 0, true);
			if (gw_tcp_at_connect && connect_answered(tp))
				report_established_late(st, &tu); /* and now reset: kept for its close */
			else if (!fold_attempt(fold_entry(&st->task, &tu), result_of(err)))
				emit_tcp(&tu, GW_EV_TCP_CONNECT, st, result_of(err), err, NULL,
					 conn_clock_since_ns(st->start));
		}
		st->err = err;
		return 0;
	}
	key = (__u64)sk;
	if (!bpf_map_update_elem(&sock_err, &key, &err, BPF_NOEXIST))
		__sync_fetch_and_add(&gw_sock_err_n, 1);
	else if (bpf_map_update_elem(&sock_err, &key, &err, BPF_EXIST))
		gw_count_drop(GW_DROP_TCP); /* full: this close will not say why */
	return 0;
}

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
SEC("iter/tcp")
int gw_tcp_sample(struct bpf_iter__tcp *ctx)
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
	__u8 one = 1;

	/* TCP connects are the tracepoint's; one to port 53 is only remembered, for its answers */
	if (!udp && ctx->user_port != bpf_htons(DNS_PORT))
		return;
	k.cookie = bpf_get_socket_cookie(ctx);
	user_addr(ctx, v6, k.addr);
	k.port = bpf_ntohs((__u16)ctx->user_port);
	if (bpf_map_lookup_elem(&sock_peers, &k))
		return;
	bpf_map_update_elem(&sock_peers, &k, &one, BPF_ANY);
	if (k.port == DNS_PORT && udp) {
		/* any server: lets an unconnected socket's reads be told from others by cookie alone */
		struct sock_peer_key any = { .cookie = k.cookie, .port = DNS_PORT };

		bpf_map_update_elem(&sock_peers, &any, &one, BPF_ANY);
	}
	if (!udp)
		return;

	e = gw_reserve(sizeof(*e), GW_DROP_UDP);
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

/*
 * The connect flavour's SYN_SENT: connect() of a TCP socket, in the connecting task, before the
 * kernel picks a port or route. A socket not in CLOSE is not starting a connection (a repeated
 * connect() of one in progress). A connect() that fails before its SYN leaves an owner whose
 * socket has no peer, which its destroy forgets without a report.
 */
static __always_inline void tcp_owner_at_connect(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *bsk = ctx->sk;
	struct conn_state fresh = {};
	struct owner_slot *slot;
	const struct sock *sk;
	struct conn_state *st;

	if (!bsk || bsk->state != TCP_CLOSE)
		return;
	sk = (const struct sock *)tcp_sock_cast(bsk);
	if (!sk)
		return;
	fresh.start = conn_clock();
	fill_task(&fresh.task, true);
	/* an owner stays until the socket is destroyed: one whose connect failed starts over */
	st = owner_find(sk, true, &slot);
	if (st)
		*st = fresh;
	else if (!owner_remember(sk, &fresh, true))
		gw_count_drop(GW_DROP_TCP);
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

/*
 * The connect flavour's listener owners: the task that binds a TCP port, which a server does before
 * listen(). (A listener that lets listen() pick its port has no owner here; its connections are
 * counted for pid 0, as for a listener older than the agent.) A client that binds before it
 * connects leaves a key no accepted connection will use, forgotten at its destroy.
 */
static __always_inline void tcp_bind_owner(struct bpf_sock *ctx)
{
	struct gw_listen_key lk = {};
	struct gw_net_task owner = {};
	struct task_struct *task;

	if (!gw_tcp_at_connect || ctx->protocol != IPPROTO_TCP_)
		return;
	fill_task(&owner, true);
	task = bpf_get_current_task_btf();
	lk.netns = task->nsproxy->net_ns->ns.inum;
	lk.port = ctx->src_port;
	if (bpf_map_update_elem(&listen_owner, &lk, &owner, BPF_ANY))
		gw_count_drop(GW_DROP_TCP);
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

/* Sends the message copied into s->ev.data (n bytes of a len-byte one). */
static __always_inline void dns_emit(struct dns_scratch *s, __u16 type,
				     const struct gw_net_tuple *tu, __u64 len, __u64 n, __u32 flags)
{
	gw_fill_hdr(&s->ev.hdr, type, sizeof(s->ev));
	s->ev.tuple = *tu;
	s->ev.payload_len = len > 0xffff ? 0xffff : len;
	s->ev.captured_len = n;
	s->ev.flags = flags;
	/* fixed size keeps the verifier simple; DNS answers are few compared to connections */
	gw_output(&s->ev, sizeof(s->ev), GW_DROP_DNS);
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
	dns_emit(s, GW_EV_DNS_ANSWER, &tu, ret, n, flags);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(gw_dns_recv, const struct sock *sk, int ret, int flags)
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

/* ---- DNS answers, fallback: every packet through cgroup_skb -------------------------------- */

/*
 * Headers are read straight from the packet when they are in its linear part (always, for what
 * reaches a socket or leaves one: the stack has pulled them), which is a bounds check instead of a
 * helper call on every packet of the host; bpf_skb_load_bytes is the fallback.
 */
static __always_inline int load_hdr(struct __sk_buff *skb, __u32 off, void *dst, __u32 len)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	if (off <= 64 && data + off + len <= end) {
		__builtin_memcpy(dst, data + off, len);
		return 0;
	}
	return bpf_skb_load_bytes(skb, off, dst, len);
}

/*
 * One body for both directions: answers (ingress, source port 53) feed the cache. A forged answer
 * sent to any open UDP port must not rename someone's connection, so an answer says whether its
 * socket asked that server (GW_DNS_F_ASKED, from sock_peers); queries (egress, destination port 53)
 * are captured only where the agent matches answers to them by transaction id and question.
 */
static __always_inline int dns_capture(struct __sk_buff *skb, bool egress)
{
	struct gw_net_tuple tu = {};
	__u16 dport;
	__u64 l4_off, payload_off, payload_len, n;
	__u32 zero = 0, saddr = 0, daddr = 0, flags = 0;
	struct ipv6hdr ip6;
	__u8 proto;
	__u16 sport;
	__u32 rport = skb->remote_port; /* the socket's peer port, network order */

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	rport >>= 16; /* the context rewrite leaves it in the upper half on little endian */
#endif
	/*
	 * These programs run for every packet of the host. A connected socket whose peer is not port
	 * 53 (almost all TCP, connected UDP) is done with one load through skb->sk, before the packet
	 * is touched; unconnected sockets (peer port 0), which a resolver may use with sendto and
	 * recvfrom, go on to the headers.
	 */
	if (rport && rport != bpf_htons(DNS_PORT))
		return 1;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (load_hdr(skb, 0, &ip, sizeof(ip)))
			return 1;
		if (ip.frag_off & bpf_htons(0x1fff))
			return 1; /* not a first fragment: no L4 header here */
		proto = ip.protocol;
		l4_off = (ip.ihl & 0xf) * 4;
		saddr = ip.saddr;
		daddr = ip.daddr;
		tu.family = AF_INET;
		payload_len = bpf_ntohs(ip.tot_len);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (load_hdr(skb, 0, &ip6, sizeof(ip6)))
			return 1;
		proto = ip6.nexthdr; /* extension headers in front of DNS replies are not followed */
		l4_off = sizeof(ip6);
		tu.family = AF_INET6;
		payload_len = sizeof(ip6) + bpf_ntohs(ip6.payload_len);
	} else {
		return 1;
	}

	if (proto == IPPROTO_UDP_) {
		struct udphdr uh;

		if (load_hdr(skb, l4_off, &uh, sizeof(uh)))
			return 1;
		sport = bpf_ntohs(uh.source);
		dport = bpf_ntohs(uh.dest);
		if ((egress ? dport : sport) != DNS_PORT)
			return 1;
		payload_off = l4_off + sizeof(uh);
	} else if (proto == IPPROTO_TCP_) {
		struct tcphdr th;

		if (load_hdr(skb, l4_off, &th, sizeof(th)))
			return 1;
		sport = bpf_ntohs(th.source);
		dport = bpf_ntohs(th.dest);
		if ((egress ? dport : sport) != DNS_PORT)
			return 1;
		payload_off = l4_off + th.doff * 4;
	} else {
		return 1;
	}
	if (tu.family == AF_INET) {
		v4_mapped(tu.remote_addr, egress ? daddr : saddr);
		v4_mapped(tu.local_addr, egress ? saddr : daddr);
	} else {
		__builtin_memcpy(tu.remote_addr, egress ? &ip6.daddr : &ip6.saddr, 16);
		__builtin_memcpy(tu.local_addr, egress ? &ip6.saddr : &ip6.daddr, 16);
	}
	tu.local_port = egress ? sport : dport;
	tu.remote_port = DNS_PORT;
	tu.protocol = proto;
	tu.direction = egress ? 0 : 1;
	if (!egress) {
		struct sock_peer_key k = { .cookie = bpf_get_socket_cookie(skb), .port = DNS_PORT };

		__builtin_memcpy(k.addr, tu.remote_addr, 16);
		flags = bpf_map_lookup_elem(&sock_peers, &k) ? GW_DNS_F_ASKED : 0;
	}

	if (payload_len > skb->len)
		payload_len = skb->len;
	if (payload_len <= payload_off)
		return 1; /* a bare ACK */
	payload_len -= payload_off;

	struct dns_scratch *s = bpf_map_lookup_elem(&dns_scratch, &zero);

	if (!s)
		return 1;
	n = dns_slice_len(payload_len); /* payload_len >= 1 here */
	if (bpf_skb_load_bytes(skb, payload_off, s->ev.data, n))
		return 1;
	dns_emit(s, egress ? GW_EV_DNS_QUERY : GW_EV_DNS_ANSWER, &tu, payload_len, n, flags);
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
