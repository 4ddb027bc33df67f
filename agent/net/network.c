#include "network.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>

#include "core/agent.h"
#include "gw_events.h"
#include "net_sockets.h"
#include "core/process_lookup.h"

#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ull

void net_options_defaults(struct gw_net_options *o)
{
	memset(o, 0, sizeof(*o));
	o->enabled = true;
	o->hooks.tcp_hook = GW_TCP_HOOK_AUTO;
	o->hooks.udp = true;
	o->hooks.dns = true;
	o->flow_window_s = 10;
	o->flow_table_max = 16384;
	o->dns_cache_max = 8192;
	o->dns_min_ttl_s = 300;
	o->exit_flush_grace_ms = 1000;
}

static void emit_flow(const struct flow *f, enum flow_flush_reason why, void *ctx);

void net_publish_rtt(struct gw_net *n, uint64_t process_id, uint32_t rtt_us)
{
	agent_publish(n->agent, &(struct gw_fact){ .kind = GW_FACT_RTT, .process_id = process_id,
						   .rtt_us = rtt_us });
}
int net_init(struct gw_net *n, struct gw_agent *a, const struct gw_net_options *o)
{
	uint64_t now = gw_now_boottime_ns();

	memset(n, 0, sizeof(*n));
	n->opt = *o;
	n->agent = a;
	n->hooks.cgroup_fd = -1;
	n->netns.self_fd = -1;
	if (!o->enabled)
		return 0;
	n->flows = flow_table_new(o->flow_table_max, (uint64_t)o->flow_window_s * NS_PER_S, emit_flow,
				  n, now);
	n->dns = dns_cache_new(o->dns_cache_max, o->dns_min_ttl_s);
	n->queries = dns_pending_new(4096);
	if (!n->flows || !n->dns || !n->queries) {
		net_destroy(n);
		return -ENOMEM;
	}
	return 0;
}

int net_start(struct gw_net *n)
{
	char err[256];
	int ret;

	if (!n->opt.enabled) {
		hooks_set_status(&n->agent->hooks, "tcp", "off", "disabled by configuration");
		return 0;
	}
	n->opt.hooks.wakeup_bytes = n->agent->opt.hooks.wakeup_bytes;
	ret = net_hooks_load(&n->hooks, &n->agent->hooks, &n->opt.hooks, err, sizeof(err));
	if (ret) {
		hooks_set_status(&n->agent->hooks, "tcp", "none", err);
		hooks_set_status(&n->agent->hooks, "udp", "none", err);
		hooks_set_status(&n->agent->hooks, "dns", "none", err);
		return ret;
	}
	/* after the hooks are attached, so a socket cannot fall between the scan and the hooks */
	net_seed_from_procfs(n);
	if (n->hooks.sample_link && (ret = netns_set_open(&n->netns)))
		fprintf(stderr, "ghostwatch: opening this thread's network namespace: %s (open "
				"connections in other namespaces are counted at close only)\n",
			strerror(-ret));
	return 0;
}

void net_destroy(struct gw_net *n)
{
	struct gw_net_open *o, *tmp;

	HASH_ITER(hh, n->open_at_start, o, tmp) {
		HASH_DEL(n->open_at_start, o);
		free(o);
	}
	net_hooks_close(&n->hooks);
	netns_set_close(&n->netns);
	flow_table_free(n->flows);
	n->flows = NULL;
	dns_cache_free(n->dns);
	n->dns = NULL;
	dns_pending_free(n->queries);
	n->queries = NULL;
}

/* ---- building messages ---------------------------------------------------------------------- */

static char *arena_ip(struct gw_agent *a, const struct gw_ip *ip)
{
	char buf[GW_IP_STR_LEN];

	gw_ip_format(ip, buf, sizeof(buf));
	return gw_arena_text(&a->arena, buf, strlen(buf));
}

static const char *proto_name(uint8_t protocol)
{
	switch (protocol) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "icmpv6";
	default: return "other";
	}
}

static const char *direction_name(uint8_t dir)
{
	return dir == FLOW_INBOUND ? "inbound" : "outbound";
}

/* Identity for a process known only by what a network record carries. */
static Ghostwatch__V1__Process *bare_process(struct gw_agent *a, uint64_t id, uint32_t pid,
					     const struct gw_net_task *t)
{
	Ghostwatch__V1__Process *p = gw_arena_alloc(&a->arena, sizeof(*p));

	if (!p)
		return NULL;
	ghostwatch__v1__process__init(p);
	p->process_id = id;
	p->pid = pid;
	p->source = "unknown";
	if (t) {
		p->tid = t->tid;
		p->uid = t->uid;
		p->gid = t->gid;
		p->cgroup_id = t->cgroup_id;
		p->comm = gw_arena_text(&a->arena, t->comm, strnlen(t->comm, sizeof(t->comm)));
	}
	return p;
}

uint64_t net_task_process_id(struct gw_agent *a, const struct gw_net_task *t)
{
	return t->pid ? gw_process_id(&a->boot, t->pid, t->start_boottime_ns) : 0;
}

static Ghostwatch__V1__Process *task_process(struct gw_agent *a, const struct gw_net_task *t)
{
	uint64_t id = net_task_process_id(a, t);
	struct proc_entry *e;

	if (!t->pid)
		return NULL;
	e = process_lookup(a, t->pid);
	if (e && e->id == id)
		return process_proto(a, e);
	return bare_process(a, id, t->pid, t);
}

static gw_event_t *new_event(struct gw_agent *a)
{
	gw_event_t *ev = gw_arena_alloc(&a->arena, sizeof(*ev));

	if (ev)
		ghostwatch__v1__event__init(ev);
	return ev;
}

/* The same mapping the agent uses for every record's time, so flows line up with connections. */
static uint64_t boot_to_wall_ns(const struct gw_agent *a, uint64_t boot_ns)
{
	return boot_ns + (uint64_t)a->realtime_offset_ns;
}

static void emit_flow(const struct flow *f, enum flow_flush_reason why, void *ctx)
{
	struct gw_net *n = ctx;
	struct gw_agent *a = n->agent;
	Ghostwatch__V1__Flow *m;
	struct proc_entry *e;
	gw_event_t *ev;

	/* a window flush emits thousands of flows: each gets the arena to itself */
	gw_arena_reset(&a->arena);
	ev = new_event(a);
	m = gw_arena_alloc(&a->arena, sizeof(*m));
	if (!ev || !m)
		return;
	ghostwatch__v1__flow__init(m);
	e = f->pid ? proc_table_get(&a->procs, f->pid) : NULL;
	if (e && e->id == f->key.process_id)
		m->process = process_proto(a, e);
	else if (f->pid)
		m->process = bare_process(a, f->key.process_id, f->pid, NULL);
	m->process_id = f->key.process_id;
	m->protocol = (char *)proto_name(f->key.protocol);
	m->direction = (char *)direction_name(f->key.direction);
	m->remote_address = arena_ip(a, &f->key.remote);
	if (f->key.direction == FLOW_INBOUND)
		m->local_port = f->key.port;
	else
		m->remote_port = f->key.port;
	m->dns_name = gw_arena_text(&a->arena, f->dns_name, strlen(f->dns_name));
	m->first_seen_ns = boot_to_wall_ns(a, f->first_seen_ns);
	m->last_seen_ns = boot_to_wall_ns(a, f->last_seen_ns);
	m->connections = f->connections;
	m->failed_refused = f->failures[FLOW_FAIL_REFUSED];
	m->failed_timeout = f->failures[FLOW_FAIL_TIMEOUT];
	m->failed_reset = f->failures[FLOW_FAIL_RESET];
	m->failed_other = f->failures[FLOW_FAIL_OTHER];
	m->bytes_sent = f->bytes_sent;
	m->bytes_received = f->bytes_received;
	m->rtt_min_us = f->rtt_min_us;
	m->rtt_avg_us = flow_rtt_avg_us(f);
	m->rtt_max_us = f->rtt_max_us;
	m->flush_reason = (char *)flow_flush_reason_name(why);
	ev->kind_case = GHOSTWATCH__V1__EVENT__KIND_FLOW;
	ev->flow = m;
	agent_emit(a, ev);
}

/* ---- records -------------------------------------------------------------------------------- */

enum flow_failure net_failure_of(uint32_t tcp_result)
{
	switch (tcp_result) {
	case GW_TCP_OK: return FLOW_FAIL_NONE;
	case GW_TCP_REFUSED: return FLOW_FAIL_REFUSED;
	case GW_TCP_TIMEOUT: return FLOW_FAIL_TIMEOUT;
	case GW_TCP_RESET: return FLOW_FAIL_RESET;
	default: return FLOW_FAIL_OTHER;
	}
}

/*
 * Hand a connection to the rules (detections.h), right after its event so the finding's evidence
 * names it. Inbound, the port that says what it is is ours (RustDesk listening on 21118), not the
 * peer's ephemeral one, so that is the port the rules see. Subject: the process's exe (one finding
 * per tool, not per peer).
 */
static void match_connection(struct gw_agent *a, const Ghostwatch__V1__Connection *c,
			     const struct gw_net_tuple *tu, const char *dns_name, const gw_event_t *ev)
{
	bool inbound = tu->direction == FLOW_INBOUND;
	struct gw_flow_input in = {
		.protocol = tu->protocol,
		.family = AF_INET6, /* 16 bytes, v4-mapped for IPv4: the matcher handles both */
		.direction = inbound ? GW_DIR_INBOUND : GW_DIR_OUTBOUND,
		.remote_port = inbound ? tu->local_port : tu->remote_port,
		.dns_name = dns_name,
	};
	const Ghostwatch__V1__Process *p = c->process;
	const char *subject = p && p->exe && *p->exe ? p->exe : p && p->comm ? p->comm : "unknown";

	memcpy(in.remote_addr, tu->remote_addr, 16);
	agent_publish(a, &(struct gw_fact){ .kind = GW_FACT_FLOW, .flow = &in, .subject = subject,
					   .process_id = p ? p->process_id : 0,
					   .event_id = ev->event_id, .time_ns = ev->time_ns });
}

void net_emit_connection(struct gw_net *n, const struct gw_net_task *task,
			 const struct gw_net_tuple *tu, const char *dns_name, const char *result,
			 const char *hook, uint64_t duration_ns, uint32_t error)
{
	struct gw_agent *a = n->agent;
	Ghostwatch__V1__Connection *c;
	struct gw_ip local, remote;
	gw_event_t *ev;

	ev = new_event(a);
	c = gw_arena_alloc(&a->arena, sizeof(*c));
	if (!ev || !c)
		return;
	ghostwatch__v1__connection__init(c);
	gw_ip_from_v6(&local, tu->local_addr);
	gw_ip_from_v6(&remote, tu->remote_addr);
	c->process = task_process(a, task);
	c->protocol = (char *)proto_name(tu->protocol);
	c->direction = (char *)direction_name(tu->direction);
	c->family = tu->family == AF_INET6 ? "ipv6" : "ipv4";
	c->local_address = arena_ip(a, &local);
	c->local_port = tu->local_port;
	c->remote_address = arena_ip(a, &remote);
	c->remote_port = tu->remote_port;
	c->dns_name = dns_name ? gw_arena_text(&a->arena, dns_name, strlen(dns_name)) : "";
	c->result = (char *)result;
	c->hook = (char *)hook;
	c->duration_ns = duration_ns;
	c->netns = tu->netns;
	c->error = error;
	ev->kind_case = GHOSTWATCH__V1__EVENT__KIND_CONNECT;
	ev->connect = c;
	agent_emit(a, ev);
	match_connection(a, c, tu, dns_name, ev);
}

void net_add_to_flow(struct gw_net *n, const struct gw_net_task *task,
		     const struct gw_net_tuple *tu, const struct gw_ip *remote,
		     struct flow_sample *s, uint64_t ktime_ns)
{
	struct flow_key k;

	flow_key_init(&k, net_task_process_id(n->agent, task), tu->protocol,
		      tu->direction ? FLOW_INBOUND : FLOW_OUTBOUND, remote,
		      tu->direction ? tu->local_port : tu->remote_port);
	s->pid = task->pid;
	flow_table_add(n->flows, &k, s, ktime_ns);
}

static int handle_tcp(struct gw_net *n, const struct gw_tcp_event *rec, size_t size)
{
	struct gw_tcp_event copy, *r = &copy;
	struct flow_sample s = { 0 };
	struct gw_ip remote;
	const char *name;

	if (size < sizeof(*r))
		return -1;
	memcpy(&copy, rec, sizeof(copy));
	if (r->hdr.type == GW_EV_TCP_CLOSE && r->tuple.direction > FLOW_INBOUND &&
	    !net_seed_claim_open(n, r)) {
		n->counters[NET_CLOSE_UNKNOWN_OWNER]++;
		return 0;
	}
	gw_ip_from_v6(&remote, r->tuple.remote_addr);
	name = dns_cache_get(n->dns, &remote, r->hdr.ktime_ns);
	if (r->hdr.type == GW_EV_TCP_CLOSE) {
		s.bytes_sent = r->bytes_sent;
		s.bytes_received = r->bytes_received;
		s.rtt_us = r->srtt_us;
		s.failure = net_failure_of(r->result);
		/* how far away the peer is, for a virtual-input finding on this process (input
		 * cadence); a loopback RTT says nothing about an operator */
		if (r->srtt_us && r->task.pid && !gw_ip_is_loopback(&remote))
			net_publish_rtt(n, net_task_process_id(n->agent, &r->task), r->srtt_us);
	} else {
		bool inbound = r->hdr.type == GW_EV_TCP_ACCEPT;

		if (inbound && !r->task.pid &&
		    !net_seed_listener_owner(n, r->tuple.netns, r->tuple.local_port, &r->task))
			n->counters[NET_CONNECT_UNKNOWN_OWNER]++;
		net_emit_connection(n, &r->task, &r->tuple, name,
				flow_failure_name(net_failure_of(r->result)),
				inbound ? "tcp_accept" : "tcp_connect", r->duration_ns, r->sk_err);
		s.connections = 1;
		s.failure = net_failure_of(r->result);
	}
	s.dns_name = name;
	net_add_to_flow(n, &r->task, &r->tuple, &remote, &s, r->hdr.ktime_ns);
	return 0;
}

static int handle_udp(struct gw_net *n, const struct gw_udp_event *r, size_t size)
{
	struct flow_sample s = { .connections = 1 };
	struct gw_ip remote;

	if (size < sizeof(*r))
		return -1;
	gw_ip_from_v6(&remote, r->tuple.remote_addr);
	s.dns_name = dns_cache_get(n->dns, &remote, r->hdr.ktime_ns);
	net_emit_connection(n, &r->task, &r->tuple, s.dns_name, "sent",
			r->hook == GW_UDP_HOOK_CONNECT ? "udp_connect" : "udp_sendmsg", 0, 0);
	net_add_to_flow(n, &r->task, &r->tuple, &remote, &s, r->hdr.ktime_ns);
	return 0;
}

/* Whether a well-formed answer may teach the cache, by the check the live hooks allow. */
static bool dns_answer_believed(struct gw_net *n, const struct gw_ip *server, uint16_t local_port,
				bool socket_asked, const struct dns_response *resp, uint64_t now_ns)
{
	switch (n->hooks.dns_verify) {
	case GW_DNS_VERIFY_SOCKET:
		return socket_asked;
	case GW_DNS_VERIFY_QUERY:
		return dns_pending_match(n->queries, server, local_port, resp, now_ns);
	default:
		return true; /* the dns hook status says the answers are not verified */
	}
}

enum dns_result net_ingest_dns(struct gw_net *n, const uint8_t *payload, size_t len, bool tcp,
			       const struct gw_ip *server, uint16_t local_port, bool socket_asked,
			       uint64_t now_ns)
{
	struct dns_response resp;
	enum dns_result res;

	n->counters[NET_DNS_ANSWERS]++;
	res = tcp ? dns_parse_tcp_response(payload, len, &resp) :
		    dns_parse_response(payload, len, &resp);
	if (res == DNS_OK)
		n->counters[NET_DNS_PARSED]++;
	else if ((unsigned int)res < DNS_RESULT_MAX)
		n->dns_rejected[res]++;
	if ((res == DNS_OK || res == DNS_ERR_TRUNCATED) &&
	    !dns_answer_believed(n, server, local_port, socket_asked, &resp, now_ns)) {
		n->counters[NET_DNS_UNSOLICITED]++;
		return res;
	}
	/* a message cut by the capture slice still carries the answers it completed */
	if (res == DNS_OK || res == DNS_ERR_TRUNCATED) {
		dns_cache_put_response(n->dns, &resp, now_ns);
		n->counters[NET_DNS_ADDRESSES] += resp.n_addrs;
	}
	n->counters[NET_DNS_NAMES_SANITIZED] += resp.names_sanitized;
	n->counters[NET_DNS_UNRELATED_ADDRS] += resp.unrelated_addrs;
	return res;
}

static int handle_dns(struct gw_net *n, const struct gw_dns_event *r, size_t size)
{
	bool tcp = r->tuple.protocol == IPPROTO_TCP;
	struct gw_ip server;

	if (size < sizeof(*r) || r->captured_len > GW_DNS_PAYLOAD_MAX)
		return -1;
	gw_ip_from_v6(&server, r->tuple.remote_addr);
	if (r->hdr.type == GW_EV_DNS_QUERY) {
		struct dns_query q;
		enum dns_result res = tcp ? dns_parse_tcp_query(r->data, r->captured_len, &q) :
					    dns_parse_query(r->data, r->captured_len, &q);

		n->counters[NET_DNS_QUERIES]++;
		if (res == DNS_OK)
			dns_pending_add(n->queries, &server, r->tuple.local_port, &q,
					r->hdr.ktime_ns);
		else
			n->counters[NET_DNS_QUERIES_UNPARSED]++;
		return 0;
	}
	/* a TCP read after the length was read alone is the bare message */
	net_ingest_dns(n, r->data, r->captured_len, tcp && !(r->flags & GW_DNS_F_BARE), &server,
		       r->tuple.local_port, r->flags & GW_DNS_F_ASKED, r->hdr.ktime_ns);
	return 0;
}

int net_handle_record(struct gw_net *n, const void *data, size_t size)
{
	const struct gw_event_hdr *hdr = data;

	if (!n->flows)
		return -1;
	switch (hdr->type) {
	case GW_EV_TCP_CONNECT:
	case GW_EV_TCP_ACCEPT:
	case GW_EV_TCP_CLOSE:
		return handle_tcp(n, data, size);
	case GW_EV_UDP_SEND:
		return handle_udp(n, data, size);
	case GW_EV_DNS_ANSWER:
	case GW_EV_DNS_QUERY:
		return handle_dns(n, data, size);
	default:
		return -1;
	}
}

/* ---- flushing ------------------------------------------------------------------------------- */

void net_on_process_exit(struct gw_net *n, uint64_t process_id, uint64_t now_ns)
{
	size_t slot;

	if (!n->flows || !flow_table_has_process(n->flows, process_id))
		return;
	if (n->pending_count == GW_NET_PENDING_EXITS) {
		n->counters[NET_EXIT_FLUSH_IMMEDIATE]++;
		flow_table_flush_process(n->flows, process_id);
		return;
	}
	slot = (n->pending_head + n->pending_count++) % GW_NET_PENDING_EXITS;
	n->pending[slot].process_id = process_id;
	n->pending[slot].flush_at_ns = now_ns + (uint64_t)n->opt.exit_flush_grace_ms * NS_PER_MS;
}

/*
 * How long before a window ends open connections are walked: what the walk folds reaches the flow
 * table two ticks later (fold_rotate), so this leaves a tick to spare. Once per window, because
 * the walk visits every TCP socket of the host, TIME_WAIT ones included: tens of thousands on a
 * busy server, ~1% of a core if it ran every second.
 */
#define OPEN_SAMPLE_LEAD_NS (300 * NS_PER_MS)

/*
 * The connect flavour has no hook at ESTABLISHED: a connection that stays open has its result
 * reported when a walk finds it. So the owner maps (or, without them, every socket) are walked
 * every second, unless walks are long, then 200 walks' time apart: at most 0.5 % of a core.
 */
#define RESULT_WALK_NS (1000 * NS_PER_MS)
#define RESULT_WALK_SPACING 200

uint64_t net_next_tick(const struct gw_net *n, uint64_t now_ns)
{
	uint64_t window_end;

	if (!n->flows || !n->opt.enabled)
		return 0;
	/* an exit's flows are flushed after its grace, once the folds before it are drained */
	if (n->pending_count)
		return now_ns;
	window_end = flow_table_window_end(n->flows);
	/* from the walk of open connections to the window's end, the folds rotate every tick */
	if (n->sampled_window_end_ns == window_end)
		return now_ns;
	return window_end > OPEN_SAMPLE_LEAD_NS ? window_end - OPEN_SAMPLE_LEAD_NS : now_ns;
}

void net_tick(struct gw_net *n, uint64_t now_ns)
{
	uint64_t window_end;
	bool window_due, results_due;

	if (!n->flows)
		return;
	window_end = flow_table_window_end(n->flows);
	window_due = n->sampled_window_end_ns != window_end &&
		     now_ns + OPEN_SAMPLE_LEAD_NS >= window_end;
	results_due = n->hooks.results_walk && now_ns >= n->next_result_walk_ns;
	if (n->hooks.sample_link && window_due) {
		n->sampled_window_end_ns = window_end;
		net_fold_walk_open(n, true);
	}
	if (results_due) {
		uint64_t start = gw_now_boottime_ns(), took;

		if (n->hooks.owner_walk[0])
			n->counters[net_hooks_walk_owners(&n->hooks) ? NET_TCP_OWNER_WALK_ERRORS :
								       NET_TCP_OWNER_WALKS]++;
		else if (!window_due)
			net_fold_walk_open(n, !n->sampled_window_end_ns);
		took = gw_now_boottime_ns() - start;
		n->next_result_walk_ns =
			now_ns + (took * RESULT_WALK_SPACING > RESULT_WALK_NS ?
					  took * RESULT_WALK_SPACING : RESULT_WALK_NS);
	}
	net_fold_rotate(n, false, now_ns);
	/* exits are queued in time order, so the due ones are at the head */
	while (n->pending_count && n->pending[n->pending_head].flush_at_ns <= now_ns) {
		flow_table_flush_process(n->flows, n->pending[n->pending_head].process_id);
		n->pending_head = (n->pending_head + 1) % GW_NET_PENDING_EXITS;
		n->pending_count--;
	}
	flow_table_tick(n->flows, now_ns);
}

void net_shutdown(struct gw_net *n)
{
	uint64_t now_ns = gw_now_boottime_ns();

	if (!n->flows)
		return;
	n->pending_count = 0;
	net_fold_rotate(n, true, now_ns);
	flow_table_flush_all(n->flows, FLOW_FLUSH_SHUTDOWN, now_ns);
}

size_t net_counters(const struct gw_net *n, const char **names, uint64_t *values, size_t max)
{
	static const char *const counter_names[NET_COUNTER_MAX] = {
		[NET_DNS_QUERIES] = "dns_queries",
		[NET_DNS_QUERIES_UNPARSED] = "dns_queries_unparsed",
		[NET_DNS_ANSWERS] = "dns_answers",
		[NET_DNS_UNSOLICITED] = "dns_answers_unsolicited",
		[NET_DNS_PARSED] = "dns_parsed",
		[NET_DNS_ADDRESSES] = "dns_addresses",
		[NET_DNS_NAMES_SANITIZED] = "dns_names_sanitized",
		[NET_DNS_UNRELATED_ADDRS] = "dns_unrelated_addresses",
		[NET_CONNECT_UNKNOWN_OWNER] = "inbound_unknown_owner",
		[NET_EXIT_FLUSH_IMMEDIATE] = "exit_flush_immediate",
		[NET_LISTENERS_SEEDED] = "listeners_seeded",
		[NET_OPEN_AT_START] = "connections_open_at_start",
		[NET_CLOSE_UNKNOWN_OWNER] = "close_unknown_owner",
		[NET_TCP_ATTEMPTS_FOLDED] = "tcp_attempts_folded",
		[NET_TCP_CLOSES_FOLDED] = "tcp_closes_folded",
		[NET_TCP_FOLD_ENTRIES] = "tcp_fold_entries",
		[NET_TCP_FOLD_DRAIN_ERRORS] = "tcp_fold_drain_errors",
		[NET_TCP_OPEN_SAMPLES] = "tcp_open_samples",
		[NET_TCP_OPEN_SAMPLE_ERRORS] = "tcp_open_sample_errors",
		[NET_TCP_OPEN_WALKS_OTHER_NETNS] = "tcp_open_walks_other_netns",
		[NET_NETNS_UNWALKED] = "netns_unwalked",
		[NET_TCP_OWNER_WALKS] = "tcp_owner_walks",
		[NET_LISTENER_RESCANS] = "listener_rescans",
		[NET_TCP_OWNER_WALK_ERRORS] = "tcp_owner_walk_errors",
	};
	static const char *const malformed_names[DNS_RESULT_MAX] = {
		[DNS_ERR_TRUNCATED] = "dns_malformed_truncated",
		[DNS_ERR_NOT_RESPONSE] = "dns_malformed_not_response",
		[DNS_ERR_NO_QUESTION] = "dns_malformed_no_question",
		[DNS_ERR_POINTER_LOOP] = "dns_malformed_pointer_loop",
		[DNS_ERR_LABEL_TYPE] = "dns_malformed_label_type",
		[DNS_ERR_NAME_TOO_LONG] = "dns_malformed_name_too_long",
		[DNS_ERR_BAD_RDATA] = "dns_malformed_bad_rdata",
		[DNS_ERR_TCP_FRAMING] = "dns_malformed_tcp_framing",
	};
	struct dns_cache_stats ds = { 0 };
	struct flow_table_stats fs = { 0 };
	size_t k = 0;

#define PUT(name_, value_)                   \
	do {                                 \
		if (k < max) {               \
			names[k] = (name_);  \
			values[k] = (value_); \
			k++;                 \
		}                            \
	} while (0)
	for (int i = 0; i < NET_COUNTER_MAX; i++)
		PUT(counter_names[i], n->counters[i]);
	for (int i = DNS_OK + 1; i < DNS_RESULT_MAX; i++)
		PUT(malformed_names[i], n->dns_rejected[i]);
	if (n->dns)
		dns_cache_get_stats(n->dns, &ds);
	if (n->flows)
		flow_table_get_stats(n->flows, &fs);
	PUT("dns_cache_size", ds.size);
	PUT("dns_cache_hits", ds.hits);
	PUT("dns_cache_misses", ds.misses);
	PUT("dns_cache_evictions", ds.evictions);
	if (n->queries) {
		struct dns_pending_stats ps;

		dns_pending_get_stats(n->queries, &ps);
		PUT("dns_pending_queries", ps.size);
		PUT("dns_pending_evictions", ps.evictions);
	}
	PUT("tcp_owner_slot_overflows", net_hooks_owner_overflows(&n->hooks));
	PUT("tcp_fold_slot_collisions", net_hooks_fold_slot_taken(&n->hooks));
	PUT("dns_answers_unread", net_hooks_dns_unread(&n->hooks));
	PUT("flow_table_size", fs.size);
	PUT("flows_emitted", fs.flows_emitted);
	PUT("flow_evictions", fs.evictions);
#undef PUT
	return k;
}
