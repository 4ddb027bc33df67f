/*
 * latency_report.c - what the latency domain says: a RemoteLatency event per connection per window
 * and its two rules (latency.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/agent.h"
#include "core/process_lookup.h"
#include "latency_state.h"

static const struct gw_behaviour_rule rule_far_operator = {
	.id = "GW-LATENCY-FAR-OPERATOR",
	.title = "remote operator far away",
	.vendor = "remote operation",
	.technique = "T1219",
	.category = "behaviour",
	.severity = "high",
	.confidence = "medium",
	.source = "ghostwatch rules/README.md (remote-operation latency)",
};

static const struct gw_behaviour_rule rule_no_physical_input = {
	.id = "GW-LATENCY-NO-PHYSICAL-INPUT",
	.title = "activity without physical input",
	.vendor = "remote operation",
	.technique = "T1219",
	.category = "behaviour",
	.severity = "medium",
	.confidence = "medium",
	.source = "ghostwatch rules/README.md (remote-operation latency)",
};

static char *address_text(struct gw_agent *a, const uint8_t addr[16])
{
	static const uint8_t v4_prefix[12] = { [10] = 0xff, [11] = 0xff };
	char buf[INET6_ADDRSTRLEN] = "";

	if (!memcmp(addr, v4_prefix, 12))
		inet_ntop(AF_INET, addr + 12, buf, sizeof(buf));
	else
		inet_ntop(AF_INET6, addr, buf, sizeof(buf));
	return gw_arena_text(&a->arena, buf, sizeof(buf));
}

static Ghostwatch__V1__Process *process_of(struct gw_agent *a, const struct latency_proc *p,
					   uint64_t process_id)
{
	struct proc_entry *e = p && p->pid ? process_lookup(a, p->pid) : NULL;
	Ghostwatch__V1__Process *m;

	if (e && e->id == process_id)
		return process_proto(a, e);
	m = gw_arena_alloc(&a->arena, sizeof(*m));
	if (!m)
		return NULL;
	ghostwatch__v1__process__init(m);
	m->pid = p ? p->pid : 0;
	m->process_id = process_id;
	m->exe = gw_arena_text(&a->arena, p ? p->subject : "", sizeof(p->subject));
	m->source = "unknown";
	return m;
}

static struct latency_proc *proc_of(struct latency_domain *d, uint64_t process_id)
{
	struct latency_proc *p;

	HASH_FIND(hh, d->procs, &process_id, sizeof(process_id), p);
	return p;
}

static void raise_far(struct gw_agent *a, struct latency_domain *d, const struct latency_proc *p,
		      const Ghostwatch__V1__RemoteLatency *m, const gw_event_t *ev)
{
	char subject[320], why[256];

	snprintf(subject, sizeof(subject), "%s (pid %u) controlled from %s",
		 p && p->subject[0] ? p->subject : "?", m->process ? m->process->pid : 0,
		 m->remote_address);
	snprintf(why, sizeof(why),
		 "smoothed RTT %u.%03u ms (min %u.%03u, max %u.%03u, deviation %u.%03u ms, %u "
		 "samples) >= %u ms while the operator %s (%s)",
		 m->srtt_us / 1000, m->srtt_us % 1000, m->srtt_min_us / 1000, m->srtt_min_us % 1000,
		 m->srtt_max_us / 1000, m->srtt_max_us % 1000, m->rtt_var_us / 1000,
		 m->rtt_var_us % 1000, m->samples, d->opt.far_rtt_ms,
		 p && p->injecting ? "injected input" : "was active", m->control);
	agent_publish(a, &(struct gw_fact){ .kind = GW_FACT_BEHAVIOUR,
					   .behaviour = { &rule_far_operator, why, "flow" },
					   .subject = subject, .process_id = m->process_id,
					   .event_id = ev->event_id, .time_ns = ev->time_ns });
	d->counters[LAT_FAR_FINDINGS]++;
}

void latency_report_conn(struct gw_agent *a, struct latency_domain *d, struct latency_conn *c,
			 const struct latency_stats *s, uint64_t start_ns, uint64_t end_ns)
{
	struct latency_proc *p = proc_of(d, c->process_id);
	Ghostwatch__V1__RemoteLatency *m;
	gw_event_t *ev;

	/* called from the tick, between records: the arena is free */
	gw_arena_reset(&a->arena);
	ev = gw_arena_alloc(&a->arena, sizeof(*ev));
	m = gw_arena_alloc(&a->arena, sizeof(*m));
	if (!ev || !m)
		return;
	ghostwatch__v1__event__init(ev);
	ghostwatch__v1__remote_latency__init(m);
	m->process = process_of(a, p, c->process_id);
	m->process_id = c->process_id;
	m->control = gw_arena_text(&a->arena, p ? p->control : "", sizeof(p->control));
	m->vendor = gw_arena_text(&a->arena, p ? p->vendor : "", sizeof(p->vendor));
	m->direction = c->key.inbound ? "inbound" : "outbound";
	m->local_address = address_text(a, c->id.local_addr);
	m->local_port = c->id.local_port;
	m->remote_address = address_text(a, c->id.remote_addr);
	m->remote_port = c->id.remote_port;
	m->srtt_us = s->srtt_us;
	m->srtt_min_us = s->srtt_min_us;
	m->srtt_max_us = s->srtt_max_us;
	m->rtt_var_us = s->rtt_var_us;
	m->samples = s->samples;
	m->bytes_sent = s->bytes_sent;
	m->bytes_received = s->bytes_received;
	m->window_start_ns = start_ns;
	m->window_end_ns = end_ns;
	ev->kind_case = GHOSTWATCH__V1__EVENT__KIND_REMOTE_LATENCY;
	ev->remote_latency = m;
	agent_emit(a, ev);
	d->counters[LAT_EVENTS]++;
	if (latency_far_operator(s, d->opt.far_rtt_ms * 1000, p && p->injecting))
		raise_far(a, d, p, m, ev);
}

void latency_report_presence(struct gw_agent *a, struct latency_domain *d, uint64_t end_ns)
{
	const struct latency_conn *c, *ct;
	const struct latency_proc *p = NULL, *injector = proc_of(d, d->injector_id);
	char subject[384], why[256], peer[64] = "";

	/* the operator: a remote-control connection's peer, else the virtual device's writer */
	HASH_ITER(hh, d->conns, c, ct) {
		p = proc_of(d, c->process_id);
		if (p) {
			char *addr = address_text(a, c->id.remote_addr);

			snprintf(peer, sizeof(peer), " from %s", addr ? addr : "?");
			break;
		}
	}
	if (!p)
		p = injector;
	snprintf(subject, sizeof(subject), "graphical session driven by %s%s",
		 p ? p->subject : "a virtual input device", peer);
	snprintf(why, sizeof(why),
		 "%u processes started in the graphical session over %llu s while every physical "
		 "input device was silent and %s was live",
		 d->presence.session_execs,
		 (unsigned long long)((end_ns - d->presence.run_start_ns) / 1000000000ULL) +
			 d->opt.window_s,
		 peer[0] ? "a remote-control connection" : "a virtual input device");
	agent_publish(a, &(struct gw_fact){ .kind = GW_FACT_BEHAVIOUR,
					   .behaviour = { &rule_no_physical_input, why, "session" },
					   .subject = subject, .process_id = p ? p->process_id : 0,
					   .time_ns = end_ns });
	d->counters[LAT_NO_INPUT_FINDINGS]++;
}
