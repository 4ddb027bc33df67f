/*
 * agent.h - the one agent context, passed to every module: options, the loaded BPF hooks, the
 * tables, the output sinks and the counters. Nothing else in the agent is mutable global state.
 *
 * How a domain plugs in (process, network, devices, ...):
 *  - its BPF records are dispatched by type in agent_dispatch_record() (agent.c);
 *  - it builds a Ghostwatch__V1__Event (strings and sub-messages from agent->arena) and calls
 *    agent_emit(), which stamps event_id and time (the kernel's time of the record being
 *    dispatched, else now) and hands it to every sink (debug view, batches);
 *  - to be matched against the rules, it calls detections_on_exec/flow/device/netif()
 *    (detections.h) right after agent_emit(), with the emitted event's id and time as evidence;
 *  - periodic work (flow windows, evictions) goes in agent_tick(), called every tick_ms while
 *    records flow and every GW_IDLE_TICK_MS while the ring is empty;
 *  - its drops and evictions are reported by agent_fill_stats().
 */
#ifndef GW_AGENT_H
#define GW_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ghostwatch.pb-c.h"

#include "arena.h"
#include "devices/device_hooks.h"
#include "detect/detections.h"
#include "hooks.h"
#include "net/network.h"
#include "proc_id.h"
#include "proc_table.h"

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
	uint32_t tick_ms;	   /* ring drain and periodic work */
	uint32_t stats_interval_s; /* 0: only at start and exit */
	uint32_t duration_s;	   /* 0: until signalled */
	uint32_t proc_table_max;
	uint32_t proc_grace_s;
	uint32_t ancestors_max;	   /* ancestry depth attached to exec events */
	bool emit_forks;	   /* forks always update the process table; events only if asked */
	const char *proc_root;
	struct gw_net_options net;
	enum gw_device_mode device_mode; /* devices: auto (fentry, kprobe, uevent) or forced */
	const char *sys_root;		 /* sysfs, for device inventory and enrichment */
	uint32_t cadence_window_s;	 /* input cadence window; 0: cadence off */
	uint32_t cadence_idle_ms;	 /* quiet before a pointer burst for it to start "after idle" */
	int cadence_hooks;		 /* enum cadence_hook_mode: auto, fentry, kprobe */
	const char *rules_dir;	    /* shipped rules; NULL = next to the build tree or system dir */
	const char *rules_user_dir; /* local rules; NULL = /etc/ghostwatch/rules.d */
};

void gw_options_defaults(struct gw_options *o);

struct gw_counters {
	uint64_t records[GW_RECORD_TYPE_MAX]; /* BPF records received per type */
	uint64_t bad_records;		      /* too short, unknown type, inconsistent: dropped */
	uint64_t emitted;
};

struct gw_devices;
struct cadence_domain;

struct gw_agent {
	struct gw_options opt;
	struct gw_boot boot;
	char cgroup2_root[256];	/* where cgroup v2 is mounted, "" if nowhere (ids from /proc stay 0) */
	struct gw_hooks hooks;
	struct proc_table procs;
	struct gw_devices *devices;	/* device_events.h */
	struct cadence_domain *cadence;	/* cadence.h */
	struct gw_arena arena;
	struct gw_sink sinks[GW_MAX_SINKS];
	int n_sinks;
	struct gw_counters counters;
	struct gw_net net;
	struct gw_detections detections;
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
	bool reader_idle; /* the ring was empty: the BPF side wakes us, the tick is GW_IDLE_TICK_MS */
	/* SIGHUP, called from the event loop (fleet mode reloads its config); NULL: ignored. */
	void (*on_hangup)(struct gw_agent *a, void *ctx);
	void *hangup_ctx;
};

uint64_t gw_now_boottime_ns(void);
uint64_t gw_now_realtime_ns(void);

/* Sets up everything but the BPF hooks; 0 or -errno. */
int agent_init(struct gw_agent *a, const struct gw_options *opt);
/* Seeds the process table, loads the hooks; prints why on failure. */
int agent_start(struct gw_agent *a);
int agent_add_sink(struct gw_agent *a, struct gw_sink sink);
/* Runs the event loop until SIGINT/SIGTERM or the configured duration. */
int agent_run(struct gw_agent *a);
void agent_destroy(struct gw_agent *a);

int agent_dispatch_record(struct gw_agent *a, const void *data, size_t size);
void agent_emit(struct gw_agent *a, gw_event_t *ev);
void agent_tick(struct gw_agent *a, uint64_t now_ns);

/* A stats event of the agent's health (hooks, events, drops, evictions), built in the arena. */
gw_event_t *agent_build_stats(struct gw_agent *a);
/* One human line: events per type and drops per category. */
void agent_print_summary(struct gw_agent *a, FILE *out);

#endif
