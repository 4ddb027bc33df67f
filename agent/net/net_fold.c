/*
 * net_fold.c - what the kernel counted without sending records: the TCP connections it folded
 * (struct gw_tcp_fold), drained from the double-buffered fold maps into the flow table, and the
 * walks of open connections for the bytes they moved so far. See network.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>

#include "core/agent.h"
#include "core/process_lookup.h"
#include "gw_events.h"
#include "net_sockets.h"
#include "network.h"

#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ull

/* ---- connections the kernel folded (struct gw_tcp_fold) ------------------------------------ */

/* `seen_ns`: when the map the entry comes from stopped being live (its events are older). */
static void fold_ingest(struct gw_net *n, const struct gw_tcp_fold *v, uint64_t seen_ns)
{
	struct flow_sample s = { 0 };
	struct gw_net_task task = v->task;
	struct gw_ip remote;

	gw_ip_from_v6(&remote, v->tuple.remote_addr);
	s.connections = v->attempts;
	for (uint32_t r = GW_TCP_OK + 1; r < GW_TCP_RESULT_MAX; r++)
		s.failures[net_failure_of(r)] += v->failures[r];
	s.bytes_sent = v->bytes_sent;
	s.bytes_received = v->bytes_received;
	if (v->rtt_samples) {
		s.rtt_samples = v->rtt_samples;
		s.rtt_sum_us = v->rtt_sum_us;
		s.rtt_min_us = v->rtt_min_us;
		s.rtt_max_us = v->rtt_max_us;
	}
	if (v->tuple.direction == FLOW_INBOUND && !task.pid &&
	    !net_seed_listener_owner(n, v->tuple.netns, v->tuple.local_port, &task))
		n->counters[NET_CONNECT_UNKNOWN_OWNER] += v->attempts;
	if (v->rtt_samples && task.pid && !gw_ip_is_loopback(&remote))
		net_publish_rtt(n, net_task_process_id(n->agent, &task),
				(uint32_t)(v->rtt_sum_us / v->rtt_samples));
	n->counters[NET_TCP_ATTEMPTS_FOLDED] += v->attempts;
	n->counters[NET_TCP_CLOSES_FOLDED] += v->closes;
	n->counters[NET_TCP_FOLD_ENTRIES]++;
	s.dns_name = dns_cache_get(n->dns, task.uid, &remote, seen_ns);
	net_add_to_flow(n, &task, &v->tuple, &remote, &s, seen_ns);
}

#define FOLD_BATCH 128

/* Read and delete every entry of one fold map into the flow table. */
static void fold_drain(struct gw_net *n, int fd, uint64_t seen_ns)
{
	struct gw_tcp_fold_key keys[FOLD_BATCH], key;
	struct gw_tcp_fold vals[FOLD_BATCH];
	uint32_t cursor = 0;
	bool first = true;

	for (;;) {
		uint32_t count = FOLD_BATCH;
		int ret = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &cursor, &cursor, keys,
							  vals, &count, NULL);

		for (uint32_t i = 0; i < count && i < FOLD_BATCH; i++)
			fold_ingest(n, &vals[i], seen_ns);
		first = false;
		if (!ret)
			continue;
		if (ret == -ENOENT)
			return;
		break; /* no batch operations (before 5.6), or a bucket larger than the batch */
	}
	/* one key at a time: get the first key again each round, since it is deleted */
	while (!bpf_map_get_next_key(fd, NULL, &key)) {
		if (bpf_map_lookup_elem(fd, &key, &vals[0]) || bpf_map_delete_elem(fd, &key)) {
			n->counters[NET_TCP_FOLD_DRAIN_ERRORS]++;
			return;
		}
		fold_ingest(n, &vals[0], seen_ns);
	}
}

struct fold_slots_read {
	struct gw_net *n;
	uint64_t seen_ns;
};

static void fold_ingest_slot(void *ctx, const struct gw_tcp_fold *v)
{
	struct fold_slots_read *r = ctx;

	fold_ingest(r->n, v, r->seen_ns);
}

/* Read and zero every entry of one fold array (struct gw_tcp_fold_slot) into the flow table. */
static void fold_drain_slots(struct gw_net *n, unsigned int which, uint64_t seen_ns)
{
	size_t count;
	struct gw_tcp_fold_slot *slots = net_hooks_fold_slots(&n->hooks, which, &count);

	/* not mapped: the entries wait (their count too) and are read at a later tick */
	if (!slots) {
		if (n->hooks.skel)
			n->counters[NET_TCP_FOLD_DRAIN_ERRORS]++;
		return;
	}
	if (!net_hooks_fold_slots_take(&n->hooks, which))
		return;
	net_fold_slots_empty(slots, count, fold_ingest_slot,
			     &(struct fold_slots_read){ .n = n, .seen_ns = seen_ns });
}

/*
 * The maps and array that were live during the last tick have been idle for this one: drain them,
 * then make them the live ones again. Two of each in turn, so what is read and emptied is never
 * written.
 */
void net_fold_rotate(struct gw_net *n, bool drain_both, uint64_t now_ns)
{
	unsigned int live = net_hooks_fold_live(&n->hooks), idle = live ^ 1;
	int idle_fd = net_hooks_fold_map_fd(&n->hooks, idle);
	uint64_t seen_ns;

	if (idle_fd < 0)
		return;
	seen_ns = n->fold_retired_ns[idle] ? n->fold_retired_ns[idle] : now_ns;
	fold_drain_slots(n, idle, seen_ns);
	fold_drain(n, idle_fd, seen_ns);
	net_hooks_fold_set_live(&n->hooks, idle);
	n->fold_retired_ns[live] = now_ns;
	if (drain_both) {
		fold_drain_slots(n, live, now_ns);
		fold_drain(n, net_hooks_fold_map_fd(&n->hooks, live), now_ns);
	}
}

static void walk_open_connections_in(int ns_fd, void *ctx)
{
	struct gw_net *n = ctx;

	if (net_hooks_sample_in(&n->hooks, &n->agent->netns_iter, ns_fd))
		n->counters[NET_TCP_OPEN_SAMPLE_ERRORS]++;
	else
		n->counters[NET_TCP_OPEN_WALKS_OTHER_NETNS]++;
}

/*
 * The walk of open connections, in the agent's namespace and then in each other one (an iterator
 * sees the namespace it is made in): `refresh` finds the namespaces again, as each window's walk
 * does.
 */
void net_fold_walk_open(struct gw_net *n, bool refresh)
{
	const char *proc_root = n->agent->opt.proc_root;

	if (net_hooks_sample(&n->hooks))
		n->counters[NET_TCP_OPEN_SAMPLE_ERRORS]++;
	else
		n->counters[NET_TCP_OPEN_SAMPLES]++;
	if (n->netns.self_fd < 0)
		return;
	if (refresh) {
		if (netns_set_refresh(&n->netns, proc_root) < 0)
			return;
		n->counters[NET_NETNS_UNWALKED] = n->netns.missed;
	}
	netns_set_each(&n->netns, proc_root, walk_open_connections_in, n);
}
