/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcp.h - the TCP state machine every flavour drives: a connection's start, result, accept and
 * close (on_state() for the transition flavours and sockops; on_destroy() and on_error() for the
 * connect and sockops flavours), and the connect flavour's owners at connect() and bind().
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
 * Layering (a header includes only those above it): gw_bpf_common.h -> lib/net_common.h ->
 * lib/owner.h -> lib/fold.h -> lib/tcp.h -> lib/tcp_walk.h; lib/net_common.h -> lib/udp.h ->
 * lib/dns.h -> lib/dns_skb.h. Only entry files (bpf/network.bpf.c, a test program) define programs (SEC); they may
 * include any header and call its static inline functions with synthetic inputs.
 */
#ifndef GW_LIB_TCP_H
#define GW_LIB_TCP_H

#include "lib/fold.h"

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

/* ---- TCP from sockops, tcp_destroy_sock and inet_sk_error_report (the preferred flavour) ---- */

/*
 * Errors of sockets without an owner slot (accepted connections), by socket address. An error is
 * rare, and the connect() or read() that returns it clears sk_err before the socket is destroyed,
 * so it is kept here until then; gw_sock_err_n lets the close skip the lookup while it is empty.
 * Allocated per entry: it is empty but for the rare error.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, __s32);
} sock_err SEC(".maps");

__s64 gw_sock_err_n;

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

/*
 * A connect that fails (refused, timed out) is reported here, while the socket still holds its
 * peer: the connect() that returns the error disconnects the socket, clearing the peer and the
 * error before it is destroyed. Errors of established connections are kept for their close.
 */
static __always_inline int on_error(const struct sock *sk)
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

#endif /* GW_LIB_TCP_H */
