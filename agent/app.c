#include "app.h"

#include <string.h>

#include "cadence/cadence.h"
#include "core/config.h"
#include "detect/detections.h"
#include "devices/devices.h"
#include "net/netif_watch.h"
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
}

int app_compose(struct gw_agent *a, const struct app_options *o)
{
	int err;

	/* detect before net: AgentStats lists the findings' evictions before the flows' */
	if ((err = process_register(a)) ||
	    (err = detections_register(a, o->rules_dir, o->rules_user_dir)) ||
	    (o->config && (err = detections_set_allow(a, o->config->detections_allow,
						      o->config->n_detections_allow))) ||
	    (err = net_register(a, &o->net)) ||
	    (err = devices_register(a, o->device_mode, o->sys_root)) ||
	    (err = netif_register(a, o->sys_root)) ||
	    (err = cadence_register(a, o->cadence_window_s, o->cadence_idle_ms, o->cadence_hooks)))
		return err;
	return 0;
}

int app_compose_config(struct gw_agent *a, const struct gw_config *cfg)
{
	struct app_options o;

	app_options_defaults(&o);
	o.config = cfg;
	return app_compose(a, &o);
}
