/*
 * fleet.h - `ghostwatch run`: the fleet daemon. Loads the YAML config (refusing a bad one with
 * file:line: reason), runs the same BPF/event pipeline as `debug`, and adds a batch sink that cuts
 * a Batch every window (or earlier when it is full) and hands it to the forwarder (spool, then
 * NATS JetStream). Every batch carries the agent's counters (AgentStats: events, drops per
 * category, evictions, hooks) and the transport's (SpoolState: backlog, cap drops, queue drops).
 * SIGHUP reloads the config and keeps the old one when the new one is bad.
 *
 * "signals" in the config select which event kinds go into batches, by the domain number ranges
 * of Event.kind (10-19 process, 20-29 network, 30-39 devices, 50-59 input); stats always go.
 */
#ifndef GW_FLEET_H
#define GW_FLEET_H

#include <stdbool.h>

/* Runs until SIGINT/SIGTERM. check_only: validate the config (and certificate) and exit. Returns
 * the process exit status: 0, 1 runtime failure, 2 bad config. */
struct gw_agent;
struct gw_config;

/* compose registers the agent's domains with the options the config gives them (the composition
 * root's); the config outlives compose only until a reload, so domains copy what they keep. */
int fleet_run(const char *config_path, bool check_only,
	      int (*compose)(struct gw_agent *a, const struct gw_config *cfg));

#endif
