/*
 * agent_stats.c - the agent's health as AgentStats (and the one-line summary at exit): records per
 * type, drops per category, evictions, the network's counters and the hooks, core's own first,
 * then each registered domain's. See agent.h.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "gw_events.h"

static const char *const record_names[GW_RECORD_TYPE_MAX] = {
	[GW_EV_EXEC] = "exec",
	[GW_EV_EXIT] = "exit",
	[GW_EV_FORK] = "fork",
	[GW_EV_TCP_CONNECT] = "tcp_connect",
	[GW_EV_TCP_ACCEPT] = "tcp_accept",
	[GW_EV_TCP_CLOSE] = "tcp_close",
	[GW_EV_UDP_SEND] = "udp_send",
	[GW_EV_DNS_ANSWER] = "dns_answer",
	[GW_EV_DNS_QUERY] = "dns_query",
	[GW_EV_DEVICE_USB] = "device_usb",
	[GW_EV_DEVICE_HID] = "device_hid",
	[GW_EV_DEVICE_INPUT] = "device_input",
	[GW_EV_CADENCE_WINDOW] = "cadence_window",
	[GW_EV_TUNNEL_OPEN] = "tunnel_open",
};

static const char *const drop_names[GW_DROP_CATEGORY_MAX] = {
	[GW_DROP_EXEC] = "exec",
	[GW_DROP_EXIT] = "exit",
	[GW_DROP_FORK] = "fork",
	[GW_DROP_TCP] = "tcp",
	[GW_DROP_UDP] = "udp",
	[GW_DROP_DNS] = "dns",
	[GW_DROP_DEVICE_USB] = "device_usb",
	[GW_DROP_DEVICE_HID] = "device_hid",
	[GW_DROP_DEVICE_INPUT] = "device_input",
	[GW_DROP_CADENCE_WINDOW] = "cadence_window",
	[GW_DROP_CADENCE_STATE] = "cadence_state",
	[GW_DROP_PROTO] = "proto",
	[GW_DROP_TUNNEL] = "tunnel",
};

void agent_stats_add(struct gw_counter_list *l, const char *name, uint64_t value)
{
	if (l->n == l->max)
		return;
	l->names[l->n] = name;
	l->values[l->n++] = value;
}

/* Counters as a repeated Counter field, in the arena. */
static Ghostwatch__V1__Counter **counters_proto(struct gw_agent *a, const char *const names[],
						const uint64_t *values, size_t n, size_t *n_out,
						bool keep_zero)
{
	Ghostwatch__V1__Counter **list = gw_arena_alloc(&a->arena, n * sizeof(*list));
	size_t k = 0;

	*n_out = 0;
	if (!list)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		Ghostwatch__V1__Counter *c;

		if (!names[i] || (!values[i] && !keep_zero))
			continue;
		c = gw_arena_alloc(&a->arena, sizeof(*c));
		if (!c)
			break;
		ghostwatch__v1__counter__init(c);
		c->name = (char *)names[i];
		c->value = values[i];
		list[k++] = c;
	}
	*n_out = k;
	return list;
}

#define DOMAIN_COUNTERS_MAX 64
#define DROP_FIXED (GW_DROP_CATEGORY_MAX + 3)

/* Everything AgentStats and the summary line report, by category. */
struct stats_lists {
	const char *enames[GW_RECORD_TYPE_MAX + DOMAIN_COUNTERS_MAX];
	uint64_t events[GW_RECORD_TYPE_MAX + DOMAIN_COUNTERS_MAX];
	const char *dnames[DROP_FIXED + DOMAIN_COUNTERS_MAX];
	uint64_t drops[DROP_FIXED + DOMAIN_COUNTERS_MAX];
	const char *xnames[3 + DOMAIN_COUNTERS_MAX];
	uint64_t evictions[3 + DOMAIN_COUNTERS_MAX];
	const char *nnames[DOMAIN_COUNTERS_MAX];
	uint64_t network[DOMAIN_COUNTERS_MAX];
	struct gw_stats_parts p;
	uint32_t bpf_programs;
};

#define LIST(l, names_, values_, first)                                                         \
	((l) = (struct gw_counter_list){ .names = (names_), .values = (values_), .n = (first),      \
					 .max = sizeof(names_) / sizeof((names_)[0]) })

/* Core's own counters, then each domain's; summary: only the events of domains that list theirs
 * in the summary line. */
static void collect_stats(struct gw_agent *a, struct stats_lists *s, bool summary)
{
	const struct gw_uevent_stats *u = &a->uevents.listener.stats;

	memcpy(s->enames, record_names, sizeof(record_names));
	memcpy(s->events, a->counters.records, sizeof(a->counters.records));
	LIST(s->p.events, s->enames, s->events, summary ? 0 : GW_RECORD_TYPE_MAX);
	hooks_read_drops(&a->hooks, s->drops);
	for (int i = 0; i < GW_DROP_CATEGORY_MAX; i++)
		s->dnames[i] = drop_names[i];
	LIST(s->p.drops, s->dnames, s->drops, GW_DROP_CATEGORY_MAX);
	agent_stats_add(&s->p.drops, "bad_record", a->counters.bad_records);
	agent_stats_add(&s->p.drops, "arena_full", a->arena.failed);
	/* records another program consumed from the ring, as of the last tamper check */
	agent_stats_add(&s->p.drops, "ring_bytes_taken", a->hooks.audit.taken);
	agent_stats_add(&s->p.drops, "bpf_recursion_misses",
		       hooks_recursion_misses(&s->bpf_programs));
	LIST(s->p.evictions, s->xnames, s->evictions, 0);
	agent_stats_add(&s->p.evictions, "proc_exited", a->procs.evicted_exited);
	agent_stats_add(&s->p.evictions, "proc_live", a->procs.evicted_live);
	agent_stats_add(&s->p.evictions, "proc_bytes", a->procs.evicted_bytes);
	LIST(s->p.network, s->nnames, s->network, 0);
	for (int i = 0; i < a->n_domains; i++) {
		const struct gw_domain *d = &a->domains[i];
		size_t events_before = s->p.events.n;

		if (!d->counters)
			continue;
		d->counters(a, d->state, &s->p);
		if (summary && !d->events_in_summary)
			s->p.events.n = events_before;
	}
	agent_stats_add(&s->p.events, "uevent_accepted", u->accepted);
	agent_stats_add(&s->p.events, "uevent_ignored", u->ignored);
	agent_stats_add(&s->p.drops, "uevent_forged", u->forged);
	agent_stats_add(&s->p.drops, "uevent_malformed", u->malformed);
	agent_stats_add(&s->p.drops, "uevent_truncated", u->truncated);
	agent_stats_add(&s->p.drops, "uevent_overflow", u->overflows);
	agent_stats_add(&s->p.events, "argv_redacted", a->procs.redact.argv_redacted);
	agent_stats_add(&s->p.drops, "argv_redact_failed", a->procs.redact.failed);
}

#define UID_DROPS_PER_CATEGORY 5

/* The uids that lost most records, per category (hooks_read_uid_drops), in the arena. */
static void uid_drops_proto(struct gw_agent *a, Ghostwatch__V1__AgentStats *st)
{
	struct gw_uid_drop d[GW_DROP_CATEGORY_MAX * UID_DROPS_PER_CATEGORY];
	size_t n = hooks_read_uid_drops(&a->hooks, UID_DROPS_PER_CATEGORY, d,
					sizeof(d) / sizeof(d[0]));

	st->uid_drops = n ? gw_arena_alloc(&a->arena, n * sizeof(*st->uid_drops)) : NULL;
	for (size_t i = 0; st->uid_drops && i < n; i++) {
		Ghostwatch__V1__UidDrops *u = gw_arena_alloc(&a->arena, sizeof(*u));

		if (!u || !drop_names[d[i].category])
			continue;
		ghostwatch__v1__uid_drops__init(u);
		u->category = (char *)drop_names[d[i].category];
		u->uid = d[i].uid;
		u->value = d[i].value;
		st->uid_drops[st->n_uid_drops++] = u;
	}
}

gw_event_t *agent_build_stats(struct gw_agent *a)
{
	struct stats_lists *s = gw_arena_alloc(&a->arena, sizeof(*s));
	gw_event_t *ev = gw_arena_alloc(&a->arena, sizeof(*ev));
	Ghostwatch__V1__AgentStats *st = gw_arena_alloc(&a->arena, sizeof(*st));

	if (!ev || !st || !s)
		return NULL;
	memset(s, 0, sizeof(*s));
	ghostwatch__v1__event__init(ev);
	ghostwatch__v1__agent_stats__init(st);
	/* before the per-category sums, which count each drop first: no uid shows more than its
	 * category's total */
	uid_drops_proto(a, st);
	collect_stats(a, s, false);
	st->bpf_programs = s->bpf_programs;
	st->events = counters_proto(a, s->enames, s->events, s->p.events.n, &st->n_events, false);
	st->drops = counters_proto(a, s->dnames, s->drops, s->p.drops.n, &st->n_drops, true);
	st->evictions = counters_proto(a, s->xnames, s->evictions, s->p.evictions.n,
				       &st->n_evictions, true);
	if (s->p.network.n)
		st->network = counters_proto(a, s->nnames, s->network, s->p.network.n,
					     &st->n_network, true);
	st->hooks = gw_arena_alloc(&a->arena, (size_t)a->hooks.n_status * sizeof(*st->hooks));
	for (int i = 0; st->hooks && i < a->hooks.n_status; i++) {
		Ghostwatch__V1__HookStatus *h = gw_arena_alloc(&a->arena, sizeof(*h));

		if (!h)
			break;
		ghostwatch__v1__hook_status__init(h);
		h->signal = a->hooks.status[i].signal;
		h->hook = a->hooks.status[i].hook;
		h->error = a->hooks.status[i].error;
		st->hooks[st->n_hooks++] = h;
	}
	st->process_table_size = a->procs.count;
	st->uptime_ns = gw_now_boottime_ns() - a->started_ns;
	ev->kind_case = GHOSTWATCH__V1__EVENT__KIND_STATS;
	ev->stats = st;
	return ev;
}

void agent_print_summary(struct gw_agent *a, FILE *out)
{
	struct stats_lists *s = calloc(1, sizeof(*s));
	uint64_t total = 0;

	if (!s)
		return;
	collect_stats(a, s, true);
	fprintf(out, "summary: events");
	for (int i = 0; i < GW_RECORD_TYPE_MAX; i++)
		if (record_names[i])
			fprintf(out, " %s=%llu", record_names[i],
				(unsigned long long)a->counters.records[i]);
	for (size_t i = 0; i < s->p.events.n; i++)
		fprintf(out, " %s=%llu", s->enames[i], (unsigned long long)s->events[i]);
	fprintf(out, "; drops");
	for (size_t i = 0; i < s->p.drops.n; i++) {
		if (!s->dnames[i])
			continue;
		total += s->drops[i];
		fprintf(out, " %s=%llu", s->dnames[i], (unsigned long long)s->drops[i]);
	}
	fprintf(out, " (total %llu); evicted proc_exited=%llu proc_live=%llu\n",
		(unsigned long long)total, (unsigned long long)a->procs.evicted_exited,
		(unsigned long long)a->procs.evicted_live);
	fflush(out);
	free(s);
}
