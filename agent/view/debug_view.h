/*
 * debug_view.h - the on-host live view (`ghostwatch debug`): a compact human line per event, with
 * colour on a terminal, or one JSON object per line (`--json`) whose keys are the proto field
 * names plus "type".
 */
#ifndef GW_DEBUG_VIEW_H
#define GW_DEBUG_VIEW_H

#include <stdbool.h>
#include <stdio.h>

#include "core/agent.h"

struct debug_view {
	FILE *out;
	bool json;
	bool color;
};

struct gw_sink debug_view_sink(struct debug_view *v);

/* The compact line for one event (exposed for tests). */
void debug_view_write_compact(struct debug_view *v, const gw_event_t *ev);

#endif
