// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_fold.c - the TCP fold machine (bpf/lib/fold.h, with bpf/lib/tcp.h's reporting) as units:
 * synthetic connection transitions go through BPF_PROG_TEST_RUN into test_fold.bpf.c, and each
 * case checks the fold entries (the direct-mapped slots and the fold maps of both halves), the
 * records that went to the ring instead, and the counters.
 *
 * Each case loads its own object, so slots, maps, the ring and the tick start empty.
 */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_unit.h"
#include "test_fold.h"
#include "test_fold.skel.h"

#define FOLD_SLOTS_PER_HALF 512	/* 1 << FOLD_SLOT_BITS on x86 */
#define NETNS 4026531840u
#define MAX_RECORDS 64

struct fold {
	struct test_fold *skel;
	struct ring_buffer *ring;
	struct gw_tcp_event records[MAX_RECORDS];
	int n_records;
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct fold *f = ctx;

	if (size != sizeof(struct gw_tcp_event) || f->n_records == MAX_RECORDS)
		return -1;
	memcpy(&f->records[f->n_records++], data, size);
	return 0;
}

/* `fold_max`: entries of each fold map (0: as built); `ring`: bytes of the ring. */
static int ft_open(struct fold *f, uint32_t fold_max, uint32_t ring)
{
	int err;

	memset(f, 0, sizeof(*f));
	f->skel = test_fold__open();
	if (!f->skel) {
		fprintf(stderr, "open: %s\n", strerror(errno));
		return -1;
	}
	bpf_map__set_max_entries(f->skel->maps.gw_events, ring);
	if (fold_max) {
		bpf_map__set_max_entries(f->skel->maps.tcp_fold_0, fold_max);
		bpf_map__set_max_entries(f->skel->maps.tcp_fold_1, fold_max);
	}
	err = test_fold__load(f->skel);
	if (err) {
		fprintf(stderr, "load: %s\n", strerror(-err));
		return -1;
	}
	f->ring = ring_buffer__new(bpf_map__fd(f->skel->maps.gw_events), on_record, f, NULL);
	return f->ring ? 0 : -1;
}

static void ft_done(struct fold *f)
{
	ring_buffer__free(f->ring);
	test_fold__destroy(f->skel);
}

/* Runs program `prog` with fold_io as set; the records it sent are appended to f->records. */
static int run(struct fold *f, struct bpf_program *prog)
{
	if (bpf_unit_run(bpf_program__fd(prog), NULL, 0, NULL))
		return -1;
	return ring_buffer__consume(f->ring) < 0 ? -1 : 0;
}

static struct gw_net_task task(uint32_t pid, uint64_t start)
{
	struct gw_net_task t = { .pid = pid, .tid = pid, .uid = 1000, .gid = 1000,
				 .start_boottime_ns = start, .comm = "curl" };
	return t;
}

/* Peer 10.0.0.`peer` (v4-mapped); `direction` 0: we connect to rport, 1: it connected to lport. */
static struct gw_net_tuple tuple(uint8_t peer, uint16_t lport, uint16_t rport, uint8_t direction)
{
	struct gw_net_tuple t = { .local_port = lport, .remote_port = rport, .family = 2,
				  .protocol = 6, .direction = direction, .netns = NETNS };

	t.local_addr[10] = t.local_addr[11] = t.remote_addr[10] = t.remote_addr[11] = 0xff;
	t.local_addr[12] = 10;
	t.local_addr[15] = 1;
	t.remote_addr[12] = 10;
	t.remote_addr[15] = peer;
	return t;
}

/* The key an entry should have: outbound by process, peer and its port; inbound by peer and our
 * port, with no process. */
static struct gw_tcp_fold_key key_of(const struct gw_net_task *t, const struct gw_net_tuple *tu)
{
	struct gw_tcp_fold_key k = { .netns = tu->netns, .direction = tu->direction };

	if (!tu->direction) {
		k.pid = t->pid;
		k.start_boottime_ns = t->start_boottime_ns;
	}
	memcpy(k.remote_addr, tu->remote_addr, 16);
	k.port = tu->direction ? tu->local_port : tu->remote_port;
	return k;
}

enum where { NOWHERE, IN_SLOT, IN_MAP };

/* `k`'s entry in half `half`: in a ready slot of the array, or in that half's fold map. */
static enum where entry(struct fold *f, const struct gw_tcp_fold_key *k, uint32_t half,
			struct gw_tcp_fold *v)
{
	int maps[2] = { bpf_map__fd(f->skel->maps.tcp_fold_0),
			bpf_map__fd(f->skel->maps.tcp_fold_1) };
	int slots = bpf_map__fd(f->skel->maps.tcp_fold_slots);
	struct gw_tcp_fold_slot s;

	for (uint32_t i = half * FOLD_SLOTS_PER_HALF; i < (half + 1) * FOLD_SLOTS_PER_HALF; i++) {
		if (bpf_map_lookup_elem(slots, &i, &s) == 0 && s.ready &&
		    !memcmp(&s.key, k, sizeof(*k))) {
			*v = s.v;
			return IN_SLOT;
		}
	}
	if (bpf_map_lookup_elem(maps[half], k, v) == 0)
		return IN_MAP;
	return NOWHERE;
}

static uint32_t map_entries(struct bpf_map *map)
{
	struct gw_tcp_fold_key k, next;
	uint32_t n = 0;
	int fd = bpf_map__fd(map);

	for (int err = bpf_map_get_next_key(fd, NULL, &k); !err;
	     err = bpf_map_get_next_key(fd, &k, &next), k = next)
		n++;
	return n;
}

static int set_io(struct fold *f, const struct gw_net_task *t, const struct gw_net_tuple *tu)
{
	memset(&f->skel->bss->fold_io, 0, sizeof(f->skel->bss->fold_io));
	f->skel->bss->fold_io.task = *t;
	f->skel->bss->fold_io.tuple = *tu;
	return 0;
}

/* The key's slot in the live half. */
static uint32_t slot_of(struct fold *f, const struct gw_net_task *t, const struct gw_net_tuple *tu)
{
	set_io(f, t, tu);
	if (run(f, f->skel->progs.fold_test_slot_of))
		return (uint32_t)-1;
	return f->skel->bss->fold_io.slot;
}

/* Connection `conn` of `t` to `tu` reaches ESTABLISHED: 1 folded, 0 sent, -1 run failed. */
static int connected(struct fold *f, uint32_t conn, const struct gw_net_task *t,
		     const struct gw_net_tuple *tu)
{
	set_io(f, t, tu);
	f->skel->bss->fold_io.conn = conn;
	if (run(f, f->skel->progs.fold_test_connected))
		return -1;
	return (int)f->skel->bss->fold_io.folded;
}

/* The socket error that makes each result (GW_TCP_OTHER: a connect closed with none). */
static int32_t sk_err_of(uint32_t result)
{
	static const int32_t err[GW_TCP_RESULT_MAX] = {
		[GW_TCP_REFUSED] = ECONNREFUSED, [GW_TCP_TIMEOUT] = ETIMEDOUT,
		[GW_TCP_RESET] = ECONNRESET,
	};
	return result < GW_TCP_RESULT_MAX ? err[result] : 0;
}

static int failed(struct fold *f, const struct gw_net_task *t, const struct gw_net_tuple *tu,
		  uint32_t result)
{
	set_io(f, t, tu);
	f->skel->bss->fold_io.sk_err = sk_err_of(result);
	if (run(f, f->skel->progs.fold_test_failed))
		return -1;
	return (int)f->skel->bss->fold_io.folded;
}

static int closed(struct fold *f, uint32_t conn, const struct gw_net_tuple *tu, uint32_t result,
		  uint64_t sent, uint64_t received, uint32_t srtt_us)
{
	struct fold_test_io *io = &f->skel->bss->fold_io;

	memset(io, 0, sizeof(*io));
	io->tuple = *tu;
	io->conn = conn;
	io->sk_err = sk_err_of(result);
	io->bytes_sent = sent;
	io->bytes_received = received;
	io->srtt_us = srtt_us;
	if (run(f, f->skel->progs.fold_test_closed))
		return -1;
	return (int)io->folded;
}

static const struct gw_net_task nobody;

static int first_attempt_sent_then_folded(void)
{
	struct gw_net_task t = task(4242, 7000);
	struct gw_net_tuple tu = tuple(9, 40000, 443, 0);
	struct gw_tcp_fold_key k = key_of(&t, &tu);
	struct gw_tcp_fold v;
	struct fold f;

	UNIT_CHECK(!ft_open(&f, 0, 16384), "load");
	UNIT_EQ(connected(&f, 0, &t, &tu), 0);
	UNIT_EQ(f.n_records, 1);
	UNIT_EQ(f.records[0].hdr.type, GW_EV_TCP_CONNECT);
	UNIT_EQ(f.records[0].task.pid, 4242);
	UNIT_EQ(f.records[0].result, GW_TCP_OK);
	/* the same process to the same service, from other local ports: folded */
	for (int i = 1; i <= 3; i++) {
		tu.local_port = 40000 + i;
		UNIT_EQ(connected(&f, 0, &t, &tu), 1);
	}
	UNIT_EQ(f.n_records, 1);
	UNIT_EQ(entry(&f, &k, 0, &v), IN_SLOT);
	UNIT_EQ(v.attempts, 3);
	UNIT_EQ(v.reported, 1u << GW_TCP_OK);
	UNIT_EQ(v.task.pid, 4242);
	UNIT_EQ(v.tuple.local_port, 40000); /* the connection that made the entry */
	UNIT_EQ(v.rtt_min_us, 0xffffffffu);
	UNIT_EQ(f.skel->bss->gw_fold_slots_made[0], 1);
	ft_done(&f);
	return 0;
}

/* Each result of a key is sent once per tick; its repeats are counted by result. */
static int each_result_sent_once_then_counted(void)
{
	static const uint32_t results[] = { GW_TCP_REFUSED, GW_TCP_REFUSED, GW_TCP_OK,
					    GW_TCP_REFUSED, GW_TCP_TIMEOUT, GW_TCP_TIMEOUT,
					    GW_TCP_RESET, GW_TCP_OTHER, GW_TCP_OK };
	static const int want_folded[] = { 0, 1, 0, 1, 0, 1, 0, 0, 1 };
	struct gw_net_task t = task(77, 1);
	struct gw_net_tuple tu = tuple(3, 50000, 22, 0);
	struct gw_tcp_fold_key k = key_of(&t, &tu);
	struct gw_tcp_fold v;
	struct fold f;

	UNIT_CHECK(!ft_open(&f, 0, 16384), "load");
	for (int i = 0; i < 9; i++) {
		int folded = results[i] == GW_TCP_OK ? connected(&f, 0, &t, &tu) :
						      failed(&f, &t, &tu, results[i]);

		UNIT_CHECK(folded == want_folded[i], "attempt %d (result %u): folded %d", i,
			   results[i], folded);
	}
	UNIT_EQ(f.n_records, 5);
	UNIT_EQ(f.records[0].result, GW_TCP_REFUSED);
	UNIT_EQ(f.records[1].result, GW_TCP_OK);
	UNIT_EQ(entry(&f, &k, 0, &v), IN_SLOT);
	UNIT_EQ(v.attempts, 4);
	UNIT_EQ(v.failures[GW_TCP_OK], 0);
	UNIT_EQ(v.failures[GW_TCP_REFUSED], 2);
	UNIT_EQ(v.failures[GW_TCP_TIMEOUT], 1);
	UNIT_EQ(v.failures[GW_TCP_RESET], 0);
	UNIT_EQ(v.reported, 0x1f);
	ft_done(&f);
	return 0;
}

/* Outbound: a key per process (pid and start), peer and service port; not the local port. */
static int keys_per_process_peer_and_port(void)
{
	struct gw_net_task a = task(100, 5), a_reused = task(100, 6), b = task(101, 5);
	struct gw_net_tuple tu = tuple(1, 40000, 443, 0), other_peer = tuple(2, 40000, 443, 0),
			    other_port = tuple(1, 40000, 80, 0);
	struct fold f;

	UNIT_CHECK(!ft_open(&f, 0, 16384), "load");
	UNIT_EQ(connected(&f, 0, &a, &tu), 0);
	UNIT_EQ(connected(&f, 0, &a_reused, &tu), 0);	/* same pid, another process */
	UNIT_EQ(connected(&f, 0, &b, &tu), 0);
	UNIT_EQ(connected(&f, 0, &a, &other_peer), 0);
	UNIT_EQ(connected(&f, 0, &a, &other_port), 0);
	tu.local_port = 41000;
	UNIT_EQ(connected(&f, 0, &a, &tu), 1);
	UNIT_EQ(f.n_records, 5);
	UNIT_EQ(f.skel->bss->gw_fold_slots_made[0] + map_entries(f.skel->maps.tcp_fold_0), 5);
	ft_done(&f);
	return 0;
}

static int close_folds_bytes_and_rtt(void)
{
	struct gw_net_task t = task(300, 9);
	struct gw_net_tuple tu = tuple(5, 40000, 8443, 0);
	struct gw_tcp_fold_key k = key_of(&t, &tu);
	struct gw_tcp_fold v;
	struct fold f;

	UNIT_CHECK(!ft_open(&f, 0, 16384), "load");
	for (uint32_t c = 0; c < 4; c++)
		UNIT_EQ(connected(&f, c, &t, &tu), c ? 1 : 0);
	UNIT_EQ(closed(&f, 0, &tu, GW_TCP_OK, 1000, 20000, 150), 1);
	UNIT_EQ(closed(&f, 1, &tu, GW_TCP_OK, 10, 5, 90), 1);
	UNIT_EQ(closed(&f, 2, &tu, GW_TCP_OK, 0, 0, 0), 1);	/* no RTT: not a sample */
	UNIT_EQ(closed(&f, 3, &tu, GW_TCP_RESET, 1, 2, 400), 1);
	UNIT_EQ(f.n_records, 1); /* the first connect only */
	UNIT_EQ(entry(&f, &k, 0, &v), IN_SLOT);
	UNIT_EQ(v.closes, 4);
	UNIT_EQ(v.bytes_sent, 1011);
	UNIT_EQ(v.bytes_received, 20007);
	UNIT_EQ(v.rtt_samples, 3);
	UNIT_EQ(v.rtt_sum_us, 640);
	UNIT_EQ(v.rtt_min_us, 90);
	UNIT_EQ(v.rtt_max_us, 400);
	UNIT_EQ(v.failures[GW_TCP_RESET], 1);
	UNIT_EQ(v.attempts, 3);
	ft_done(&f);
	return 0;
}

/*
 * A close in the tick of its connect finds the entry through the slot its result remembered; after
 * the tick turned it looks its key up in the live half, where it makes a new entry.
 */
static int close_finds_remembered_slot_in_its_tick(void)
{
	struct gw_net_task t = task(301, 9);
	struct gw_net_tuple tu = tuple(6, 40000, 443, 0);
	struct gw_tcp_fold_key k = key_of(&t, &tu);
	struct gw_tcp_fold v;
	uint32_t slot;
	struct fold f;

	UNIT_CHECK(!ft_open(&f, 0, 16384), "load");
	slot = slot_of(&f, &t, &tu);
	UNIT_EQ(connected(&f, 0, &t, &tu), 0);
	UNIT_EQ(f.skel->bss->fold_io.fold_slot, slot + 1);
	UNIT_EQ(connected(&f, 1, &t, &tu), 1);
	UNIT_EQ(closed(&f, 0, &tu, GW_TCP_OK, 5, 6, 0), 1);
	UNIT_EQ(f.skel->bss->fold_io.at_close_hit, 1);
	f.skel->bss->gw_tcp_fold_gen++;
	UNIT_EQ(closed(&f, 1, &tu, GW_TCP_OK, 7, 8, 0), 1);
	UNIT_EQ(f.skel->bss->fold_io.at_close_hit, 0);
	UNIT_EQ(entry(&f, &k, 0, &v), IN_SLOT);
	UNIT_EQ(v.closes, 1);
	UNIT_EQ(v.bytes_sent, 5);
	UNIT_EQ(entry(&f, &k, 1, &v), IN_SLOT);
	UNIT_EQ(v.closes, 1);
	UNIT_EQ(v.bytes_sent, 7);
	UNIT_EQ(v.attempts, 0);
	UNIT_EQ(v.reported, 0);
	ft_done(&f);
	return 0;
}

/* The tick's low bit picks the half: a new tick sends each key's first attempt again. */
static int halves_turn_with_the_tick(void)
{
	struct gw_net_task t = task(302, 9);
	uint32_t slot;
	struct gw_net_tuple tu = tuple(7, 40000, 443, 0);
	struct gw_tcp_fold_key k = key_of(&t, &tu);
	struct gw_tcp_fold v;
	struct fold f;

	UNIT_CHECK(!ft_open(&f, 0, 16384), "load");
	UNIT_EQ(connected(&f, 0, &t, &tu), 0);
	UNIT_EQ(connected(&f, 0, &t, &tu), 1);
	f.skel->bss->gw_tcp_fold_gen++;
	UNIT_EQ(connected(&f, 0, &t, &tu), 0);
	UNIT_EQ(connected(&f, 0, &t, &tu), 1);
	UNIT_EQ(connected(&f, 0, &t, &tu), 1);
	slot = f.skel->bss->fold_io.fold_slot;
	UNIT_EQ(slot, slot_of(&f, &t, &tu) + 1);
	UNIT_CHECK(slot > FOLD_SLOTS_PER_HALF, "slot %u in half 1", slot);
	UNIT_EQ(f.n_records, 2);
	UNIT_EQ(entry(&f, &k, 0, &v), IN_SLOT);
	UNIT_EQ(v.attempts, 1);
	UNIT_EQ(entry(&f, &k, 1, &v), IN_SLOT);
	UNIT_EQ(v.attempts, 2);
	UNIT_EQ(f.skel->bss->gw_fold_slots_made[0], 1);
	UNIT_EQ(f.skel->bss->gw_fold_slots_made[1], 1);
	/* tick 2 is half 0 again: the agent had emptied it; here nobody did */
	f.skel->bss->gw_tcp_fold_gen++;
	UNIT_EQ(connected(&f, 0, &t, &tu), 1);
	UNIT_EQ(entry(&f, &k, 0, &v), IN_SLOT);
	UNIT_EQ(v.attempts, 2);
	ft_done(&f);
	return 0;
}

/* Ports to service 10.0.0.8 whose key takes the slot of port 1's key: `n` of them into `ports`. */
static int colliding_ports(struct fold *f, const struct gw_net_task *t, uint16_t *ports, int n)
{
	struct gw_net_tuple tu = tuple(8, 40000, 1, 0);
	uint32_t want = slot_of(f, t, &tu);
	int found = 0;

	for (uint32_t p = 2; p < 65536 && found < n; p++) {
		tu.remote_port = (uint16_t)p;
		if (slot_of(f, t, &tu) == want)
			ports[found++] = (uint16_t)p;
	}
	return found;
}

/* A key whose slot another key holds goes to the fold map, and is counted. */
static int slot_taken_goes_to_fold_map(void)
{
	struct gw_net_task t = task(303, 9);
	struct gw_net_tuple a = tuple(8, 40000, 1, 0), b = a;
	struct gw_tcp_fold_key ka, kb;
	struct gw_tcp_fold v;
	uint16_t port;
	struct fold f;

	UNIT_CHECK(!ft_open(&f, 0, 16384), "load");
	UNIT_EQ(colliding_ports(&f, &t, &port, 1), 1);
	b.remote_port = port;
	ka = key_of(&t, &a);
	kb = key_of(&t, &b);
	UNIT_EQ(connected(&f, 0, &t, &a), 0);
	UNIT_EQ(connected(&f, 0, &t, &b), 0);
	UNIT_EQ(connected(&f, 0, &t, &b), 1);
	UNIT_EQ(f.skel->bss->fold_io.fold_slot, 0); /* not in the array */
	UNIT_EQ(closed(&f, 0, &b, GW_TCP_OK, 3, 4, 0), 1);
	UNIT_EQ(entry(&f, &ka, 0, &v), IN_SLOT);
	UNIT_EQ(v.attempts, 0);
	UNIT_EQ(entry(&f, &kb, 0, &v), IN_MAP);
	UNIT_EQ(v.attempts, 1);
	UNIT_EQ(v.closes, 1);
	UNIT_EQ(f.skel->bss->gw_fold_slot_taken, 3);
	UNIT_EQ(f.skel->bss->gw_fold_slots_made[0], 1);
	ft_done(&f);
	return 0;
}

/*
 * No room to fold (slot taken, map full): every attempt goes out as a record; once the ring is
 * full too, each one that did not fit is counted as a TCP drop.
 */
static int no_room_sends_records_and_counts_drops(void)
{
	struct gw_net_task t = task(304, 9);
	struct gw_net_tuple a = tuple(8, 40000, 1, 0), b = a, c = a;
	uint64_t drops;
	uint16_t ports[2];
	struct fold f;
	int sent = 0, records;

	/* a one-entry fold map and a ring of a few records */
	UNIT_CHECK(!ft_open(&f, 1, 4096), "load");
	UNIT_EQ(colliding_ports(&f, &t, ports, 2), 2);
	b.remote_port = ports[0];
	c.remote_port = ports[1];
	UNIT_EQ(connected(&f, 0, &t, &a), 0);	/* the slot */
	UNIT_EQ(connected(&f, 0, &t, &b), 0);	/* the map's one entry */
	UNIT_EQ(connected(&f, 0, &t, &b), 1);
	records = f.n_records;
	ring_buffer__free(f.ring); /* nobody reads the ring from here on */
	f.ring = NULL;
	for (int i = 0; i < 40; i++) {
		UNIT_EQ(bpf_unit_run(bpf_program__fd(f.skel->progs.fold_test_connected), NULL, 0,
				     NULL), 0);
		UNIT_EQ(f.skel->bss->fold_io.folded, 1); /* b: still folds */
		set_io(&f, &t, &c);
		UNIT_EQ(bpf_unit_run(bpf_program__fd(f.skel->progs.fold_test_connected), NULL, 0,
				     NULL), 0);
		UNIT_EQ(f.skel->bss->fold_io.folded, 0);
		sent++;
		set_io(&f, &t, &b);
	}
	UNIT_EQ(map_entries(f.skel->maps.tcp_fold_0), 1);
	UNIT_CHECK(!bpf_unit_percpu_sum(bpf_map__fd(f.skel->maps.gw_drops), GW_DROP_TCP, &drops),
		   "drops");
	/* a 4 KiB ring holds 25 records of 152 bytes: some of the 40 did not fit */
	UNIT_CHECK(drops > 0 && drops < (uint64_t)sent, "drops %llu of %d",
		   (unsigned long long)drops, sent);
	f.ring = ring_buffer__new(bpf_map__fd(f.skel->maps.gw_events), on_record, &f, NULL);
	UNIT_CHECK(f.ring && ring_buffer__consume(f.ring) >= 0, "ring");
	UNIT_EQ(f.n_records - records + drops, sent);
	for (int i = records; i < f.n_records; i++)
		UNIT_EQ(f.records[i].tuple.remote_port, ports[1]);
	ft_done(&f);
	return 0;
}

/* Accepted connections fold by peer and our port, for whoever listens there. */
static int accepted_folded_for_listener(void)
{
	struct gw_listen_key lk = { .netns = NETNS, .port = 8080 };
	struct gw_net_task owner = task(555, 3);
	struct gw_net_tuple tu = tuple(20, 8080, 50000, 1);
	struct gw_tcp_fold_key k = key_of(&nobody, &tu);
	struct gw_tcp_fold v;
	struct fold f;

	UNIT_CHECK(!ft_open(&f, 0, 16384), "load");
	UNIT_EQ(bpf_map_update_elem(bpf_map__fd(f.skel->maps.listen_owner), &lk, &owner, BPF_ANY),
		0);
	for (int i = 0; i < 3; i++) {
		tu.remote_port = 50000 + i; /* the peer's ephemeral port is not in the key */
		set_io(&f, &nobody, &tu);
		UNIT_EQ(run(&f, f.skel->progs.fold_test_accepted), 0);
	}
	UNIT_EQ(f.n_records, 1);
	UNIT_EQ(f.records[0].hdr.type, GW_EV_TCP_ACCEPT);
	UNIT_EQ(f.records[0].task.pid, 555);
	set_io(&f, &nobody, &tu);
	f.skel->bss->fold_io.bytes_received = 99;
	UNIT_EQ(run(&f, f.skel->progs.fold_test_accepted_closed), 0);
	UNIT_EQ(f.n_records, 1);
	UNIT_EQ(entry(&f, &k, 0, &v), IN_SLOT);
	UNIT_EQ(k.pid, 0);
	UNIT_EQ(v.task.pid, 555);
	UNIT_EQ(v.attempts, 2);
	UNIT_EQ(v.closes, 1);
	UNIT_EQ(v.bytes_received, 99);
	ft_done(&f);
	return 0;
}

/* An accepted connection's close with no entry and nobody listening: a record of unknown
 * direction, for the agent to match against the sockets it saw at start. */
static int accepted_close_unknown_owner_sent(void)
{
	struct gw_net_tuple tu = tuple(21, 9090, 50000, 1);
	struct gw_tcp_fold_key k = key_of(&nobody, &tu);
	struct gw_tcp_fold v;
	struct fold f;

	UNIT_CHECK(!ft_open(&f, 0, 16384), "load");
	set_io(&f, &nobody, &tu);
	f.skel->bss->fold_io.bytes_sent = 12;
	UNIT_EQ(run(&f, f.skel->progs.fold_test_accepted_closed), 0);
	UNIT_EQ(f.n_records, 1);
	UNIT_EQ(f.records[0].hdr.type, GW_EV_TCP_CLOSE);
	UNIT_EQ(f.records[0].tuple.direction, 2);
	UNIT_EQ(f.records[0].task.pid, 0);
	UNIT_EQ(f.records[0].bytes_sent, 12);
	UNIT_EQ(entry(&f, &k, 0, &v), NOWHERE);
	/* the connect flavour's close of one it never saw accepted: its accept first, for pid 0 */
	set_io(&f, &nobody, &tu);
	f.skel->bss->fold_io.accept_unreported = 1;
	UNIT_EQ(run(&f, f.skel->progs.fold_test_accepted_closed), 0);
	UNIT_EQ(f.n_records, 2);
	UNIT_EQ(f.records[1].hdr.type, GW_EV_TCP_ACCEPT);
	UNIT_EQ(entry(&f, &k, 0, &v), IN_SLOT);
	UNIT_EQ(v.closes, 1);
	ft_done(&f);
	return 0;
}

static const struct bpf_unit_case cases[] = {
	{ "first_attempt_sent_then_folded", first_attempt_sent_then_folded },
	{ "each_result_sent_once_then_counted", each_result_sent_once_then_counted },
	{ "keys_per_process_peer_and_port", keys_per_process_peer_and_port },
	{ "close_folds_bytes_and_rtt", close_folds_bytes_and_rtt },
	{ "close_finds_remembered_slot_in_its_tick", close_finds_remembered_slot_in_its_tick },
	{ "halves_turn_with_the_tick", halves_turn_with_the_tick },
	{ "slot_taken_goes_to_fold_map", slot_taken_goes_to_fold_map },
	{ "no_room_sends_records_and_counts_drops", no_room_sends_records_and_counts_drops },
	{ "accepted_folded_for_listener", accepted_folded_for_listener },
	{ "accepted_close_unknown_owner_sent", accepted_close_unknown_owner_sent },
};

int main(int argc, char **argv)
{
	return bpf_unit_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
