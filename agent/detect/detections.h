/*
 * detections.h - the agent's detection engine: the live rule matcher (loaded from the shipped rules
 * directory and /etc/ghostwatch/rules.d, replaced whole on SIGHUP only when the new rules load
 * cleanly), the findings table, and the `finding` / `fraud_score` events it emits.
 *
 * Domains call in after emitting their own event, so the finding's evidence names that event:
 *  - process: detections_on_exec() (wired in process_events.c);
 *  - network: detections_on_flow() with a gw_flow_input and the connect/flow event id;
 *  - devices: detections_on_device() with a gw_device_input and the device event id;
 *  - interfaces: detections_on_netif().
 */
#ifndef GW_DETECTIONS_H
#define GW_DETECTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "findings.h"
#include "ghostwatch.pb-c.h"
#include "rules_match.h"

struct gw_agent;
struct proc_entry;

#define GW_RULES_USER_DIR "/etc/ghostwatch/rules.d"
#define GW_RULES_SYSTEM_DIR "/usr/share/ghostwatch/rules"

struct gw_detections {
	char shipped_dir[4096]; /* rules shipped with the agent */
	char user_dir[4096];	/* local additions/overrides, optional */
	struct gw_matcher *matcher;
	struct gw_findings *findings;
	uint64_t reloads, reload_failures;
	uint64_t matches;
	uint32_t score;
};

/*
 * Loads the rules. shipped_dir NULL = the rules/ directory next to the binary's build tree, else
 * GW_RULES_SYSTEM_DIR; user_dir NULL = GW_RULES_USER_DIR. A bad user directory at start is
 * reported and skipped (the shipped rules still load); bad shipped rules are an error.
 */
int detections_init(struct gw_detections *d, const char *shipped_dir, const char *user_dir,
		    const struct gw_findings_config *cfg);
void detections_free(struct gw_detections *d);

/* SIGHUP: all-or-nothing reload; on failure the previous rules stay live. Returns 0 or -1. */
int detections_reload(struct gw_agent *a);

void detections_on_exec(struct gw_agent *a, const struct proc_entry *e, uint64_t event_id,
			uint64_t time_ns);
void detections_on_flow(struct gw_agent *a, const struct gw_flow_input *in, const char *subject,
			uint64_t process_id, uint64_t event_id, uint64_t time_ns);
void detections_on_device(struct gw_agent *a, const struct gw_device_input *in,
			  const char *subject, uint64_t event_id, uint64_t time_ns);
void detections_on_netif(struct gw_agent *a, const char *ifname, uint64_t event_id,
			 uint64_t time_ns);

/* A behavioural detection that is not a rule file's match (input cadence: a jiggler, injected input):
 * the domain's own built-in rule, why it held, and the event that shows it. */
void detections_on_behaviour(struct gw_agent *a, const struct gw_rule *rule, const char *why,
			     const char *subject, uint64_t process_id, enum gw_evidence_kind kind,
			     uint64_t event_id, uint64_t time_ns);

/* Processes that were running before the agent (the process table's /proc seed): matched once at
 * start, evidence kind "procfs" with event_id 0. */
void detections_scan_running(struct gw_agent *a);

/* The host's fraud score now (what every fleet batch carries), built in the agent's arena;
 * NULL when the arena is full. All zero before any finding or without detections. */
Ghostwatch__V1__FraudScore *detections_fraud_score(struct gw_agent *a, uint64_t realtime_ns);

/* Closes finding windows and ages the score; call from agent_tick. */
void detections_tick(struct gw_agent *a, uint64_t realtime_ns);

#endif
