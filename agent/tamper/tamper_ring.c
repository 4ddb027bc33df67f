/* tamper_ring.c - the ring's audit and the exit canary. See tamper_ring.h. */
#include "tamper_ring.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sys/wait.h>
#include <unistd.h>

#include "core/agent.h"
#include "core/ring_audit.h"
#include "tamper.h"

static uint64_t exit_records(const struct gw_agent *a)
{
	return a->counters.records[GW_EV_EXIT] + a->counters.bad_records;
}

static uint64_t exit_drops(const struct gw_agent *a)
{
	uint64_t drops[GW_DROP_CATEGORY_MAX] = { 0 };

	hooks_read_drops(&a->hooks, drops);
	return drops[GW_DROP_EXIT];
}

static void audit(struct gw_agent *a, const struct gw_behaviour_rule *rule)
{
	struct gw_ring_audit_result r;
	const struct gw_limits *w = &a->hooks.audit.limits;
	char why[320];

	ring_audit_check(&a->hooks.audit, &r);
	if (r.taken_bytes) {
		snprintf(why, sizeof(why), "another program consumed %" PRIu64 " bytes of the agent's "
			 "ring buffer since the last check: records the agent never saw",
			 r.taken_bytes);
		tamper_raise(a, rule, "ring buffer", why);
	}
	if (r.limits_changed) {
		snprintf(why, sizeof(why), "the ring's flood limits were rewritten (rate %u burst %u "
			 "gate %u%% reserve %u%%, the agent wrote rate %u burst %u gate %u%% reserve "
			 "%u%%); %s", r.found.rate, r.found.burst, r.found.gate_pct,
			 r.found.reserve_pct, w->rate, w->burst, w->gate_pct, w->reserve_pct,
			 r.limits_restored ? "written back" : "could not write them back");
		tamper_raise(a, rule, "flood limits", why);
	}
}

/* A child that exits at once: its exit record is the one the check waits for. */
static void start_canary(struct gw_agent *a, struct tamper_ring *t, uint64_t now_ns)
{
	pid_t pid = fork();

	if (pid < 0) {
		fprintf(stderr, "ghostwatch: tamper: cannot start the ring canary: %s\n",
			strerror(errno));
		return;
	}
	if (pid == 0)
		_exit(0);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	t->canary = pid;
	t->canary_ns = now_ns;
	t->canary_exits = exit_records(a);
	t->canary_drops = exit_drops(a);
	t->canaries++;
}

void tamper_ring_check(struct gw_agent *a, struct tamper_ring *t, uint64_t now_ns,
		       const struct gw_behaviour_rule *rule)
{
	uint64_t exits = exit_records(a);

	audit(a, rule);
	if (!a->hooks.process || t->canary)
		return;
	/* any exit record in the interval shows the path works; only a silent one needs proof */
	if (exits == t->exits)
		start_canary(a, t, now_ns);
	t->exits = exits;
}

uint64_t tamper_ring_next(const struct tamper_ring *t)
{
	return t->canary ? t->canary_ns + TAMPER_CANARY_WAIT_NS : 0;
}

void tamper_ring_tick(struct gw_agent *a, struct tamper_ring *t, uint64_t now_ns,
		      const struct gw_behaviour_rule *rule)
{
	uint64_t exits = exit_records(a), drops;
	char why[256];

	if (!t->canary || now_ns < t->canary_ns + TAMPER_CANARY_WAIT_NS)
		return;
	drops = exit_drops(a);
	if (exits == t->canary_exits && drops == t->canary_drops) {
		t->silent++;
		snprintf(why, sizeof(why), "the exit hook is attached but records stopped: the agent's "
			 "own child (pid %d) exited %" PRIu64 " s ago and no exit record arrived, none "
			 "was counted as dropped", (int)t->canary,
			 (uint64_t)((now_ns - t->canary_ns) / 1000000000ull));
		tamper_raise(a, rule, "process records", why);
	}
	t->canary = 0;
	t->exits = exits;
}
