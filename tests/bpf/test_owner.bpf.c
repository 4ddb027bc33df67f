// SPDX-License-Identifier: GPL-2.0
/*
 * test_owner.bpf.c - the owner of an outbound TCP socket (bpf/lib/owner.h) driven by
 * tests/bpf/test_owner.c: remembered at connect, found at its transitions, forgotten at close.
 * The sockets are elements of an array map, so their addresses are kernel addresses a socket's
 * size apart, as the hash of the address expects.
 */
#include "lib/owner.h"
#include "test_owner.h"

char LICENSE[] SEC("license") = "GPL";

struct fake_sock {
	__u8 bytes[OWNER_TEST_SOCK_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, OWNER_TEST_SOCKS);
	__type(key, __u32);
	__type(value, struct fake_sock);
} test_socks SEC(".maps");

struct owner_test_io owner_io;

static __always_inline const struct sock *test_sock(void)
{
	__u32 i = owner_io.sock;

	return bpf_map_lookup_elem(&test_socks, &i);
}

/* Which slot the socket hashes to (-1: none), and its address. */
SEC("raw_tp")
int owner_test_slot_of(void *ctx)
{
	const struct sock *sk = test_sock();
	struct owner_slot *slot, *first;
	__u32 zero = 0;

	if (!sk)
		return 1;
	owner_io.addr = (__u64)sk;
	owner_io.slot = -1;
	slot = owner_slot_of(sk, owner_io.btf);
	first = bpf_map_lookup_elem(&owner_slots, &zero);
	if (slot && first)
		owner_io.slot = ((__u64)slot - (__u64)first) / sizeof(*slot);
	return 0;
}

/* SYN_SENT. */
SEC("raw_tp")
int owner_test_remember(void *ctx)
{
	const struct sock *sk = test_sock();
	struct conn_state st = { .task.pid = owner_io.pid };

	if (!sk)
		return 1;
	owner_io.ok = owner_remember(sk, &st, owner_io.btf);
	return 0;
}

/* A later transition (ESTABLISHED, an error) looks its owner up. */
SEC("raw_tp")
int owner_test_find(void *ctx)
{
	const struct sock *sk = test_sock();
	struct owner_slot *slot;
	struct conn_state *st;

	if (!sk)
		return 1;
	st = owner_find(sk, owner_io.btf, &slot);
	owner_io.found = st != NULL;
	owner_io.found_pid = st ? st->task.pid : 0;
	owner_io.in_slot = slot != NULL;
	return 0;
}

/* CLOSE: the owner is read, then forgotten. */
SEC("raw_tp")
int owner_test_close(void *ctx)
{
	const struct sock *sk = test_sock();
	struct owner_slot *slot;
	struct conn_state *st;

	if (!sk)
		return 1;
	st = owner_find(sk, owner_io.btf, &slot);
	owner_io.found = st != NULL;
	owner_io.found_pid = st ? st->task.pid : 0;
	owner_io.in_slot = slot != NULL;
	if (st)
		owner_forget(sk, slot);
	return 0;
}
