/*
 * net_seed.c - sockets older than the agent: listeners and established connections read from
 * /proc at start (and again for an accept whose listener nobody named), so their events still get
 * an owner. See network.h.
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

/* ---- sockets older than the agent ----------------------------------------------------------- */

static bool task_from_table(struct gw_agent *a, uint32_t pid, struct gw_net_task *t)
{
	struct proc_entry *e = process_lookup(a, pid);

	memset(t, 0, sizeof(*t));
	if (!e)
		return false;
	t->pid = t->tid = pid;
	t->uid = e->uid;
	t->gid = e->gid;
	t->start_boottime_ns = e->start_ns; /* tick resolution: yields the same process id */
	t->cgroup_id = e->cgroup_id;
	_Static_assert(sizeof(t->comm) == sizeof(e->comm), "comm sizes");
	memcpy(t->comm, e->comm, sizeof(t->comm));
	return true;
}

static void open_key(struct gw_net_open_key *k, uint32_t netns, const struct gw_ip *remote,
		     uint16_t remote_port)
{
	memset(k, 0, sizeof(*k));
	k->netns = netns;
	k->remote_port = remote_port;
	k->remote = *remote;
}

struct socket_list {
	struct net_socket *v;
	size_t n, cap;
};

static void collect_socket(const struct net_socket *s, void *ctx)
{
	struct socket_list *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct net_socket *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *s;
}

static bool is_listening(const struct socket_list *l, uint32_t netns, uint16_t port)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].state == NET_TCP_LISTEN && l->v[i].netns == netns &&
		    l->v[i].local_port == port)
			return true;
	return false;
}

static void seed_listener(struct gw_net *n, int map_fd, const struct net_socket *s,
			  const struct gw_net_task *t)
{
	struct gw_listen_key key = { .netns = s->netns, .port = s->local_port };

	/* NOEXIST: a listen() or bind() the hooks already saw is fresher than /proc */
	if (map_fd >= 0 && !bpf_map_update_elem(map_fd, &key, t, BPF_NOEXIST))
		n->counters[NET_LISTENERS_SEEDED]++;
}

static void seed_listener_found(const struct net_socket *s, void *ctx)
{
	struct gw_net *n = ctx;
	struct gw_net_task t;

	if (task_from_table(n->agent, s->pid, &t))
		seed_listener(n, net_hooks_listen_map_fd(&n->hooks), s, &t);
}

/*
 * How often an accepted connection with no known listener may have /proc read again: a scan reads
 * every process's fds, tens of milliseconds on a busy host, in the event loop.
 */
#define LISTENER_RESCAN_NS (5000 * NS_PER_MS)

/*
 * The owner of an accepted connection whose listener the kernel's map does not know: one the
 * start's scan missed, or, in the connect flavour, one whose port listen() picked (no bind() to
 * see). /proc knows it: its listeners are read into the map again, at most every
 * LISTENER_RESCAN_NS, and the owner is taken from there. False: still unknown.
 */
bool net_seed_listener_owner(struct gw_net *n, uint32_t netns, uint16_t port,
			     struct gw_net_task *t)
{
	int fd = net_hooks_listen_map_fd(&n->hooks);
	struct gw_listen_key key = { .netns = netns, .port = port };
	uint64_t now = gw_now_boottime_ns();

	if (fd < 0)
		return false;
	if (!bpf_map_lookup_elem(fd, &key, t))
		return true; /* learned since the kernel looked */
	if (n->listener_scan_ns && now - n->listener_scan_ns < LISTENER_RESCAN_NS)
		return false;
	n->listener_scan_ns = now;
	n->counters[NET_LISTENER_RESCANS]++;
	net_scan_sockets(n->agent->opt.proc_root, 1u << NET_TCP_LISTEN, seed_listener_found, n);
	return !bpf_map_lookup_elem(fd, &key, t);
}

/* The sockets /proc shows at start: listeners go to the kernel's owner map (so their accepts are
 * attributed), established connections are reported now and remembered for their close. */
void net_seed_from_procfs(struct gw_net *n)
{
	struct socket_list l = { 0 };
	int map_fd = net_hooks_listen_map_fd(&n->hooks);
	int ret;

	ret = net_scan_sockets(n->agent->opt.proc_root,
			       1u << NET_TCP_LISTEN | 1u << NET_TCP_ESTABLISHED, collect_socket, &l);
	if (ret < 0) {
		fprintf(stderr,
			"ghostwatch: reading sockets under %s: %s (connections older than the agent "
			"will have no owner)\n", n->agent->opt.proc_root, strerror(-ret));
		return;
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct net_socket *s = &l.v[i];
		struct gw_net_task t;

		if (!task_from_table(n->agent, s->pid, &t))
			continue;
		if (s->state == NET_TCP_LISTEN) {
			seed_listener(n, map_fd, s, &t);
			continue;
		}

		struct gw_net_tuple tu = {
			.local_port = s->local_port,
			.remote_port = s->remote_port,
			.family = s->family,
			.protocol = IPPROTO_TCP,
			.direction = is_listening(&l, s->netns, s->local_port) ? FLOW_INBOUND
										: FLOW_OUTBOUND,
			.netns = s->netns,
		};
		struct flow_sample fs = { .connections = 1 };
		struct gw_net_open *o;

		memcpy(tu.local_addr, s->local.b, 16);
		memcpy(tu.remote_addr, s->remote.b, 16);
		gw_arena_reset(&n->agent->arena);
		net_emit_connection(n, &t, &tu, NULL, "ok", "procfs", 0, 0);
		net_add_to_flow(n, &t, &tu, &s->remote, &fs, gw_now_boottime_ns());
		n->counters[NET_OPEN_AT_START]++;

		o = calloc(1, sizeof(*o));
		if (!o)
			continue;
		open_key(&o->key, s->netns, &s->remote, s->remote_port);
		o->task = t;
		o->local_port = s->local_port;
		o->direction = tu.direction;
		HASH_ADD(hh, n->open_at_start, key, sizeof(o->key), o);
	}
	free(l.v);
}

/* A close the kernel could not attribute: one of the connections /proc showed at start? */
bool net_seed_claim_open(struct gw_net *n, struct gw_tcp_event *r)
{
	struct gw_net_open_key k;
	struct gw_net_open *o;
	struct gw_ip remote;

	gw_ip_from_v6(&remote, r->tuple.remote_addr);
	open_key(&k, r->tuple.netns, &remote, r->tuple.remote_port);
	HASH_FIND(hh, n->open_at_start, &k, sizeof(k), o);
	if (!o)
		return false;
	r->task = o->task;
	r->tuple.direction = o->direction;
	if (!r->tuple.local_port)
		r->tuple.local_port = o->local_port;
	HASH_DEL(n->open_at_start, o);
	free(o);
	return true;
}
