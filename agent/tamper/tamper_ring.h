/*
 * tamper_ring.h - whether the ring still brings the records the kernel makes, checked with every
 * attach check: records consumed by another program and flood limits rewritten (the core's
 * ring_audit.h), and, when a whole interval brought no exit record, a canary: the agent forks a
 * child that exits at once and expects its exit record within a few seconds. A program that
 * stays attached but no longer delivers (a map rewritten, a filter added, records refused) shows
 * as a silent canary whatever the means.
 */
#ifndef GW_TAMPER_RING_H
#define GW_TAMPER_RING_H

#include <stdint.h>
#include <sys/types.h>

struct gw_agent;
struct gw_behaviour_rule;

/* How long a canary's exit record may take: the reader drains at least once a second. */
#define TAMPER_CANARY_WAIT_NS 5000000000ull

struct tamper_ring {
	uint64_t exits;		/* exit records (and bad records) at the last check */
	pid_t canary;		/* the child whose exit is awaited, 0 if none */
	uint64_t canary_ns;	/* CLOCK_BOOTTIME it exited */
	uint64_t canary_exits;	/* exit records when it was started */
	uint64_t canary_drops;	/* exit drops when it was started */
	uint64_t canaries, silent; /* started; gone unseen */
};

/* Every attach check. Raises GW-AGENT-RING-TAMPERED through `rule`. */
void tamper_ring_check(struct gw_agent *a, struct tamper_ring *t, uint64_t now_ns,
		       const struct gw_behaviour_rule *rule);

/* The canary's deadline (0 if none is awaited), for the domain's next tick. */
uint64_t tamper_ring_next(const struct tamper_ring *t);

/* At the deadline: whether the canary's exit record came. */
void tamper_ring_tick(struct gw_agent *a, struct tamper_ring *t, uint64_t now_ns,
		      const struct gw_behaviour_rule *rule);

#endif
