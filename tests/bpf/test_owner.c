// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_owner.c - who owns an outbound TCP socket (bpf/lib/owner.h) as units: stand-in sockets go
 * through remember, find and close by BPF_PROG_TEST_RUN into test_owner.bpf.c, and each case
 * checks the direct-mapped owner slots, conn_owner and their counters.
 *
 * Each case loads its own object, so the slots and conn_owner start empty.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_unit.h"
#include "test_owner.h"
#include "test_owner.skel.h"

struct own {
	struct test_owner *skel;
	struct owner_test_io *io;
};

/* `owner_max`: conn_owner's entries (0: as built). */
static int own_open(struct own *o, uint32_t owner_max)
{
	int err;

	o->skel = test_owner__open();
	if (!o->skel) {
		fprintf(stderr, "open: %s\n", strerror(errno));
		return -1;
	}
	bpf_map__set_max_entries(o->skel->maps.gw_events, 4096); /* unused here */
	if (owner_max)
		bpf_map__set_max_entries(o->skel->maps.conn_owner, owner_max);
	err = test_owner__load(o->skel);
	if (err) {
		fprintf(stderr, "load: %s\n", strerror(-err));
		return -1;
	}
	o->io = &o->skel->bss->owner_io;
	return 0;
}

static void own_done(struct own *o)
{
	test_owner__destroy(o->skel);
}

static int call(struct own *o, struct bpf_program *prog, uint32_t sock, uint32_t pid, int btf)
{
	uint32_t ret;

	memset(o->io, 0, sizeof(*o->io));
	o->io->sock = sock;
	o->io->pid = pid;
	o->io->btf = btf;
	if (bpf_unit_run(bpf_program__fd(prog), NULL, 0, &ret) || ret)
		return -1;
	return 0;
}

/* Socket `sock`'s slot (-1: none); its address into *addr when addr is not NULL. */
static int32_t slot_of(struct own *o, uint32_t sock, int btf, uint64_t *addr)
{
	if (call(o, o->skel->progs.owner_test_slot_of, sock, 0, btf))
		return -2;
	if (addr)
		*addr = o->io->addr;
	return o->io->slot;
}

static int remember(struct own *o, uint32_t sock, uint32_t pid, int btf)
{
	if (call(o, o->skel->progs.owner_test_remember, sock, pid, btf))
		return -1;
	return (int)o->io->ok;
}

/* 0: not found; else the owner's pid, and *in_slot. */
static int64_t find(struct own *o, struct bpf_program *prog, uint32_t sock, int btf, int *in_slot)
{
	if (call(o, prog, sock, 0, btf))
		return -1;
	*in_slot = (int)o->io->in_slot;
	return o->io->found ? o->io->found_pid : 0;
}

/* The slot's socket, claims and owner pid (struct owner_slot: sk, claims, conn_state). */
static int slot_read(struct own *o, uint32_t idx, uint64_t *sk, int64_t *claims, uint32_t *pid)
{
	uint8_t buf[256];

	if (bpf_map__value_size(o->skel->maps.owner_slots) > sizeof(buf) ||
	    bpf_map_lookup_elem(bpf_map__fd(o->skel->maps.owner_slots), &idx, buf))
		return -1;
	memcpy(sk, buf, 8);
	memcpy(claims, buf + 8, 8);
	memcpy(pid, buf + 16, 4);
	return 0;
}

static uint32_t owner_entries(struct own *o)
{
	int fd = bpf_map__fd(o->skel->maps.conn_owner);
	uint64_t k, next;
	uint32_t n = 0;

	for (int err = bpf_map_get_next_key(fd, NULL, &k); !err;
	     err = bpf_map_get_next_key(fd, &k, &next), k = next)
		n++;
	return n;
}

/* `n` sockets that hash to one slot, into socks[]; how many were found. */
static int same_slot(struct own *o, uint32_t *socks, int n)
{
	int32_t slots[OWNER_TEST_SOCKS];

	for (uint32_t i = 0; i < OWNER_TEST_SOCKS; i++)
		slots[i] = slot_of(o, i, 1, NULL);
	for (uint32_t i = 0; i < OWNER_TEST_SOCKS; i++) {
		int found = 0;

		for (uint32_t j = i; j < OWNER_TEST_SOCKS && found < n; j++) {
			if (slots[j] == slots[i])
				socks[found++] = j;
		}
		if (found == n)
			return n;
	}
	return 0;
}

static int owner_kept_in_slot_until_close(void)
{
	uint32_t pid;
	uint64_t addr, sk;
	int64_t claims;
	int32_t slot;
	struct own o;
	int in_slot;

	UNIT_CHECK(!own_open(&o, 0), "load");
	slot = slot_of(&o, 5, 1, &addr);
	UNIT_CHECK(slot >= 0 && slot < OWNER_TEST_SLOTS, "slot %d", slot);
	UNIT_EQ(remember(&o, 5, 1234, 1), 1);
	UNIT_CHECK(!slot_read(&o, (uint32_t)slot, &sk, &claims, &pid), "slot");
	UNIT_EQ(sk, addr);
	UNIT_EQ(claims, 1);
	UNIT_EQ(pid, 1234);
	UNIT_EQ(o.skel->bss->gw_conn_owner_n, 0);
	UNIT_EQ(owner_entries(&o), 0);
	UNIT_EQ(find(&o, o.skel->progs.owner_test_find, 5, 1, &in_slot), 1234);
	UNIT_EQ(in_slot, 1);
	UNIT_EQ(find(&o, o.skel->progs.owner_test_close, 5, 1, &in_slot), 1234);
	UNIT_CHECK(!slot_read(&o, (uint32_t)slot, &sk, &claims, &pid), "slot");
	UNIT_EQ(sk, 0);
	UNIT_EQ(claims, 0);
	UNIT_EQ(find(&o, o.skel->progs.owner_test_find, 5, 1, &in_slot), 0);
	/* the released slot is the next owner's */
	UNIT_EQ(remember(&o, 5, 99, 1), 1);
	UNIT_EQ(find(&o, o.skel->progs.owner_test_find, 5, 1, &in_slot), 99);
	UNIT_EQ(in_slot, 1);
	UNIT_EQ(o.skel->bss->gw_owner_overflows, 0);
	own_done(&o);
	return 0;
}

/*
 * Sockets a TCP socket's size apart spread over the slots (the real stride fills ~3/4 of them; an
 * address's low or high bits alone would fill a handful), and a socket always has the same slot.
 */
static int slot_is_a_hash_of_the_address(void)
{
	int used[OWNER_TEST_SLOTS] = { 0 }, distinct = 0;
	struct own o;

	UNIT_CHECK(!own_open(&o, 0), "load");
	for (uint32_t i = 0; i < OWNER_TEST_SLOTS; i++) {
		int32_t slot = slot_of(&o, i, 1, NULL);

		UNIT_CHECK(slot >= 0 && slot < OWNER_TEST_SLOTS, "socket %u: slot %d", i, slot);
		UNIT_EQ(slot_of(&o, i, 1, NULL), slot);
		distinct += !used[slot]++;
	}
	UNIT_CHECK(distinct >= OWNER_TEST_SLOTS / 2, "%d sockets in %d slots", OWNER_TEST_SLOTS,
		   distinct);
	/* the classic flavour has no slots */
	UNIT_EQ(slot_of(&o, 0, 0, NULL), -1);
	own_done(&o);
	return 0;
}

/* A socket whose slot another open connection holds goes to conn_owner, and is counted. */
static int collision_goes_to_conn_owner(void)
{
	uint32_t socks[2];
	uint64_t addr_b;
	struct own o;
	int in_slot;

	UNIT_CHECK(!own_open(&o, 0), "load");
	UNIT_EQ(same_slot(&o, socks, 2), 2);
	slot_of(&o, socks[1], 1, &addr_b);
	UNIT_EQ(remember(&o, socks[0], 10, 1), 1);
	UNIT_EQ(remember(&o, socks[1], 11, 1), 1);
	UNIT_EQ(o.skel->bss->gw_owner_overflows, 1);
	UNIT_EQ(o.skel->bss->gw_conn_owner_n, 1);
	UNIT_EQ(owner_entries(&o), 1);
	{
		uint8_t st[256] = { 0 };
		uint32_t pid;

		UNIT_CHECK(bpf_map__value_size(o.skel->maps.conn_owner) <= sizeof(st), "size");
		UNIT_EQ(bpf_map_lookup_elem(bpf_map__fd(o.skel->maps.conn_owner), &addr_b, st), 0);
		memcpy(&pid, st, 4);
		UNIT_EQ(pid, 11);
	}
	UNIT_EQ(find(&o, o.skel->progs.owner_test_find, socks[0], 1, &in_slot), 10);
	UNIT_EQ(in_slot, 1);
	UNIT_EQ(find(&o, o.skel->progs.owner_test_find, socks[1], 1, &in_slot), 11);
	UNIT_EQ(in_slot, 0);
	UNIT_EQ(find(&o, o.skel->progs.owner_test_close, socks[1], 1, &in_slot), 11);
	UNIT_EQ(o.skel->bss->gw_conn_owner_n, 0);
	UNIT_EQ(owner_entries(&o), 0);
	UNIT_EQ(find(&o, o.skel->progs.owner_test_find, socks[0], 1, &in_slot), 10);
	UNIT_EQ(find(&o, o.skel->progs.owner_test_close, socks[0], 1, &in_slot), 10);
	/* both gone; the slot is free for the second socket now */
	UNIT_EQ(remember(&o, socks[1], 12, 1), 1);
	UNIT_EQ(find(&o, o.skel->progs.owner_test_find, socks[1], 1, &in_slot), 12);
	UNIT_EQ(in_slot, 1);
	UNIT_EQ(o.skel->bss->gw_owner_overflows, 1);
	own_done(&o);
	return 0;
}

/* Slot taken and conn_owner full: remember fails (the TCP hook counts that as a drop). */
static int no_room_refused(void)
{
	uint32_t socks[3];
	struct own o;
	int in_slot;

	UNIT_CHECK(!own_open(&o, 1), "load");
	UNIT_EQ(same_slot(&o, socks, 3), 3);
	UNIT_EQ(remember(&o, socks[0], 20, 1), 1);
	UNIT_EQ(remember(&o, socks[1], 21, 1), 1);
	UNIT_EQ(remember(&o, socks[2], 22, 1), 0);
	UNIT_EQ(o.skel->bss->gw_owner_overflows, 2);
	UNIT_EQ(o.skel->bss->gw_conn_owner_n, 1);
	UNIT_EQ(find(&o, o.skel->progs.owner_test_find, socks[2], 1, &in_slot), 0);
	UNIT_EQ(find(&o, o.skel->progs.owner_test_find, socks[1], 1, &in_slot), 21);
	own_done(&o);
	return 0;
}

/* The classic tracepoint flavour has no BTF socket: conn_owner alone. */
static int classic_flavour_uses_conn_owner_only(void)
{
	struct own o;
	int in_slot;

	UNIT_CHECK(!own_open(&o, 0), "load");
	UNIT_EQ(remember(&o, 7, 30, 0), 1);
	UNIT_EQ(o.skel->bss->gw_owner_overflows, 0);
	UNIT_EQ(o.skel->bss->gw_conn_owner_n, 1);
	UNIT_EQ(find(&o, o.skel->progs.owner_test_find, 7, 0, &in_slot), 30);
	UNIT_EQ(in_slot, 0);
	UNIT_EQ(find(&o, o.skel->progs.owner_test_close, 7, 0, &in_slot), 30);
	UNIT_EQ(o.skel->bss->gw_conn_owner_n, 0);
	UNIT_EQ(owner_entries(&o), 0);
	own_done(&o);
	return 0;
}

/* While conn_owner holds nothing (by its count), a socket its slot does not name skips it. */
static int find_skips_conn_owner_while_empty(void)
{
	uint8_t st[256] = { 0 };
	uint32_t pid = 40;
	uint64_t addr;
	struct own o;
	int in_slot;

	UNIT_CHECK(!own_open(&o, 0), "load");
	slot_of(&o, 9, 1, &addr);
	memcpy(st, &pid, 4);
	UNIT_EQ(bpf_map_update_elem(bpf_map__fd(o.skel->maps.conn_owner), &addr, st, BPF_ANY), 0);
	UNIT_EQ(find(&o, o.skel->progs.owner_test_find, 9, 1, &in_slot), 0);
	o.skel->bss->gw_conn_owner_n = 1;
	UNIT_EQ(find(&o, o.skel->progs.owner_test_find, 9, 1, &in_slot), 40);
	UNIT_EQ(in_slot, 0);
	own_done(&o);
	return 0;
}

static const struct bpf_unit_case cases[] = {
	{ "owner_kept_in_slot_until_close", owner_kept_in_slot_until_close },
	{ "slot_is_a_hash_of_the_address", slot_is_a_hash_of_the_address },
	{ "collision_goes_to_conn_owner", collision_goes_to_conn_owner },
	{ "no_room_refused", no_room_refused },
	{ "classic_flavour_uses_conn_owner_only", classic_flavour_uses_conn_owner_only },
	{ "find_skips_conn_owner_while_empty", find_skips_conn_owner_while_empty },
};

int main(int argc, char **argv)
{
	return bpf_unit_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
