#include "app.h"

#include <errno.h>
#include <string.h>

#include "cadence/cadence.h"
#include "core/config.h"
#include "detect/detections.h"
#include "devices/devices.h"
#include "latency/latency.h"
#include "net/netif_watch.h"
#include "ops/ops.h"
#include "process/process_events.h"

void app_options_defaults(struct app_options *o)
{
	memset(o, 0, sizeof(*o));
	gw_options_defaults(&o->core);
	net_options_defaults(&o->net);
	o->device_mode = GW_DEVMODE_AUTO;
	o->sys_root = "/sys";
	o->cadence_window_s = 60;
	o->cadence_idle_ms = 1000;
	o->cadence_hooks = CADENCE_HOOKS_AUTO;
	sessions_options_defaults(&o->sessions);
	exfil_options_defaults(&o->exfil);
	o->tamper.check_seconds = 60;
	latency_options_defaults(&o->latency);
	place_options_defaults(&o->place);
}

int app_compose(struct gw_agent *a, const struct app_options *o)
{
	struct exfil_options exfil = o->exfil;
	int err;

	exfil.sys_root = o->sys_root;
	/* detect before net: AgentStats lists the findings' evictions before the flows' */
	if ((err = process_register(a)) ||
	    (err = detections_register(a, o->rules_dir, o->rules_user_dir)) ||
	    (o->config && (err = detections_set_allow(a, o->config->detections_allow,
						      o->config->n_detections_allow))) ||
	    (err = net_register(a, &o->net)) ||
	    (err = devices_register(a, o->device_mode, o->sys_root)) ||
	    (err = netif_register(a, o->sys_root)) ||
	    (err = cadence_register(a, o->cadence_window_s, o->cadence_idle_ms, o->cadence_hooks)) ||
	    (err = sessions_register(a, &o->sessions)) ||
	    (err = exfil_register(a, &exfil)) ||
	    (err = tamper_register(a, &o->tamper)) ||
	    (err = latency_register(a, &o->latency)))
		return err;
	{
		struct place_options po = o->place;

		po.rules_dir = o->rules_dir;
		if ((err = place_register(a, &po)))
			return err;
	}
	/* the config checked the patterns: only memory can fail; set before the table is seeded */
	if (o->config && redact_set_patterns(&a->procs.redact,
					     (const char *const *)o->config->redact_patterns,
					     o->config->n_redact_patterns, NULL, 0))
		return -ENOMEM;
	/* last: its sink counts what every domain emitted */
	if (o->config && (err = ops_register(a, &(struct ops_options){
				.listen = o->config->metrics_listen })))
		return err;
	return 0;
}

int app_compose_config(struct gw_agent *a, const struct gw_config *cfg)
{
	struct app_options o;

	app_options_defaults(&o);
	o.sessions.employee_id = cfg->employee_id;
	o.sessions.timezone = cfg->employee_timezone;
	o.sessions.hours = cfg->employee_hours;
	o.sessions.days = cfg->employee_days;
	o.sessions.state_path = cfg->sessions_state_file;
	o.sessions.off_hours_pct = cfg->sessions_off_hours_percent;
	o.sessions.min_active_minutes = cfg->sessions_min_active_minutes;
	o.exfil.upload_bytes = cfg->exfil_upload_bytes;
	o.exfil.upload_window_s = cfg->exfil_upload_window_seconds;
	o.exfil.removable_bytes = cfg->exfil_removable_bytes;
	o.exfil.removable_window_s = cfg->exfil_removable_window_seconds;
	o.exfil.offboarding = cfg->offboarding;
	for (size_t i = 0; i < cfg->n_exfil_allowed_remotes && i < EXFIL_OPT_REMOTES_MAX; i++)
		o.exfil.allowed_remotes[o.exfil.n_allowed_remotes++] = cfg->exfil_allowed_remotes[i];
	o.tamper.report_stop = true;
	o.tamper.config_path = cfg->path;
	o.tamper.check_seconds = cfg->tamper_check_seconds;
	o.rules_user_dir = cfg->rules_local_dir;
	o.latency.window_s = cfg->latency_window_s;
	o.latency.far_rtt_ms = cfg->latency_far_rtt_ms;
	o.latency.no_input_minutes = cfg->latency_no_input_minutes;
	o.place.mac_key_file = cfg->place_mac_key_file;
	o.place.mdns = cfg->place_mdns;
	o.net.hooks.proto_id = cfg->proto_id;
	o.net.dns_max_ttl_s = cfg->dns_max_ttl_seconds;
	/* core's own: read when the hooks load (agent_start) and as the table fills */
	a->opt.hooks.uid_rate = cfg->limits_uid_rate;
	a->opt.hooks.uid_burst = cfg->limits_uid_burst;
	a->opt.hooks.uid_gate_pct = cfg->limits_uid_gate_percent;
	a->opt.hooks.reserve_pct = cfg->limits_reserved_percent;
	a->procs.max_bytes = cfg->limits_proc_table_bytes;
	o.config = cfg;
	return app_compose(a, &o);
}
