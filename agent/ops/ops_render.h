/*
 * ops_render.h - the ops endpoint's text: a snapshot of the agent's health in the Prometheus text
 * format (version 0.0.4), every family with HELP and TYPE, names ghostwatch_agent_*, and the
 * health verdict /healthz gives. Pure functions of a snapshot, so the loop renders and the HTTP
 * thread only copies text.
 */
#ifndef GW_OPS_RENDER_H
#define GW_OPS_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ghostwatch.pb-c.h"

#include "core/transport.h"

/* Finding categories as rules/README.md names them; anything else counts as "other". */
#define OPS_CATEGORIES                                                                         \
	X(rmm) X(tunnel) X(vpn) X(ipkvm) X(jiggler) X(behaviour) X(exfil) X(tamper)             \
	X(combination) X(other)

enum ops_category {
#define X(c) OPS_CAT_##c,
	OPS_CATEGORIES
#undef X
	OPS_CAT_COUNT
};

#define OPS_EVENT_KIND_MAX 128 /* Event.kind field numbers below this are counted */

struct ops_snapshot {
	const char *version;
	uint64_t now_ns; /* realtime */
	const Ghostwatch__V1__AgentStats *stats;
	const struct gw_transport_stats *transport; /* NULL: no fleet transport (debug) */
	bool has_score;
	uint32_t score;
	uint64_t findings[OPS_CAT_COUNT];
	uint64_t emitted[OPS_EVENT_KIND_MAX]; /* events emitted per Event.kind field number */
};

enum ops_category ops_category_of(const char *category);
const char *ops_category_name(enum ops_category c);

/* Writes the Prometheus text of s. */
void ops_render(FILE *out, const struct ops_snapshot *s);

/* Whether a signal's hook counts as attached ("none" and "off" do not). */
bool ops_hook_live(const char *hook);

/* The hooks the agent cannot go without (exec, exit) that are not attached, as "why" for
 * /healthz ("hooks not attached: exec"); "" when they are. */
void ops_hooks_verdict(const Ghostwatch__V1__AgentStats *stats, char *why, size_t len);

#endif
