/*
 * fleet_html.h - `ghostwatch-collector report --html FILE`: the fleet view as one self-contained
 * HTML page (inline CSS, no script, no external asset) for people: hosts ranked by score with
 * their findings and evidence, laptop farms drawn as groups, each host's place, devices, losses,
 * and its hour-of-week activity heat-map in its employee's declared timezone when the agent
 * reports a profile, and the employees' roster (silent ones, enrolled hosts that never
 * reported). Every agent-supplied string is HTML-escaped.
 */
#ifndef GWC_FLEET_HTML_H
#define GWC_FLEET_HTML_H

#include <stdint.h>
#include <stdio.h>

#include "fleet_view.h"

struct roster_opts;

/* Writes the page to out, with the roster section (roster.h) when ro is given; 0, or -1 on a
 * write error. Sorts the hosts by score. */
int fleet_html_write(struct fleet_view *v, FILE *out, uint64_t now_ns,
		     const struct roster_opts *ro);

/* s with & < > " ' as character references. */
void fleet_html_escape(FILE *out, const char *s);

#endif
