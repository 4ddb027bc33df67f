/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * test_fold.h - the connection event test_fold.bpf.c is run with, and what it says back, shared
 * with tests/bpf/test_fold.c (like gw_events.h).
 */
#ifndef GW_TEST_FOLD_H
#define GW_TEST_FOLD_H

#ifndef __BPF__
#include <linux/types.h>
#endif
#include "gw_events.h"

#define FOLD_TEST_CONNS 4	/* outbound connections a case can keep open at once */

struct fold_test_io {
	/* in */
	struct gw_net_task task;	/* who connects (outbound) */
	struct gw_net_tuple tuple;
	__u64 bytes_sent, bytes_received;
	__u32 srtt_us;
	__s32 sk_err;			/* the socket's error, which says the result */
	__u32 conn;			/* which open connection, < FOLD_TEST_CONNS */
	__u32 accept_unreported;
	__u32 pad;
	/* out */
	__u32 folded;			/* 1: counted in an entry; 0: sent as a record */
	__u32 slot;			/* fold_slot_index() of the key in the live half */
	__u32 fold_slot;		/* the connection's remembered slot + 1, 0: none */
	__u32 at_close_hit;		/* the close found the entry its result remembered */
};

#endif /* GW_TEST_FOLD_H */
