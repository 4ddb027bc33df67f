/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * test_owner.h - the socket test_owner.bpf.c is run with, and what it says back, shared with
 * tests/bpf/test_owner.c.
 */
#ifndef GW_TEST_OWNER_H
#define GW_TEST_OWNER_H

#ifndef __BPF__
#include <linux/types.h>
#endif

#define OWNER_TEST_SOCKS 1024	/* stand-in sockets */
#define OWNER_TEST_SOCK_SIZE 2368	/* apart as in the TCP slab (/proc/slabinfo objsize) */
#define OWNER_TEST_SLOTS 256	/* 1 << OWNER_SLOT_BITS on x86 */

struct owner_test_io {
	/* in */
	__u32 sock;		/* which stand-in socket, < OWNER_TEST_SOCKS */
	__u32 pid;		/* its owner, to remember */
	__u32 btf;		/* a BTF-pointer flavour (the classic one has no slots) */
	/* out */
	__u32 ok;		/* owner_remember() */
	__u32 found;		/* owner_find() */
	__u32 found_pid;
	__u32 in_slot;		/* found in a slot, not in conn_owner */
	__s32 slot;		/* owner_slot_of() as an index, -1: none */
	__u64 addr;		/* the socket's address: its conn_owner key */
};

#endif /* GW_TEST_OWNER_H */
