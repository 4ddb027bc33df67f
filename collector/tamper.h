/*
 * tamper.h - tamper evidence the collector sees across an agent's runs, which no single batch
 * shows, raised as its own findings (fleet_finding.h):
 *  - GW-FLEET-SILENCED: a run starts on the same boot id as the previous run, longer after that
 *    run's last window than a threshold: the agent was down while the host ran (a new boot id is
 *    an ordinary shutdown and raises nothing);
 *  - GW-FLEET-CONFIG-CHANGED: the agent's binary, config or rules hashes (AgentIntegrity, sent at
 *    each start) changed between starts while its version did not;
 *  - GW-FLEET-DETECTIONS-OFF: a run reports zero enabled rules.
 * Its per-host state is struct fleet_tamper in fleet_host, saved as FleetTamperState.
 */
#ifndef GWC_TAMPER_H
#define GWC_TAMPER_H

#include <stdint.h>
#include <stdio.h>

#include "collector_state.pb-c.h"
#include "ghostwatch.pb-c.h"

struct fleet_view;

struct fleet_tamper {
	char *boot_id;		 /* the latest run's boot */
	uint64_t agent_start_ns; /* the latest run's start (wall clock, the agent's) */
	uint64_t window_end_ns;	 /* that run's latest window end */
	char *agent_version;	 /* the version that reported the hashes below */
	char *binary_sha256, *config_sha256, *rules_sha256;
};

struct tamper_opts {
	uint64_t silenced_after_ns; /* a same-boot gap longer than this is GW-FLEET-SILENCED */
};

#define TAMPER_SILENCED_AFTER_S 120

void tamper_opts_default(struct tamper_opts *o);

/* A batch accepted for writing (not a repeat): checks it against the host's previous runs,
 * writes any finding to out (beside the batch's lines) and updates the host's state. */
void tamper_on_batch(const struct tamper_opts *o, FILE *out, struct fleet_view *v,
		     const Ghostwatch__V1__Batch *b, uint64_t now_ns);

/* What a batch changes in the host's state, without checking: the fleet bucket's update folds it
 * again into the value it writes, since a write that lost to another collector's starts over from
 * that collector's value (fleet_kv.h). Folding a batch twice changes nothing. */
void tamper_note_batch(struct fleet_tamper *t, const Ghostwatch__V1__Batch *b);

void tamper_free(struct fleet_tamper *t);

/* The state file's form: m points into t (t must outlive m); merge keeps the later run. */
void tamper_to_msg(const struct fleet_tamper *t, Ghostwatch__V1__FleetTamperState *m);
void tamper_merge(struct fleet_tamper *t, const Ghostwatch__V1__FleetTamperState *m);

#endif
