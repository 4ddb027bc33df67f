/*
 * behaviours.h - the rules of behaviours the domains recognise themselves (core/facts.h,
 * struct gw_behaviour_rule), turned into loaded-rule form once per rule so the findings table
 * deduplicates, scores and reports them like the rules read from files. A rule whose category,
 * severity or confidence is not a known name is refused (and counted), never guessed.
 */
#ifndef GW_BEHAVIOURS_H
#define GW_BEHAVIOURS_H

#include <stddef.h>
#include <stdint.h>

#include "findings.h"
#include "rules_load.h"

struct gw_behaviour_rule;

#define GW_BEHAVIOURS_MAX 64

struct gw_behaviours {
	struct {
		const struct gw_behaviour_rule *from;
		struct gw_rule rule;
		char *sources[1];
	} slot[GW_BEHAVIOURS_MAX];
	size_t n;
	uint64_t refused; /* rules with an unknown name, or past GW_BEHAVIOURS_MAX */
};

/* The loaded form of `r`, made on first use; NULL (counted) when r cannot be one. */
const struct gw_rule *behaviours_rule(struct gw_behaviours *b, const struct gw_behaviour_rule *r);

/* The evidence kind called `name` ("cadence", "session", ...); GW_EVIDENCE_AGENT for an unknown
 * name, the agent's own observation being the least that is true of any behaviour. */
enum gw_evidence_kind behaviours_evidence_kind(const char *name);

#endif
