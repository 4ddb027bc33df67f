/* tamper.c - the tamper domain's registration and its stop finding. See tamper.h. */
#include "tamper.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/agent.h"
#include "integrity.h"
#include "tamper_ring.h"

struct tamper {
	struct tamper_options opt;
	char config_path[TAMPER_PATH_MAX];
	uint64_t integrity_failed; /* events not built: the arena was full */
	uint64_t checked_ns;	   /* CLOCK_BOOTTIME of the last attach check */
	uint64_t links_lost, links_reattached;
	struct tamper_ring ring;
};

static const struct gw_behaviour_rule stopped_rule = {
	.id = "GW-AGENT-STOPPED",
	.title = "Agent stopped by a user or a script, not by the service manager",
	.vendor = "ghostwatch",
	.technique = "T1562.001",
	.category = "tamper",
	.severity = "high",
	.confidence = "high",
	.source = "rules/README.md#built-in-behaviour-rules",
};

static const struct gw_behaviour_rule detached_rule = {
	.id = "GW-AGENT-DETACHED",
	.title = "Agent BPF program detached or replaced",
	.vendor = "ghostwatch",
	.technique = "T1562.001",
	.category = "tamper",
	.severity = "high",
	.confidence = "high",
	.source = "rules/README.md#built-in-behaviour-rules",
};

static const struct gw_behaviour_rule ring_rule = {
	.id = "GW-AGENT-RING-TAMPERED",
	.title = "Agent's records taken, refused or stopped while its programs stay attached",
	.vendor = "ghostwatch",
	.technique = "T1562.001",
	.category = "tamper",
	.severity = "high",
	.confidence = "high",
	.source = "rules/README.md#built-in-behaviour-rules",
};

void tamper_raise(struct gw_agent *a, const struct gw_behaviour_rule *rule, const char *subject,
		  const char *why)
{
	fprintf(stderr, "ghostwatch: tamper: %s\n", why);
	gw_arena_reset(&a->arena);
	agent_publish(a, &(struct gw_fact){
				 .kind = GW_FACT_BEHAVIOUR,
				 .behaviour = { rule, why, "agent" },
				 .subject = subject,
				 .time_ns = gw_now_realtime_ns(),
			 });
}

static void on_lost(const struct gw_attach_loss *l, void *ctx)
{
	struct gw_agent *a = ctx;
	struct tamper *t = agent_domain_state(a, "tamper");
	char why[256];

	t->links_lost++;
	t->links_reattached += l->new_link_id != 0;
	if (l->new_link_id)
		snprintf(why, sizeof(why), "link %u of program %s (id %u) %s; attached again as link "
			 "%u", l->link->link_id, l->link->name, l->link->prog_id, l->what,
			 l->new_link_id);
	else
		snprintf(why, sizeof(why), "link %u of program %s (id %u) %s; not attached again",
			 l->link->link_id, l->link->name, l->link->prog_id, l->what);
	tamper_raise(a, &detached_rule, l->link->name, why);
}

static void check_attached(struct gw_agent *a, struct tamper *t, uint64_t now_ns)
{
	t->checked_ns = now_ns;
	attach_registry_check(&a->hooks.attached, on_lost, a);
	tamper_ring_check(a, &t->ring, now_ns, &ring_rule);
}

static void tamper_tick(struct gw_agent *a, void *state, uint64_t now_ns)
{
	struct tamper *t = state;

	tamper_ring_tick(a, &t->ring, now_ns, &ring_rule);
	if (t->opt.check_seconds &&
	    now_ns - t->checked_ns >= (uint64_t)t->opt.check_seconds * 1000000000ull)
		check_attached(a, t, now_ns);
}

static uint64_t tamper_next_tick(const struct gw_agent *a, void *state, uint64_t now_ns)
{
	const struct tamper *t = state;
	uint64_t check = t->opt.check_seconds ?
		t->checked_ns + (uint64_t)t->opt.check_seconds * 1000000000ull : 0;
	uint64_t canary = tamper_ring_next(&t->ring);

	(void)a;
	(void)now_ns;
	return !canary || (check && check < canary) ? check : canary;
}

static void tamper_finish(struct gw_agent *a, void *state)
{
	const struct tamper *t = state;
	const struct gw_stop_sender *s = &a->stop;
	const struct proc_entry *e;
	char why[384];

	if (!t->opt.report_stop || s->origin == GW_STOP_NONE)
		return;
	stop_sender_describe(s, why, sizeof(why));
	if (s->origin != GW_STOP_OTHER) {
		fprintf(stderr, "ghostwatch: stopped by %s: %s\n",
			s->origin == GW_STOP_MANAGER ? "the service manager" : s->via, why);
		return;
	}
	fprintf(stderr, "ghostwatch: stopped by hand: %s\n", why);
	e = s->pid ? proc_table_get(&a->procs, s->pid) : NULL;
	gw_arena_reset(&a->arena);
	agent_publish(a, &(struct gw_fact){
				 .kind = GW_FACT_BEHAVIOUR,
				 .behaviour = { &stopped_rule, why, "agent" },
				 .subject = s->exe[0] ? s->exe : s->comm[0] ? s->comm : "terminal",
				 .process_id = e ? e->id : 0,
				 .time_ns = gw_now_realtime_ns(),
			 });
}

static void report_integrity(struct gw_agent *a, struct tamper *t)
{
	gw_event_t *ev;

	gw_arena_reset(&a->arena);
	ev = gw_arena_alloc(&a->arena, sizeof(*ev));
	if (ev) {
		ghostwatch__v1__event__init(ev);
		ev->integrity = integrity_build(a, t->config_path);
	}
	if (!ev || !ev->integrity) {
		t->integrity_failed++;
		return;
	}
	ev->kind_case = GHOSTWATCH__V1__EVENT__KIND_INTEGRITY;
	agent_emit(a, ev);
	if (!a->rules_files.enabled)
		fprintf(stderr, "ghostwatch: integrity: no detection rule is enabled\n");
}

static int tamper_start(struct gw_agent *a, void *state)
{
	report_integrity(a, state);
	check_attached(a, state, gw_now_boottime_ns());
	return 0;
}

/* After the detections reloaded their rules (they come first): what the agent runs with now. */
static void tamper_hangup(struct gw_agent *a, void *state)
{
	report_integrity(a, state);
}

static void tamper_counters(const struct gw_agent *a, void *state, struct gw_stats_parts *p)
{
	const struct tamper *t = state;

	agent_stats_add(&p->drops, "integrity_unreported", t->integrity_failed);
	agent_stats_add(&p->drops, "links_unchecked", a->hooks.attached.not_registered);
	agent_stats_add(&p->events, "links_lost", t->links_lost);
	agent_stats_add(&p->events, "links_reattached", t->links_reattached);
	agent_stats_add(&p->events, "ring_canaries", t->ring.canaries);
	agent_stats_add(&p->events, "ring_canaries_unseen", t->ring.silent);
	agent_stats_add(&p->events, "ring_limits_rewritten", a->hooks.audit.limits_rewritten);
}

static void tamper_destroy(struct gw_agent *a, void *state)
{
	(void)a;
	free(state);
}

int tamper_register(struct gw_agent *a, const struct tamper_options *o)
{
	struct tamper *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return -ENOMEM;
	t->opt = *o;
	snprintf(t->config_path, sizeof(t->config_path), "%s", o->config_path ? o->config_path : "");
	t->opt.config_path = t->config_path;
	err = agent_register(a, &(struct gw_domain){
					.name = "tamper",
					.state = t,
					.start = tamper_start,
					.hangup = tamper_hangup,
					.counters = tamper_counters,
					.tick = tamper_tick,
					.next_tick = tamper_next_tick,
					.finish = tamper_finish,
					.destroy = tamper_destroy,
				});
	if (err)
		free(t);
	return err;
}
