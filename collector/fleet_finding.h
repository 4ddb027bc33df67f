/*
 * fleet_finding.h - findings the collector raises itself, from what no single batch shows: an
 * agent silenced while its host ran, a laptop farm across hosts, a host that never reported. Each
 * is written as one NDJSON line of the same shape as a host's own `finding` event (so whatever
 * reads the stream's findings reads these), with "source":"collector" and the host it is about,
 * and marked on that host in the fleet view so `report` lists it. A finding about several hosts
 * (a farm) is one line per host, each naming the others in `matched`.
 */
#ifndef GWC_FLEET_FINDING_H
#define GWC_FLEET_FINDING_H

#include <stdint.h>
#include <stdio.h>

#include "fleet_view.h"

struct fleet_finding {
	const char *rule_id;	/* "GW-FLEET-SILENCED" */
	const char *title;
	const char *category;	/* as rules/README.md names them: tamper, behaviour, ipkvm, ... */
	const char *severity;	/* info, low, medium, high, critical */
	const char *confidence; /* low, medium, high */
	const char *technique;	/* MITRE ATT&CK id or "" */
	const char *subject;	/* what it is about */
	const char *matched;	/* why: the evidence in words */
	uint64_t time_ns;	/* when the collector saw it (wall clock) */
};

/* Writes f about host_id (a host of the view, or one the view has not seen) to out, and records
 * it on that host in v (created if new; v NULL: written only, the caller records it). */
void fleet_finding_raise(FILE *out, struct fleet_view *v, const char *host_id,
			 const struct fleet_finding *f);

#endif
