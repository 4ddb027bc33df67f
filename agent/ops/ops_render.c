/* ops_render.c - the ops endpoint's Prometheus text. See ops_render.h. */
#include "ops_render.h"

#include <inttypes.h>
#include <string.h>

#define PREFIX "ghostwatch_agent_"

static const char *const category_names[OPS_CAT_COUNT] = {
#define X(c) #c,
	OPS_CATEGORIES
#undef X
};

/* Without these the agent sees no process: it is not healthy whatever else works. */
static const char *const required_signals[] = { "exec", "exit" };

enum ops_category ops_category_of(const char *category)
{
	for (int i = 0; i < OPS_CAT_other; i++)
		if (category && !strcmp(category, category_names[i]))
			return i;
	return OPS_CAT_other;
}

const char *ops_category_name(enum ops_category c)
{
	return c < OPS_CAT_COUNT ? category_names[c] : "other";
}

bool ops_hook_live(const char *hook)
{
	return hook && hook[0] && strcmp(hook, "none") && strcmp(hook, "off");
}

void ops_hooks_verdict(const Ghostwatch__V1__AgentStats *stats, char *why, size_t len)
{
	size_t n = 0;

	why[0] = '\0';
	for (size_t r = 0; r < sizeof(required_signals) / sizeof(required_signals[0]); r++) {
		bool live = false;

		for (size_t i = 0; stats && i < stats->n_hooks; i++)
			if (!strcmp(stats->hooks[i]->signal, required_signals[r]))
				live = ops_hook_live(stats->hooks[i]->hook);
		if (live || n >= len)
			continue;
		n += snprintf(why + n, len - n, "%s%s", n ? ", " : "hooks not attached: ",
			      required_signals[r]);
	}
}

/* Label values are the agent's own names (signals, hooks, counters); escaped as the format asks. */
static void label_value(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s %s\n", name, help, name, type);
}

static void metric(FILE *out, const char *name, const char *type, const char *help, uint64_t v)
{
	family(out, name, type, help);
	fprintf(out, PREFIX "%s %" PRIu64 "\n", name, v);
}

static void seconds(FILE *out, const char *name, const char *help, uint64_t ns)
{
	family(out, name, "gauge", help);
	fprintf(out, PREFIX "%s %" PRIu64 ".%03" PRIu64 "\n", name, ns / UINT64_C(1000000000),
		ns % UINT64_C(1000000000) / UINT64_C(1000000));
}

static void labelled(FILE *out, const char *name, const char *label, const char *value,
		     uint64_t v)
{
	fprintf(out, PREFIX "%s{%s=\"", name, label);
	label_value(out, value);
	fprintf(out, "\"} %" PRIu64 "\n", v);
}

static void counters(FILE *out, const char *name, const char *label, const char *help,
		     Ghostwatch__V1__Counter *const *c, size_t n)
{
	family(out, name, "counter", help);
	for (size_t i = 0; i < n; i++)
		labelled(out, name, label, c[i]->name, c[i]->value);
}

static void render_stats(FILE *out, const Ghostwatch__V1__AgentStats *st)
{
	counters(out, "events_total", "kind",
		 "Records received per type and the domains' event counters (AgentStats.events).",
		 st->events, st->n_events);
	counters(out, "drops_total", "category",
		 "Records and events lost, per category (AgentStats.drops).", st->drops,
		 st->n_drops);
	counters(out, "evictions_total", "category",
		 "Table entries evicted to stay within bounds (AgentStats.evictions).",
		 st->evictions, st->n_evictions);
	family(out, "hook_live", "gauge",
	       "1 when the signal's hook is attached, 0 when none loads here or it is off.");
	for (size_t i = 0; i < st->n_hooks; i++) {
		fprintf(out, PREFIX "hook_live{signal=\"");
		label_value(out, st->hooks[i]->signal);
		fprintf(out, "\",hook=\"");
		label_value(out, st->hooks[i]->hook);
		fprintf(out, "\"} %d\n", ops_hook_live(st->hooks[i]->hook));
	}
	metric(out, "bpf_programs", "gauge", "BPF programs loaded.", st->bpf_programs);
	metric(out, "process_table_size", "gauge", "Processes in the process table.",
	       st->process_table_size);
	seconds(out, "uptime_seconds", "Seconds since the agent started.", st->uptime_ns);
}

static void render_transport(FILE *out, const struct gw_transport_stats *t, uint64_t now_ns)
{
	metric(out, "collector_connected", "gauge", "1 while connected to the collector's NATS.",
	       t->connected);
	metric(out, "spool_backlog_bytes", "gauge", "Bytes of the spool's segments on disk.",
	       t->spool_bytes);
	metric(out, "spool_backlog_batches", "gauge", "Batches in the spool not yet acknowledged.",
	       t->spool_batches);
	metric(out, "spool_backlog_events", "gauge", "Events in those batches.", t->spool_events);
	seconds(out, "spool_oldest_unacked_age_seconds",
		"Seconds since the oldest unacknowledged batch was spooled (0: none; batches an "
		"earlier run left count from this run's start).",
		t->oldest_unacked_ns && now_ns > t->oldest_unacked_ns ?
		now_ns - t->oldest_unacked_ns : 0);
	seconds(out, "last_ack_timestamp_seconds",
		"Unix time of the collector's last acknowledgement (0: none yet).", t->last_ack_ns);
	metric(out, "reconnects_total", "counter", "Reconnections to the collector.",
	       t->reconnects);
	metric(out, "published_batches_total", "counter", "Batches the collector acknowledged.",
	       t->published);
	metric(out, "publish_errors_total", "counter", "Publishes that failed (retried).",
	       t->publish_errors);
	metric(out, "queue_dropped_batches_total", "counter",
	       "Batches dropped because the spool writer fell behind.", t->queue_dropped_batches);
	metric(out, "spool_dropped_batches_total", "counter",
	       "Unsent batches dropped by the spool's size cap or lost to corruption.",
	       t->spool_dropped_batches);
}

void ops_render(FILE *out, const struct ops_snapshot *s)
{
	family(out, "info", "gauge", "The agent's version, always 1.");
	fputs(PREFIX "info{version=\"", out);
	label_value(out, s->version);
	fputs("\"} 1\n", out);
	if (s->stats)
		render_stats(out, s->stats);
	family(out, "emitted_events_total", "counter", "Events the agent emitted, per kind.");
	for (int k = 0; k < OPS_EVENT_KIND_MAX; k++) {
		const ProtobufCFieldDescriptor *f;

		if (!s->emitted[k])
			continue;
		f = protobuf_c_message_descriptor_get_field(&ghostwatch__v1__event__descriptor, k);
		if (f)
			labelled(out, "emitted_events_total", "kind", f->name, s->emitted[k]);
	}
	family(out, "findings_total", "counter", "Findings raised, per category.");
	for (int c = 0; c < OPS_CAT_COUNT; c++)
		labelled(out, "findings_total", "category", category_names[c], s->findings[c]);
	if (s->has_score)
		metric(out, "fraud_score", "gauge", "The host's fraud score (0-100).", s->score);
	if (s->transport)
		render_transport(out, s->transport, s->now_ns);
}
