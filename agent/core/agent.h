/*
 * agent.h - the one agent context, passed to every module: core options, the loaded BPF hooks, the
 * process table, the output sinks, the counters, the event loop and the registered domains.
 * Nothing else in the agent is mutable global state.
 *
 * How a domain plugs in (process, network, devices, ...): the composition root (agent/app.c)
 * registers a struct gw_domain, whose state is the domain's own (core never looks inside):
 *  - the BPF records of the types it lists are dispatched to its handle_record;
 *  - it builds a Ghostwatch__V1__Event (strings and sub-messages from agent->arena) and calls
 *    agent_emit(), which stamps event_id and time (the kernel's time of the record being
 *    dispatched, else now) and hands it to every sink (debug view, batches);
 *  - what another domain needs to know (an exec for the rules, a flow's RTT, a process's exit) it
 *    publishes as a fact (facts.h) right after the event that shows it; every domain's observe
 *    sees every fact;
 *  - periodic work (flow windows, evictions) goes in its tick, called every tick_ms while records
 *    flow and every GW_IDLE_TICK_MS while the ring is empty, or sooner when its next_tick says;
 *  - its counters, drops and evictions go in AgentStats through its counters.
 * Core services for every domain: process_lookup.h (a pid's process), uevents.h (the kernel's
 * uevents per subsystem), hooks.h (loading BPF objects on the shared ring), netns_iter.h
 * (iterators made in another network namespace once the agent has dropped its privileges).
 */
#ifndef GW_AGENT_H
#define GW_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ghostwatch.pb-c.h"

#include "arena.h"
#include "facts.h"
#include "hooks.h"
#include "loaded_rules.h"
#include "netns_iter.h"
#include "proc_id.h"
#include "proc_table.h"
#include "stop_sender.h"
#include "transport.h"
#include "uevents.h"

typedef Ghostwatch__V1__Event gw_event_t;

struct gw_agent;

/* A consumer of finished events (debug printer, batch builder). It must copy what it keeps: the
 * event's memory is reused once emit returns. flush is called after each drained batch. */
struct gw_sink {
	void (*emit)(struct gw_agent *agent, const gw_event_t *ev, void *ctx);
	void (*flush)(struct gw_agent *agent, void *ctx);
	void *ctx;
};

#define GW_MAX_SINKS 4
#define GW_IDLE_TICK_MS 1000 /* the tick while the ring is empty */
#define GW_RECORD_TYPE_MAX 64

struct gw_options {
	struct gw_hook_options hooks;
	uint32_t tick_ms;	   /* ring drain and periodic work while records flow */
	uint32_t stats_interval_s; /* 0: only at start and exit */
	uint32_t duration_s;	   /* 0: until signalled */
	uint32_t proc_table_max;
	uint64_t proc_table_bytes; /* 0: entries only */
	uint32_t proc_grace_s;
	uint32_t ancestors_max;	   /* ancestry depth attached to exec events */
	bool emit_forks;	   /* forks always update the process table; events only if asked */
	bool keep_privileges;	   /* debugging: keep every capability after the start (privs.h) */
	const char *proc_root;
};

void gw_options_defaults(struct gw_options *o);

struct gw_counters {
	uint64_t records[GW_RECORD_TYPE_MAX]; /* BPF records received per type */
	uint64_t bad_records;		      /* too short, unknown type, inconsistent: dropped */
	uint64_t emitted;
};

/* Named counters a domain appends to AgentStats (and the exit summary). */
struct gw_counter_list {
	const char **names;
	uint64_t *values;
	size_t n, max;
};

void agent_stats_add(struct gw_counter_list *l, const char *name, uint64_t value);

struct gw_stats_parts {
	struct gw_counter_list events;	  /* after the records per type */
	struct gw_counter_list drops;	  /* after the ring's, bad records, arena, recursion */
	struct gw_counter_list evictions; /* after the process table's */
	struct gw_counter_list network;	  /* AgentStats.network */
};

#define GW_DOMAIN_MAX 16
#define GW_DOMAIN_RECORD_TYPES 8

/*
 * A domain as core sees it: a name, opaque state and what it does at each point of the agent's
 * life. Any op may be NULL. Domains start in registration order (after the process hooks and
 * the ring), tick, observe and report in that order.
 */
struct gw_domain {
	const char *name;
	void *state;
	uint8_t record_types[GW_DOMAIN_RECORD_TYPES]; /* GW_EV_* it handles; 0 ends the list */
	bool events_in_summary; /* its event counters also go in the exit summary line */
	/*
	 * The part of start that loads and attaches the domain's own BPF object, when it touches
	 * nothing but its own state and the core's hooks (hooks.h: status, links, the registry and
	 * the chains' knowledge, all taken under the hooks' lock). It runs on the loader thread while
	 * the domains registered after it start, since the kernel's verification is most of the
	 * start-up and a laptop has cores to spare; start runs on the loop's thread once it is done.
	 * One domain has it at a time; a second one's load runs in place, just before its start.
	 */
	int (*load)(struct gw_agent *a, void *state);
	int (*start)(struct gw_agent *a, void *state);
	/* every domain has started and the agent has dropped its privileges (core/privs.h), in
	 * registration order: a domain starts its threads here, never in start (capabilities are per
	 * thread: one made before the drop would keep them all). 0, or -errno to stop the start. */
	int (*started)(struct gw_agent *a, void *state);
	/* a BPF record of one of its types: 0, or -1 for a malformed one */
	int (*handle_record)(struct gw_agent *a, void *state, const void *data, size_t size);
	void (*observe)(struct gw_agent *a, void *state, const struct gw_fact *f);
	void (*tick)(struct gw_agent *a, void *state, uint64_t now_boot_ns);
	/* when its tick is next due (CLOCK_BOOTTIME ns), 0 for no deadline: an idle agent ticks by
	 * then instead of a second later; at or before now, it keeps the short tick */
	uint64_t (*next_tick)(const struct gw_agent *a, void *state, uint64_t now_boot_ns);
	void (*counters)(const struct gw_agent *a, void *state, struct gw_stats_parts *p);
	void (*hangup)(struct gw_agent *a, void *state);
	void (*finish)(struct gw_agent *a, void *state); /* the loop ended: last partial windows */
	void (*destroy)(struct gw_agent *a, void *state); /* frees state */
};

/* The fraud score service (fleet batches carry it), provided by whichever domain keeps it. */
struct gw_score_source {
	Ghostwatch__V1__FraudScore *(*get)(struct gw_agent *a, void *ctx, uint64_t realtime_ns);
	void *ctx;
};

/* The host's activity profile (fleet batches carry it), provided by the sessions domain. */
struct gw_profile_source {
	Ghostwatch__V1__ActivityProfile *(*get)(struct gw_agent *a, void *ctx);
	void *ctx;
};

struct gw_agent {
	struct gw_options opt;
	struct gw_boot boot;
	char cgroup2_root[256];	/* where cgroup v2 is mounted, "" if nowhere (ids from /proc stay 0) */
	struct gw_hooks hooks;
	struct proc_table procs;
	struct gw_arena arena;
	struct gw_sink sinks[GW_MAX_SINKS];
	int n_sinks;
	struct gw_domain domains[GW_DOMAIN_MAX];
	int n_domains;
	struct gw_domain *by_record[GW_RECORD_TYPE_MAX];
	struct gw_uevents uevents;
	struct gw_score_source score;
	struct gw_counters counters;
	uint64_t next_event_id;
	int64_t realtime_offset_ns; /* CLOCK_REALTIME - CLOCK_BOOTTIME at start */
	uint64_t record_time_ns;    /* wall time of the record being dispatched, 0 outside */
	uint64_t started_ns;	/* CLOCK_BOOTTIME */
	uint64_t last_stats_ns;
	uint64_t last_evict_ns;
	int epoll_fd;
	int timer_fd;
	int signal_fd;
	bool stopping;
	struct gw_stop_sender stop; /* who sent the SIGINT/SIGTERM that ended the loop */
	struct gw_loaded_rules rules_files; /* the rules files the detections run with */
	bool reader_idle; /* the ring was empty: the BPF side wakes us, the tick is GW_IDLE_TICK_MS */
	/* SIGHUP, called from the event loop (fleet mode reloads its config); NULL: ignored. */
	void (*on_hangup)(struct gw_agent *a, void *ctx);
	void *hangup_ctx;
	struct gw_profile_source profile;
	struct gw_transport_source transport; /* the fleet daemon's spool and connection */
	char privileges[160];	/* the capabilities kept after the start, as text (privs.h) */
	struct netns_iter netns_iter; /* iterators in other network namespaces (netns_iter.h) */
};

uint64_t gw_now_boottime_ns(void);
uint64_t gw_now_realtime_ns(void);

/* Sets up everything but the BPF hooks; 0 or -errno. */
int agent_init(struct gw_agent *a, const struct gw_options *opt);
/* Seeds the process table, loads the hooks, then drops the capabilities the running agent does
 * not need (unless opt.keep_privileges); prints why on failure. */
int agent_start(struct gw_agent *a);
int agent_add_sink(struct gw_agent *a, struct gw_sink sink);
/* Before agent_start: 0, or -ENOSPC / -EEXIST (a record type already taken). */
int agent_register(struct gw_agent *a, const struct gw_domain *d);
/* The state of the registered domain `name`, NULL if none. */
void *agent_domain_state(const struct gw_agent *a, const char *name);
/* Hands a fact to every domain's observe. */
void agent_publish(struct gw_agent *a, const struct gw_fact *f);
/* The host's fraud score now (NULL without a score source or when the arena is full). */
Ghostwatch__V1__FraudScore *agent_fraud_score(struct gw_agent *a, uint64_t realtime_ns);
/* The host's activity profile now (NULL without a source or when the arena is full). */
Ghostwatch__V1__ActivityProfile *agent_activity_profile(struct gw_agent *a);
/* Runs the event loop until SIGINT/SIGTERM or the configured duration. */
int agent_run(struct gw_agent *a);
void agent_destroy(struct gw_agent *a);

int agent_dispatch_record(struct gw_agent *a, const void *data, size_t size);
/* A record a domain drained itself (not from the ring): stamped and counted as the dispatcher
 * would; returns what handle returned. */
int agent_handle_own_record(struct gw_agent *a, const void *data, size_t size,
			    int (*handle)(struct gw_agent *a, void *state, const void *data,
					  size_t size),
			    void *state);
void agent_emit(struct gw_agent *a, gw_event_t *ev);
void agent_tick(struct gw_agent *a, uint64_t now_ns);

/* A stats event of the agent's health (hooks, events, drops, evictions), built in the arena. */
gw_event_t *agent_build_stats(struct gw_agent *a);
/* One human line: events per type and drops per category. */
void agent_print_summary(struct gw_agent *a, FILE *out);

#endif
