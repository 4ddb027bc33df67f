/*
 * findings.h - turns rule matches into findings: deduplicated per host + rule + subject per window
 * (a running AnyDesk is one finding with a count and its evidence, not one per packet), combined
 * over time (several RMM vendors, IP-KVM + RMM, RMM over a VPN, the laptop-farm profile), and
 * summed into the host fraud score. Owns the finding table, the per-vendor ledger behind the
 * combinations and the score, and the score weights (documented in rules/README.md).
 *
 * Time is whatever clock the caller stamps events with (wall-clock ns); the module never reads a
 * clock itself, so tests drive it deterministically.
 */
#ifndef GW_FINDINGS_H
#define GW_FINDINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules_load.h"

enum gw_evidence_kind {
	GW_EVIDENCE_EXEC,
	GW_EVIDENCE_FLOW,
	GW_EVIDENCE_DEVICE,
	GW_EVIDENCE_NETIF,
	GW_EVIDENCE_FINDING, /* a combination points at the findings it combines */
	GW_EVIDENCE_PROCFS,  /* a process already running at start, read from /proc (event_id 0) */
	GW_EVIDENCE_CADENCE, /* an input cadence window (InputCadence event) */
	GW_EVIDENCE_SESSION, /* a login session or the activity profile */
	GW_EVIDENCE_PLACE,   /* the host's place (Place event) */
	GW_EVIDENCE_AGENT,   /* the agent's own state: its stop, its hooks, its configuration */
	GW_EVIDENCE_COUNT,
};
const char *gw_evidence_kind_name(enum gw_evidence_kind k);

struct gw_evidence {
	uint64_t event_id;
	uint64_t time_ns;
	enum gw_evidence_kind kind;
};

#define GW_FINDING_EVIDENCE_MAX 8
#define GW_FINDING_RELATED_MAX 8
#define GW_FINDING_ID_LEN 65
#define GW_FINDING_TEXT_LEN 256

enum gw_finding_state {
	GW_FINDING_NEW,	   /* first match of this rule + subject in a window: emitted at once */
	GW_FINDING_UPDATE, /* window closed with more matches since: the totals */
};
const char *gw_finding_state_name(enum gw_finding_state s);

struct gw_finding {
	char rule_id[GW_FINDING_ID_LEN];
	char title[GW_FINDING_TEXT_LEN];
	char vendor[GW_FINDING_TEXT_LEN];
	char technique[16];
	char subject[GW_FINDING_TEXT_LEN]; /* what it is about: exe path, device, interface, ... */
	char matched[GW_FINDING_TEXT_LEN]; /* which condition: "dns suffix net.anydesk.com" */
	enum gw_rule_category category;
	enum gw_severity severity;
	enum gw_confidence confidence;
	enum gw_finding_state state;
	uint64_t process_id; /* 0 when not about a process */
	uint64_t first_seen_ns, last_seen_ns;
	uint64_t count;
	struct gw_evidence evidence[GW_FINDING_EVIDENCE_MAX]; /* the first ones of the window */
	uint32_t n_evidence;
	uint64_t evidence_dropped; /* matches beyond the evidence slots (still in count) */
	char related[GW_FINDING_RELATED_MAX][GW_FINDING_ID_LEN]; /* combinations: rules combined */
	uint32_t n_related;
	uint32_t host_score; /* the fraud score right after this finding */
};

/* Per-category share of the score. */
struct gw_score {
	uint32_t score; /* 0..100 */
	uint32_t points[GW_CAT_COUNT];
	uint32_t pillars;    /* distinct pillars present: ipkvm, rmm, vpn/tunnel, jiggler */
	uint32_t multiplier_pct;
	uint32_t rmm_vendors;
};

struct gw_findings_config {
	uint64_t dedup_window_ns; /* one finding per rule + subject per window (default 10 min) */
	uint64_t combo_window_ns; /* several RMM vendors within this (default 8 min, as Elastic's) */
	uint64_t score_window_ns; /* a finding counts for the score this long (default 24 h) */
	size_t max_findings;	  /* open findings kept (default 4096); the oldest is evicted */
};

struct gw_findings_sink {
	void (*finding)(const struct gw_finding *f, void *ctx);
	void (*score)(const struct gw_score *s, void *ctx); /* when the score changed */
	void *ctx;
};

/* One rule match with what it was about and the event that showed it. */
struct gw_observation {
	const struct gw_rule *rule;
	const char *why, *value; /* from gw_match */
	const char *subject;
	uint64_t process_id;
	enum gw_evidence_kind kind;
	uint64_t event_id;
	uint64_t time_ns;
};

struct gw_findings_stats {
	uint64_t observed, emitted, deduplicated, evicted;
};

struct gw_findings;

/* cfg may be NULL for the defaults; zero fields take their default. */
struct gw_findings *gw_findings_new(const struct gw_findings_config *cfg);
void gw_findings_free(struct gw_findings *fs);

void gw_findings_observe(struct gw_findings *fs, const struct gw_observation *ob,
			 const struct gw_findings_sink *sink);
/* Closes windows (emitting UPDATE where more matches came), ages the score. Call periodically. */
void gw_findings_tick(struct gw_findings *fs, uint64_t now_ns, const struct gw_findings_sink *sink);

void gw_findings_score(const struct gw_findings *fs, uint64_t now_ns, struct gw_score *out);
void gw_findings_get_stats(const struct gw_findings *fs, struct gw_findings_stats *out);
size_t gw_findings_open(const struct gw_findings *fs);

#endif
