/*
 * The latency domain's glue (agent/latency/latency.c) driven through a real agent context without
 * BPF: facts in as the other domains publish them, ticks with a clock the test controls, and its
 * counters out. The walk is never loaded (the domain is not started), so only the facts decide.
 */
#include "testing.h"

#include <string.h>

#include "core/agent.h"
#include "core/proc_table.h"
#include "latency/latency.h"

#define S 1000000000ull

struct world {
	struct gw_agent a;
	struct gw_domain *d;
	struct proc_entry *launcher, *app;
};

static int world_init(struct world *w, const char *cadence_hook)
{
	struct gw_options o;
	struct latency_options lo = { .window_s = 5, .far_rtt_ms = 100, .no_input_minutes = 1 };

	memset(w, 0, sizeof(*w));
	gw_options_defaults(&o);
	o.proc_root = "/nonexistent";
	if (agent_init(&w->a, &o) || latency_register(&w->a, &lo))
		return -1;
	w->d = &w->a.domains[w->a.n_domains - 1];
	hooks_set_status(&w->a.hooks, "input_cadence", cadence_hook, "");
	/* a session launcher and a program it started */
	w->launcher = proc_table_put(&w->a.procs, 4000);
	w->app = proc_table_put(&w->a.procs, 4001);
	if (!w->launcher || !w->app)
		return -1;
	w->launcher->ppid = 1;
	w->launcher->id = 4000;
	snprintf(w->launcher->comm, sizeof(w->launcher->comm), "xinit");
	w->app->ppid = 4000;
	w->app->id = 4001;
	snprintf(w->app->comm, sizeof(w->app->comm), "xterm");
	return 0;
}

static uint64_t counter(struct world *w, const char *name)
{
	const char *names[64], *dnames[64];
	uint64_t values[64], dvalues[64];
	struct gw_stats_parts p = { .events = { names, values, 0, 64 },
				    .drops = { dnames, dvalues, 0, 64 } };

	w->d->counters(&w->a, w->d->state, &p);
	for (size_t i = 0; i < p.events.n; i++)
		if (!strcmp(names[i], name))
			return values[i];
	return ~0ull;
}

/*
 * Runs `seconds` of a session: the cadence domain's virtual-input window every 2 s (published in
 * the same tick, just before the latency tick, stamped with the tick's time or later, as the
 * cadence drain does), a program started every 4 s, and physical input every `physical_every` s
 * (0: never).
 */
static void run(struct world *w, int seconds, int physical_every)
{
	uint64_t t0 = 1000 * S;

	for (int s = 1; s <= seconds; s++) {
		uint64_t now = t0 + (uint64_t)s * S, wall = now + (uint64_t)w->a.realtime_offset_ns;

		if (s % 4 == 0)
			agent_publish(&w->a, &(struct gw_fact){ .kind = GW_FACT_EXEC, .proc = w->app,
								.time_ns = wall });
		if (s % 2 == 0)
			agent_publish(&w->a, &(struct gw_fact){
						     .kind = GW_FACT_INPUT, .process_id = 77,
						     .time_ns = wall + 1000,
						     .input = { "input9", false, 4, wall } });
		if (physical_every && s % physical_every == 0)
			agent_publish(&w->a, &(struct gw_fact){
						     .kind = GW_FACT_INPUT, .time_ns = wall,
						     .input = { "input1", true, 3, wall } });
		w->d->tick(&w->a, w->d->state, now);
	}
}

TEST(session_through_virtual_input_raises_after_the_minute)
{
	struct world w;

	REQUIRE(!world_init(&w, "fentry/input_handle_event"));
	run(&w, 55, 0);
	CHECK(counter(&w, "latency_no_physical_input_observed") == 0); /* not a minute yet */
	run(&w, 30, 0);
	CHECK(counter(&w, "latency_no_physical_input_observed") > 0);
	agent_destroy(&w.a);
}

TEST(physical_input_keeps_it_quiet)
{
	struct world w;

	REQUIRE(!world_init(&w, "fentry/input_handle_event"));
	run(&w, 180, 50);
	CHECK(counter(&w, "latency_no_physical_input_observed") == 0);
	agent_destroy(&w.a);
}

TEST(unmeasured_input_is_not_silence)
{
	struct world w;

	REQUIRE(!world_init(&w, "none"));
	run(&w, 180, 0);
	CHECK(counter(&w, "latency_no_physical_input_observed") == 0);
	CHECK(counter(&w, "latency_windows") >= 30 && counter(&w, "latency_windows") != ~0ull);
	agent_destroy(&w.a);
}

int main(void)
{
	RUN(session_through_virtual_input_raises_after_the_minute);
	RUN(physical_input_keeps_it_quiet);
	RUN(unmeasured_input_is_not_silence);
	return test_summary();
}
