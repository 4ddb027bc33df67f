/*
 * agent.h - the one agent context, passed to every module: options, the event loop, the loaded BPF
 * hooks, the tables, the output sinks and the counters. Nothing else in the agent is mutable global
 * state.
 *
 * How a domain plugs in (process, network, devices, ...):
 *  - its BPF records are dispatched by type in agent_dispatch_record() (agent.c);
 *  - it turns them into a Ghostwatch__V1__Event and calls agent_emit(), which stamps event_id and
 *    time and hands the event to every sink (debug view, fleet batches);
 *  - periodic work (flow windows, evictions) goes in agent_tick(), called every tick_ms;
 *  - its drops and evictions are reported through agent_stats_fill().
 */
#ifndef GW_AGENT_H
#define GW_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "ghostwatch.pb-c.h"

typedef Ghostwatch__V1__Event gw_event_t;

struct gw_agent;

/* A consumer of finished events (debug printer, batch builder). */
struct gw_sink {
	void (*emit)(struct gw_agent *agent, const gw_event_t *ev, void *ctx);
	void *ctx;
};

#define GW_MAX_SINKS 4

/* Monotonic and wall-clock now, in ns. */
uint64_t gw_now_boottime_ns(void);
uint64_t gw_now_realtime_ns(void);

#endif
