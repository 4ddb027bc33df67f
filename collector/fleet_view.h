/*
 * fleet_view.h - what the collector knows about every host in the fleet: when it was last seen,
 * which batch sequence numbers arrived (as a sorted list of ranges, so holes are gaps = data lost
 * and a second arrival of a number is a repeat), events per type, its latest fraud score, the
 * detection rules that fired, the distinct devices seen, the agent's own reported losses, and
 * batches rejected per reason. Persisted by fleet_state.h; several state files (one per collector
 * sharing the durable consumer) load into one view, their ranges unioned, so `report` shows gaps
 * and repeats across the whole deployment.
 *
 * A host whose seq restarts (wiped spool) is recognised by its newer window times (see
 * fleet_host.seq_resets). Gaps are counted between the lowest and highest seq seen for a host (a collector that starts
 * after a host has been sending for a while does not count the history it never saw). A host's
 * range list is bounded (FLEET_MAX_RANGES): past it the oldest hole is taken as final, folded
 * into gaps_folded, and the ranges merged.
 */
#ifndef GWC_FLEET_VIEW_H
#define GWC_FLEET_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <uthash.h>

#include "batch_decode.h"
#include "tamper.h"

#define FLEET_MAX_RANGES 256
#define FLEET_MAX_TYPES 32
#define FLEET_TYPE_NAME 32
#define FLEET_MAX_FINDINGS 32	/* distinct rules kept per host; more are counted */
#define FLEET_MAX_DEVICES 64	/* distinct devices kept per host; more are counted */
#define FLEET_RULE_ID 64
#define FLEET_DEVICE_ID 48

struct seq_range {
	uint64_t lo, hi;
};

struct type_count {
	char name[FLEET_TYPE_NAME];
	uint64_t count;
};

/* One detection rule that fired on a host (Finding events), latest state. */
struct finding_summary {
	char rule_id[FLEET_RULE_ID];
	char severity[16];	/* info, low, medium, high, critical */
	uint64_t count;		/* the finding's own match count, highest seen */
};

struct fleet_host {
	char id[GW_HOST_ID_MAX + 1];
	char *hostname, *machine_id, *boot_id, *agent_version, *kernel_release, *cert_identity;
	uint64_t first_seen_ns, last_seen_ns;	/* collector wall clock at arrival */
	uint64_t batches, repeats, events, rejected;
	uint64_t bad_events;	/* events of accepted batches that did not decode */
	uint64_t gaps_folded;
	uint64_t spool_dropped_batches, spool_dropped_events;	/* the agent's size-cap losses */
	/* A wiped spool (agent reinstalled) starts seq again at 1. A batch whose seq was seen but
	 * whose window starts after every window seen so far is such a restart, not a re-send:
	 * the ranges start over (their gaps kept in gaps_folded) and seq_resets counts it. */
	uint64_t max_window_end_ns;
	uint64_t seq_resets;
	bool first_range_folded;	/* ranges[0] swallowed holes (FLEET_MAX_RANGES) */
	uint64_t agent_drops;	/* sum of drop counters in the host's latest AgentStats */
	struct seq_range *ranges;
	size_t n_ranges, cap_ranges;
	struct type_count types[FLEET_MAX_TYPES];
	size_t n_types;
	/* detections: the latest fraud score, each rule that fired, each distinct device seen
	 * ("<kind>:<model fingerprint>" of device events); allocated on first use */
	bool has_score;
	uint32_t fraud_score;
	uint64_t fraud_score_ns;	/* event time of that score */
	struct finding_summary *findings;
	size_t n_findings;
	uint64_t findings_dropped;
	char (*devices)[FLEET_DEVICE_ID];
	size_t n_devices;
	uint64_t devices_dropped;
	struct fleet_tamper tamper;	/* tamper evidence across the agent's runs (tamper.h) */
	UT_hash_handle hh;
};

struct fleet_view {
	struct fleet_host *hosts;
	uint64_t batches, events, repeats, unknown_events, bad_events;
	uint64_t rejected[BATCH_VERDICT_COUNT];
};

void fleet_view_init(struct fleet_view *v);
void fleet_view_free(struct fleet_view *v);

struct fleet_host *fleet_view_host(struct fleet_view *v, const char *host_id);
bool fleet_view_seen(const struct fleet_view *v, const char *host_id, uint64_t seq);
/* Whether b is a batch already written (seen, and not a restart of the host's seq). */
bool fleet_view_is_repeat(const struct fleet_view *v, const Ghostwatch__V1__Batch *b);
/* A batch that was written out; bad_events of its events could not be decoded. */
void fleet_view_record(struct fleet_view *v, const Ghostwatch__V1__Batch *b, size_t bad_events,
		       uint64_t now_ns);
/* A batch that arrived again (already seen: not written a second time). */
void fleet_view_repeat(struct fleet_view *v, const char *host_id, uint64_t now_ns);
/* A rejected message; host_id is the subject's (authenticated) host, NULL if none. */
void fleet_view_reject(struct fleet_view *v, const char *host_id, enum batch_verdict why,
		       uint64_t now_ns);

uint64_t fleet_host_gaps(const struct fleet_host *h);
uint64_t fleet_host_first_seq(const struct fleet_host *h);
uint64_t fleet_host_last_seq(const struct fleet_host *h);
/* The most severe finding's severity, "" when there is none. */
const char *fleet_host_worst_severity(const struct fleet_host *h);

/* What a batch or a state file adds to a host (the state file's loader merges through these). */
/* Adds [lo, hi] (lo >= 1) to the ranges; returns how many of those numbers were already there. */
uint64_t fleet_host_add_range(struct fleet_host *h, uint64_t lo, uint64_t hi);
void fleet_host_add_type(struct fleet_host *h, const char *name, uint64_t n);
void fleet_host_add_finding(struct fleet_host *h, const char *rule_id, const char *severity,
			    uint64_t count);
void fleet_host_add_device(struct fleet_host *h, const char *id);
/* Keeps the newest score by event time. */
void fleet_host_set_score(struct fleet_host *h, uint32_t score, uint64_t when_ns);
/* Replaces *dst with a copy of src (NULL src: unchanged). */
void fleet_set_str(char **dst, const char *src);

/* Both sort the hosts by id. */
void fleet_view_report_table(struct fleet_view *v, FILE *out, uint64_t now_ns);
void fleet_view_report_json(struct fleet_view *v, FILE *out);

#endif
