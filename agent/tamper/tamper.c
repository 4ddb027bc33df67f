/* tamper.c - the tamper domain's registration and its stop finding. See tamper.h. */
#include "tamper.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/agent.h"

struct tamper {
	struct tamper_options opt;
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
	err = agent_register(a, &(struct gw_domain){
					.name = "tamper",
					.state = t,
					.finish = tamper_finish,
					.destroy = tamper_destroy,
				});
	if (err)
		free(t);
	return err;
}
