/*
 * fleet_view.h - what the collector knows about every host in the fleet: when it was last seen,
 * which batch sequence numbers arrived (as a sorted list of ranges, so holes are gaps = data lost
 * and a second arrival of a number is a repeat), events per type, its latest fraud score, the
 * detection rules that fired, the distinct devices seen, the agent's own reported losses, and
 * batches rejected per reason. Kept in the fleet's key-value bucket (fleet_kv.h), one value per
 * host, which every collector updates before it acks; a collector's own view is its cache of it.
 *
 * A host whose seq restarts (wiped spool) is recognised by its newer window times (see
 * fleet_host.seq_resets). Gaps are counted between the lowest and highest seq seen for a host (a
 * collector that starts after a host has been sending for a while does not count the history it
 * never saw). A host's range list is bounded (FLEET_MAX_RANGES): past it the oldest hole is taken
 * as final, folded into gaps_folded, and the ranges merged.
 *
 * fleet_host_* change one host only; the view's totals are the sum of its hosts plus what no host
 * owns, kept by fleet_view_account() (the fleet_view_record/repeat/reject helpers do both).
 */
#ifndef GWC_FLEET_VIEW_H
#define GWC_FLEET_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <uthash.h>

#include "batch_decode.h"
#include "fleet_place.h"
#include "tamper.h"

#define FLEET_MAX_RANGES 256
#define FLEET_MAX_TYPES 32
#define FLEET_TYPE_NAME 32
#define FLEET_MAX_FINDINGS 32	/* distinct rules kept per host; more are counted */
#define FLEET_MAX_DEVICES 64	/* distinct devices kept per host; more are counted */
#define FLEET_RULE_ID 64
#define FLEET_MATCHED 320	/* a finding's evidence kept for the report, cut short */
#define FLEET_DEVICE_ID 48
#define FLEET_MAX_RAISED 8	/* fleet findings whose last raise is remembered per host */
#define FLEET_SIGNATURE 256
#define FLEET_HOURS_OF_WEEK 168

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
	char matched[FLEET_MATCHED];	/* its latest evidence, "" if none */
	char category[16];		/* ipkvm, rmm, ..., "" if not said */
};

/* A fleet finding raised on a host, and what it said, so it is raised again only when that
 * changes (a new host in the farm, a new place). */
struct fleet_raised {
	char rule_id[FLEET_RULE_ID];
	char signature[FLEET_SIGNATURE];
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
	uint64_t rejected_by[BATCH_VERDICT_COUNT];
	char *employee_id, *employee_timezone;
	struct fleet_place place;
	struct fleet_place_history places_seen;
	struct fleet_raised raised[FLEET_MAX_RAISED];
	size_t n_raised;
	/* the agent's hour-of-week activity profile (active minutes per hour, UTC, Monday 00:00
	 * first), read from the batch's "activity_profile" when its schema has one */
	/* its place, employee or findings changed since the fleet detections last looked (kept in
	 * this collector's cache only) */
	bool detect_due;
	bool has_activity;
	uint32_t activity[FLEET_HOURS_OF_WEEK];
	uint64_t kv_rev;	/* revision of the bucket's value this host was read from or written as */
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
/* Drops h from the view (a cached host found out of date). */
void fleet_view_drop(struct fleet_view *v, struct fleet_host *h);

/* What a host adds to the view's totals (batches, events, repeats, bad and unknown events,
 * rejections): adds now's and subtracts before's (NULL: nothing), so a host updated from a
 * value read back from the bucket counts only what changed since. */
struct fleet_counts {
	uint64_t batches, events, repeats, bad_events, unknown_events;
	uint64_t rejected[BATCH_VERDICT_COUNT];
};
void fleet_host_counts(const struct fleet_host *h, struct fleet_counts *out);
void fleet_view_account(struct fleet_view *v, const struct fleet_counts *now,
			const struct fleet_counts *before);

/* One host's side of a batch written out, of one that arrived again, of a rejected one. */
void fleet_host_record(struct fleet_host *h, const Ghostwatch__V1__Batch *b, size_t bad_events,
		       uint64_t now_ns);
void fleet_host_repeat(struct fleet_host *h, uint64_t now_ns);
void fleet_host_reject(struct fleet_host *h, enum batch_verdict why, uint64_t now_ns);

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
/* The agent's latest fraud score plus what the collector's own (GW-FLEET-*) findings add, at
 * most 100: what the report ranks hosts by. */
uint32_t fleet_host_score(const struct fleet_host *h);
/* The signature a fleet finding was last raised with on h ("" if never), and setting it. */
const char *fleet_host_raised(const struct fleet_host *h, const char *rule_id);
void fleet_host_set_raised(struct fleet_host *h, const char *rule_id, const char *signature);

/* What a batch or a state file adds to a host (the state file's loader merges through these). */
/* Adds [lo, hi] (lo >= 1) to the ranges; returns how many of those numbers were already there. */
uint64_t fleet_host_add_range(struct fleet_host *h, uint64_t lo, uint64_t hi);
void fleet_host_add_type(struct fleet_host *h, const char *name, uint64_t n);
void fleet_host_add_finding(struct fleet_host *h, const char *rule_id, const char *severity,
			    uint64_t count);
void fleet_host_add_device(struct fleet_host *h, const char *id);
/* Keeps the evidence and category of a rule's latest finding on h (a rule h has; NULL or ""
 * leaves each as it was). */
void fleet_host_set_matched(struct fleet_host *h, const char *rule_id, const char *matched,
			    const char *category);
/* Keeps the newest score by event time. */
void fleet_host_set_score(struct fleet_host *h, uint32_t score, uint64_t when_ns);
/* Replaces *dst with a copy of src (NULL src: unchanged). */
void fleet_set_str(char **dst, const char *src);

#endif
