/*
 * net_emit.c - the network domain's events: a Connection per connect, accept or UDP send, a Flow
 * per flushed flow-table entry, each with the process it belongs to, and the facts published
 * beside them (the connection for the rules, a remote RTT for input cadence). See network.h.
 */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "core/agent.h"
#include "core/process_lookup.h"
#include "gw_events.h"
#include "network.h"

void net_publish_rtt(struct gw_net *n, uint64_t process_id, uint32_t rtt_us)
{
	agent_publish(n->agent, &(struct gw_fact){ .kind = GW_FACT_RTT, .process_id = process_id,
						   .rtt_us = rtt_us });
}

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

/*
 * A flushed flow with its bytes, for what counts data leaving the host (bulk uploads, uploads to
 * personal storage). Inbound flows are keyed by our port, so they carry it as the rules see it.
 */
static void publish_flow(struct gw_agent *a, const struct flow *f, const Ghostwatch__V1__Flow *m,
			 const gw_event_t *ev)
{
	const Ghostwatch__V1__Process *p = m->process;
	const char *subject = p && p->exe && *p->exe ? p->exe : p && p->comm ? p->comm : "unknown";
	struct gw_flow_input in = {
		.protocol = f->key.protocol,
		.family = AF_INET6,
		.direction = f->key.direction == FLOW_INBOUND ? GW_DIR_INBOUND : GW_DIR_OUTBOUND,
		.remote_port = f->key.port,
		.dns_name = f->dns_name[0] ? f->dns_name : NULL,
		.has_bytes = true,
		.bytes_sent = f->bytes_sent,
		.bytes_received = f->bytes_received,
	};

	memcpy(in.remote_addr, f->key.remote.b, sizeof(in.remote_addr));
	agent_publish(a, &(struct gw_fact){ .kind = GW_FACT_FLOW, .flow = &in, .subject = subject,
					   .process_id = f->key.process_id,
					   .event_id = ev->event_id, .time_ns = ev->time_ns });
}

void net_emit_flow(const struct flow *f, enum flow_flush_reason why, void *ctx)
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
	m->app_protocol = (char *)(f->app_protocol ? f->app_protocol : "");
	m->server_name = gw_arena_text(&a->arena, f->server_name, strlen(f->server_name));
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
	publish_flow(a, f, m, ev);
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
	net_emit_connection_app(n, task, tu, dns_name, result, hook, duration_ns, error, "", "");
}

uint64_t net_emit_connection_app(struct gw_net *n, const struct gw_net_task *task,
				 const struct gw_net_tuple *tu, const char *dns_name,
				 const char *result, const char *hook, uint64_t duration_ns,
				 uint32_t error, const char *app_protocol, const char *server_name)
{
	struct gw_agent *a = n->agent;
	Ghostwatch__V1__Connection *c;
	struct gw_ip local, remote;
	gw_event_t *ev;

	ev = new_event(a);
	c = gw_arena_alloc(&a->arena, sizeof(*c));
	if (!ev || !c)
		return 0;
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
	c->app_protocol = (char *)app_protocol;
	c->server_name = gw_arena_text(&a->arena, server_name, strlen(server_name));
	ev->kind_case = GHOSTWATCH__V1__EVENT__KIND_CONNECT;
	ev->connect = c;
	agent_emit(a, ev);
	match_connection(a, c, tu, dns_name, ev);
	return ev->event_id;
}
