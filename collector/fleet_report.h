/*
 * fleet_report.h - `ghostwatch-collector report`: the fleet view as a table for a terminal
 * (agent-supplied names defanged) or as one JSON document.
 */
#ifndef GWC_FLEET_REPORT_H
#define GWC_FLEET_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "fleet_view.h"

/* Both sort the hosts by id. */
void fleet_report_table(struct fleet_view *v, FILE *out, uint64_t now_ns);
void fleet_report_json(struct fleet_view *v, FILE *out);

#endif
