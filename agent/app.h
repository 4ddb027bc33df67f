/*
 * app.h - the composition root: the only place that knows every domain. It holds the options of
 * each and registers them with the agent core in the order they start, tick, observe and report:
 * process, detect, net, devices, netif (interfaces), cadence, sessions, exfil, tamper, latency,
 * place, ops (the ops endpoint, when the config sets metrics.listen).
 */
#ifndef GW_APP_H
#define GW_APP_H

#include <stdint.h>

#include "cadence/cadence_hooks.h"
#include "core/agent.h"
#include "devices/device_hooks.h"
#include "exfil/exfil.h"
#include "latency/latency.h"
#include "net/network.h"
#include "sessions/sessions.h"
#include "tamper/tamper.h"
#include "place/place.h"

struct gw_config;

struct app_options {
	struct gw_options core;
	struct gw_net_options net;
	enum gw_device_mode device_mode; /* devices: auto (fentry, kprobe, uevent) or forced */
	const char *sys_root;		 /* sysfs, for device inventory and enrichment */
	uint32_t cadence_window_s;	 /* input cadence window; 0: cadence off */
	uint32_t cadence_idle_ms;	 /* quiet before a pointer burst for it to start "after idle" */
	enum cadence_hook_mode cadence_hooks;
	const char *rules_dir;	    /* shipped rules; NULL = next to the build tree or system dir */
	const char *rules_user_dir; /* local rules; NULL = /etc/ghostwatch/rules.d */
	struct sessions_options sessions; /* login sessions and the activity profile */
	struct exfil_options exfil;
	struct tamper_options tamper;
	struct latency_options latency;
	struct place_options place; /* network place, location settings, LAN IP-KVMs */
	const struct gw_config *config; /* fleet config (run, or debug --config): detections.allow */
};

void app_options_defaults(struct app_options *o);
/* Registers every domain with `o`'s options on an agent_init'ed agent; 0 or -errno. */
int app_compose(struct gw_agent *a, const struct app_options *o);
struct gw_config;
/* Fleet mode: app_compose with the default options and what the config sets (employee, ...). */
int app_compose_config(struct gw_agent *a, const struct gw_config *cfg);

#endif
