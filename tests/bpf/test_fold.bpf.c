// SPDX-License-Identifier: GPL-2.0
/*
 * test_fold.bpf.c - the TCP fold machine (bpf/lib/fold.h) and the reporting around it
 * (bpf/lib/tcp.h) driven by tests/bpf/test_fold.c. Each program is one TCP transition as on_state()
 * composes it, with the socket's figures given in fold_io instead of read from a struct sock.
 */
#include "lib/tcp.h"
#include "test_fold.h"

char LICENSE[] SEC("license") = "GPL";

struct fold_test_io fold_io;

/* The owners of the case's open outbound connections (owner.h keeps them by socket). */
static struct conn_state conns[FOLD_TEST_CONNS];

static __always_inline struct tcp_counters io_counters(void)
{
	struct tcp_counters c = {
		.bytes_sent = fold_io.bytes_sent,
		.bytes_received = fold_io.bytes_received,
		.srtt_us = fold_io.srtt_us,
	};
	return c;
}

/* The key's slot in the live half. */
SEC("raw_tp")
int fold_test_slot_of(void *ctx)
{
	struct gw_tcp_fold_key k;

	fold_key_of(&k, fold_io.tuple.direction ? NULL : &fold_io.task, &fold_io.tuple);
	fold_io.slot = fold_slot_index(&k, gw_tcp_fold_gen & 1);
	return 0;
}

/* SYN_SENT then ESTABLISHED of connection fold_io.conn. */
SEC("raw_tp")
int fold_test_connected(void *ctx)
{
	struct conn_state *st = &conns[fold_io.conn & (FOLD_TEST_CONNS - 1)];

	__builtin_memset(st, 0, sizeof(*st));
	st->task = fold_io.task;
	fold_io.folded = fold_attempt(fold_entry_at_result(st, &fold_io.tuple), GW_TCP_OK);
	if (!fold_io.folded)
		emit_tcp(&fold_io.tuple, GW_EV_TCP_CONNECT, st, GW_TCP_OK, 0, NULL, 0);
	fold_io.fold_slot = st->fold_slot;
	return 0;
}

/* SYN_SENT then CLOSE: a connect that failed with fold_io.sk_err (none: aborted). */
SEC("raw_tp")
int fold_test_failed(void *ctx)
{
	struct conn_state st = { .task = fold_io.task };
	__u32 result = fold_io.sk_err ? result_of(fold_io.sk_err) : GW_TCP_OTHER;

	fold_io.folded = fold_attempt(fold_entry(&st.task, &fold_io.tuple), result);
	if (!fold_io.folded)
		emit_tcp(&fold_io.tuple, GW_EV_TCP_CONNECT, &st, result, fold_io.sk_err, NULL, 0);
	return 0;
}

/* ESTABLISHED to CLOSE of connection fold_io.conn, with the figures in fold_io. */
SEC("raw_tp")
int fold_test_closed(void *ctx)
{
	struct conn_state *st = &conns[fold_io.conn & (FOLD_TEST_CONNS - 1)];
	struct tcp_counters c = io_counters();
	struct gw_tcp_fold *v = fold_entry_at_close(st);

	fold_io.at_close_hit = v != NULL;
	if (!v)
		v = fold_entry(&st->task, &fold_io.tuple);
	fold_io.folded = fold_close(v, result_of(fold_io.sk_err), &c);
	if (!fold_io.folded)
		emit_tcp(&fold_io.tuple, GW_EV_TCP_CLOSE, st, result_of(fold_io.sk_err),
			 fold_io.sk_err, &c, 0);
	return 0;
}

/* SYN_RECV to ESTABLISHED: an accepted connection. */
SEC("raw_tp")
int fold_test_accepted(void *ctx)
{
	report_accept(&fold_io.tuple, fold_entry_accepted(&fold_io.tuple, true));
	return 0;
}

/* CLOSE of an accepted connection. */
SEC("raw_tp")
int fold_test_accepted_closed(void *ctx)
{
	struct tcp_counters c = io_counters();

	close_accepted(&fold_io.tuple, result_of(fold_io.sk_err), fold_io.sk_err, &c,
		       fold_io.accept_unreported);
	return 0;
}
