/*
 * roster.h - who the fleet's devices are issued to, for `report`: the roster the agents declare
 * (HostIdentity.employee_id, kept per host in the fleet view), the employees none of whose hosts
 * reported for some days, and the hosts enrolled (a client certificate issued, CN = host id) that
 * never reported at all: the company laptop left unused while the work happens elsewhere.
 */
#ifndef GWC_ROSTER_H
#define GWC_ROSTER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct fleet_view;

struct roster_opts {
	uint32_t silent_days;	  /* an employee whose hosts are all quiet this long is silent */
	const char *enrolled_dir; /* issued certificates (*.pem, *.crt), NULL: not checked */
};

#define ROSTER_SILENT_DAYS 7

/* The roster section after `report`'s table. */
void roster_report_table(struct fleet_view *v, FILE *out, uint64_t now_ns,
			 const struct roster_opts *o);
/* The same as a section of `report --html`'s page (every name HTML-escaped). */
void roster_report_html(struct fleet_view *v, FILE *out, uint64_t now_ns,
			const struct roster_opts *o);
/* The same as a "roster" member of `report --json`'s object: `"roster":{...}`. */
void roster_report_json(struct fleet_view *v, FILE *out, uint64_t now_ns,
			const struct roster_opts *o);

#endif
