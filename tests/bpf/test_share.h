/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * test_share.h - what test_share.bpf.c is run with and says back, shared with
 * tests/bpf/test_share.c (like gw_events.h).
 */
#ifndef GW_TEST_SHARE_H
#define GW_TEST_SHARE_H

#ifndef __BPF__
#include <linux/types.h>
#endif
#include "gw_events.h"

#define SHARE_TEST_TRIES_MAX 64
#define SHARE_TEST_RECORD 1024	/* bytes of each record; the ring adds 8 of its own */

struct share_test_io {
	__u32 uid;	/* in: who makes the records */
	__u32 tries;	/* in: how many, <= SHARE_TEST_TRIES_MAX */
	__u32 admitted;	/* out: how many went into the ring */
	__u32 pad;
};

#endif /* GW_TEST_SHARE_H */
