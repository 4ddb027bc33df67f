/*
 * latency_state.h - the latency domain's state, shared by its two halves: latency.c (facts,
 * watches, walks, windows) and latency_report.c (the RemoteLatency event and the findings).
 */
#ifndef GW_LATENCY_STATE_H
#define GW_LATENCY_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include <uthash.h>

#include "latency.h"
#include "latency_hooks.h"
#include "latency_window.h"

#define LATENCY_TABLE_MAX 1024

/* A process that is remote control, and why. */
struct latency_proc {
	uint64_t process_id;
	uint32_t pid; /* 0 until known */
	char control[48]; /* the rule id that named it, or "ssh" */
	char vendor[64];
	char subject[256]; /* its exe, as the facts name it */
	bool injecting;	   /* wrote to a virtual input device in this window */
	UT_hash_handle hh;
};

/* A watched key (the BPF map mirrors these). */
struct latency_watch {
	struct gw_latency_key key;
	uint64_t process_id;
	uint64_t added_ns, seen_ns; /* CLOCK_BOOTTIME */
	UT_hash_handle hh;
};

struct latency_conn_id {
	uint8_t local_addr[16], remote_addr[16];
	uint16_t local_port, remote_port;
};

/* An open watched connection, and its samples in this window. */
struct latency_conn {
	struct latency_conn_id id;
	struct gw_latency_key key;
	uint64_t process_id;
	bool seen; /* by a walk in this window */
	struct latency_acc acc;
	UT_hash_handle hh;
};

enum latency_counter {
	LAT_WINDOWS,
	LAT_WALKS,
	LAT_SAMPLES,
	LAT_EVENTS,
	LAT_FAR_FINDINGS,
	LAT_NO_INPUT_FINDINGS,
	LAT_NOT_WATCHED,   /* a table or the BPF map was full: that connection is not measured */
	LAT_WALK_ERRORS,
	LAT_COUNTER_MAX,
};

struct latency_domain {
	struct latency_options opt;
	struct latency_hooks hooks;
	struct latency_proc *procs;
	struct latency_watch *watches;
	struct latency_conn *conns;
	size_t n_procs, n_watches, n_conns;
	uint64_t window_ns, walk_ns;
	uint64_t window_start_ns, next_walk_ns; /* CLOCK_BOOTTIME */
	/* input, from the cadence facts: physical in this window; virtual, when last and by whom
	 * (a cadence window's fact may land just after a latency window closed) */
	bool physical_input;
	uint64_t virtual_input_ns; /* realtime of the last virtual input fact, 0 = none */
	uint64_t injector_id;	   /* the process that wrote it, 0 if unknown */
	uint32_t session_execs;
	struct latency_presence presence;
	uint64_t counters[LAT_COUNTER_MAX];
};

/* latency_report.c */
void latency_report_conn(struct gw_agent *a, struct latency_domain *d, struct latency_conn *c,
			 const struct latency_stats *s, uint64_t start_ns, uint64_t end_ns);
void latency_report_presence(struct gw_agent *a, struct latency_domain *d, uint64_t end_ns);
/* A virtual input device was written within the last two windows before now_ns (realtime). */
bool latency_virtual_live(const struct latency_domain *d, uint64_t now_ns);

#endif
