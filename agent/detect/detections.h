/*
 * detections.h - the agent's detection engine: the live rule matcher (loaded from the shipped rules
 * directory and /etc/ghostwatch/rules.d, replaced whole on SIGHUP only when the new rules load
 * cleanly), the findings table, and the `finding` / `fraud_score` events it emits.
 *
 * It is called by no domain: it observes the facts the domains publish right after emitting their
 * own event (facts.h), so the finding's evidence names that event: an exec (process), a flow or
 * connection with a gw_flow_input (network), a device with a gw_device_input (devices), an
 * interface (network interface watch), a behaviour (a domain's own rule: input cadence, ...).
 */
#ifndef GW_DETECTIONS_H
#define GW_DETECTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "allow_list.h"
#include "behaviours.h"
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
	const char *shipped_arg, *user_arg; /* as registered, for detections_init at start */
	uint64_t last_tick_ns;
	struct gw_behaviours behaviours; /* the domains' own rules, loaded on first use */
	struct gw_allow_list allow;	 /* the config's detections.allow */
};

/*
 * Loads the rules. shipped_dir NULL = the rules/ directory next to the binary's build tree, else
 * GW_RULES_SYSTEM_DIR; user_dir NULL = GW_RULES_USER_DIR. A bad user directory at start is
 * reported and skipped (the shipped rules still load); bad shipped rules are an error.
 */
int detections_init(struct gw_detections *d, const char *shipped_dir, const char *user_dir,
		    const struct gw_findings_config *cfg);
void detections_free(struct gw_detections *d);

/* Registers the detect domain: it loads the rules at start (rules of the processes already
 * running matched once, evidence kind "procfs" with event_id 0), observes the exec, flow, device,
 * interface and behaviour facts (facts.h), closes finding windows and ages the score every second,
 * reloads on SIGHUP (all-or-nothing: on failure the previous rules stay live) and provides the
 * agent's fraud score. Directories as for detections_init(). */
int detections_register(struct gw_agent *a, const char *shipped_dir, const char *user_dir);

/* After detections_register: the config's allow list (allow_list.h), copied; 0 or -ENOMEM. */
struct gw_config_allow;
int detections_set_allow(struct gw_agent *a, const struct gw_config_allow *items, size_t n);

#endif
