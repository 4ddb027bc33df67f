/*
 * findings.c - finding deduplication, combinations and the fraud score. See findings.h; the
 * weights and combination rules are documented in rules/README.md ("Findings and the score").
 */
#include "findings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#define NS_PER_SEC 1000000000ull
#define DEFAULT_DEDUP_WINDOW_NS (600 * NS_PER_SEC)
#define DEFAULT_COMBO_WINDOW_NS (480 * NS_PER_SEC)
#define DEFAULT_SCORE_WINDOW_NS (86400 * NS_PER_SEC)
#define DEFAULT_MAX_FINDINGS 4096
#define MAX_LEDGER 1024

/*
 * Score weights: what one category is worth on its own, at high confidence. Medium confidence
 * counts 70 %, low 30 %, info-severity rules nothing. The sum is multiplied by how many pillars of
 * the picture are present (IP-KVM, RMM, VPN/tunnel, jiggler, behaviour/exfiltration, tamper):
 * 1 -> x1, 2 -> x1.5, 3 -> x2, 4 -> x2.5, 5 or 6 -> x3, capped at 100. So any one signal stays
 * at or below 35, while IP-KVM + RMM is 82 and any four saturate the score.
 */
static const uint32_t category_weight[GW_CAT_COUNT] = {
	[GW_CAT_IPKVM] = 35,	 [GW_CAT_RMM] = 20,   [GW_CAT_VPN] = 15,    [GW_CAT_TUNNEL] = 10,
	[GW_CAT_JIGGLER] = 15,	 [GW_CAT_BEHAVIOUR] = 20, [GW_CAT_EXFIL] = 20, [GW_CAT_TAMPER] = 25,
	[GW_CAT_COMBO] = 0,
};
static const uint32_t confidence_pct[] = { [GW_CONF_LOW] = 30, [GW_CONF_MEDIUM] = 70,
					   [GW_CONF_HIGH] = 100 };
static const uint32_t pillar_multiplier_pct[] = { 100, 100, 150, 200, 250, 300, 300 };
#define RMM_EXTRA_VENDOR_POINTS 5
#define RMM_EXTRA_VENDOR_MAX 2

/* Combination rules: raised by this module, not loaded from files (see rules/README.md). */
enum combo {
	COMBO_MULTI_RMM,
	COMBO_KVM_RMM,
	COMBO_RMM_VPN,
	COMBO_FARM_PROFILE,
	COMBO_COUNT,
};
#define COMBO_SOURCE (char *)"ghostwatch rules/README.md (combinations)"
static char *combo_sources[] = { COMBO_SOURCE };
static const struct gw_rule combo_rules[COMBO_COUNT] = {
	[COMBO_MULTI_RMM] = { .id = (char *)"GW-COMBO-0001",
			      .title = (char *)"Several remote access tools on one host within minutes",
			      .vendor = (char *)"combination", .technique = (char *)"T1219",
			      .enabled = true, .category = GW_CAT_COMBO, .severity = GW_SEV_HIGH,
			      .confidence = GW_CONF_HIGH, .sources = { combo_sources, 1 } },
	[COMBO_KVM_RMM] = { .id = (char *)"GW-COMBO-0002",
			    .title = (char *)"IP-KVM hardware and a remote access tool on one host",
			    .vendor = (char *)"combination", .technique = (char *)"T1200",
			    .enabled = true, .category = GW_CAT_COMBO, .severity = GW_SEV_CRITICAL,
			    .confidence = GW_CONF_HIGH, .sources = { combo_sources, 1 } },
	[COMBO_RMM_VPN] = { .id = (char *)"GW-COMBO-0003",
			    .title = (char *)"Remote access tool and a VPN/tunnel on one host",
			    .vendor = (char *)"combination", .technique = (char *)"T1090",
			    .enabled = true, .category = GW_CAT_COMBO, .severity = GW_SEV_HIGH,
			    .confidence = GW_CONF_MEDIUM, .sources = { combo_sources, 1 } },
	[COMBO_FARM_PROFILE] = { .id = (char *)"GW-COMBO-0004",
				 .title = (char *)"Laptop-farm profile: three or more of IP-KVM, "
						  "remote access, VPN/tunnel, jiggler",
				 .vendor = (char *)"combination", .technique = (char *)"T1219",
				 .enabled = true, .category = GW_CAT_COMBO,
				 .severity = GW_SEV_CRITICAL, .confidence = GW_CONF_HIGH,
				 .sources = { combo_sources, 1 } },
};

enum pillar {
	PILLAR_IPKVM,
	PILLAR_RMM,
	PILLAR_VPN,
	PILLAR_JIGGLER,
	PILLAR_BEHAVIOUR,
	PILLAR_TAMPER,
	PILLAR_NONE
};

static enum pillar pillar_of(enum gw_rule_category c)
{
	switch (c) {
	case GW_CAT_IPKVM:
		return PILLAR_IPKVM;
	case GW_CAT_RMM:
		return PILLAR_RMM;
	case GW_CAT_VPN:
	case GW_CAT_TUNNEL:
		return PILLAR_VPN;
	case GW_CAT_JIGGLER:
		return PILLAR_JIGGLER;
	case GW_CAT_BEHAVIOUR:
	case GW_CAT_EXFIL:
		return PILLAR_BEHAVIOUR;
	case GW_CAT_TAMPER:
		return PILLAR_TAMPER;
	default:
		return PILLAR_NONE;
	}
}

/* An open finding: one rule + subject within its window. */
struct open_finding {
	UT_hash_handle hh;
	char key[GW_FINDING_ID_LEN + GW_FINDING_TEXT_LEN + 1];
	uint64_t window_start_ns;
	uint64_t count_at_emit;
	struct gw_finding f;
};

/* What this host has shown, per category and vendor: drives combinations and the score. */
struct ledger_entry {
	UT_hash_handle hh;
	char key[GW_FINDING_TEXT_LEN + 8];
	enum gw_rule_category category;
	enum gw_confidence confidence; /* highest seen */
	enum gw_severity severity;     /* highest seen */
	char vendor[GW_FINDING_TEXT_LEN];
	char rule_id[GW_FINDING_ID_LEN];
	uint64_t first_seen_ns, last_seen_ns;
	struct gw_evidence last_evidence;
};

struct gw_findings {
	struct gw_findings_config cfg;
	struct open_finding *open;
	size_t n_open;
	struct ledger_entry *ledger;
	size_t n_ledger;
	uint32_t last_score;
	struct gw_findings_stats stats;
};

const char *gw_evidence_kind_name(enum gw_evidence_kind k)
{
	static const char *const names[GW_EVIDENCE_COUNT] = {
		"exec", "flow", "device", "netif", "finding", "procfs", "cadence", "session", "place",
		"agent"
	};

	return k < GW_EVIDENCE_COUNT ? names[k] : "?";
}

const char *gw_finding_state_name(enum gw_finding_state s)
{
	return s == GW_FINDING_NEW ? "new" : "update";
}

struct gw_findings *gw_findings_new(const struct gw_findings_config *cfg)
{
	struct gw_findings *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return NULL;
	if (cfg)
		fs->cfg = *cfg;
	if (!fs->cfg.dedup_window_ns)
		fs->cfg.dedup_window_ns = DEFAULT_DEDUP_WINDOW_NS;
	if (!fs->cfg.combo_window_ns)
		fs->cfg.combo_window_ns = DEFAULT_COMBO_WINDOW_NS;
	if (!fs->cfg.score_window_ns)
		fs->cfg.score_window_ns = DEFAULT_SCORE_WINDOW_NS;
	if (!fs->cfg.max_findings)
		fs->cfg.max_findings = DEFAULT_MAX_FINDINGS;
	return fs;
}

void gw_findings_free(struct gw_findings *fs)
{
	struct open_finding *o, *otmp;
	struct ledger_entry *l, *ltmp;

	if (!fs)
		return;
	HASH_ITER(hh, fs->open, o, otmp)
	{
		HASH_DEL(fs->open, o);
		free(o);
	}
	HASH_ITER(hh, fs->ledger, l, ltmp)
	{
		HASH_DEL(fs->ledger, l);
		free(l);
	}
	free(fs);
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static bool recent(uint64_t seen, uint64_t now, uint64_t window)
{
	return seen + window >= now;
}

/* Counts toward combinations: not an info-only rule and not a low-confidence hint alone. */
static bool ledger_strong(const struct ledger_entry *l)
{
	return l->severity > GW_SEV_INFO && l->confidence >= GW_CONF_MEDIUM;
}

void gw_findings_score(const struct gw_findings *fs, uint64_t now_ns, struct gw_score *out)
{
	enum gw_confidence best[GW_CAT_COUNT];
	bool present[GW_CAT_COUNT] = { false }, pillar[PILLAR_NONE] = { false };
	const struct ledger_entry *l, *tmp;
	uint32_t sum = 0, extra;

	memset(out, 0, sizeof(*out));
	HASH_ITER(hh, fs->ledger, l, tmp)
	{
		if (!recent(l->last_seen_ns, now_ns, fs->cfg.score_window_ns) ||
		    l->severity == GW_SEV_INFO)
			continue;
		if (!present[l->category] || l->confidence > best[l->category])
			best[l->category] = l->confidence;
		present[l->category] = true;
		if (ledger_strong(l)) {
			if (pillar_of(l->category) != PILLAR_NONE)
				pillar[pillar_of(l->category)] = true;
			out->rmm_vendors += l->category == GW_CAT_RMM;
		}
	}
	for (int c = 0; c < GW_CAT_COUNT; c++)
		if (present[c])
			out->points[c] = category_weight[c] * confidence_pct[best[c]] / 100;
	extra = out->rmm_vendors > 1 ? out->rmm_vendors - 1 : 0;
	if (extra > RMM_EXTRA_VENDOR_MAX)
		extra = RMM_EXTRA_VENDOR_MAX;
	out->points[GW_CAT_RMM] += extra * RMM_EXTRA_VENDOR_POINTS;
	for (int c = 0; c < GW_CAT_COUNT; c++)
		sum += out->points[c];
	for (int p = 0; p < PILLAR_NONE; p++)
		out->pillars += pillar[p];
	out->multiplier_pct = pillar_multiplier_pct[out->pillars];
	out->score = sum * out->multiplier_pct / 100;
	if (out->score > 100)
		out->score = 100;
}

static void report_score(struct gw_findings *fs, uint64_t now_ns,
			 const struct gw_findings_sink *sink)
{
	struct gw_score s;

	gw_findings_score(fs, now_ns, &s);
	if (s.score == fs->last_score)
		return;
	fs->last_score = s.score;
	if (sink && sink->score)
		sink->score(&s, sink->ctx);
}

static void emit(struct gw_findings *fs, struct open_finding *o, enum gw_finding_state state,
		 uint64_t now_ns, const struct gw_findings_sink *sink)
{
	struct gw_score s;

	gw_findings_score(fs, now_ns, &s);
	o->f.state = state;
	o->f.host_score = s.score;
	o->count_at_emit = o->f.count;
	fs->stats.emitted++;
	if (sink && sink->finding)
		sink->finding(&o->f, sink->ctx);
}

static void close_finding(struct gw_findings *fs, struct open_finding *o, uint64_t now_ns,
			  const struct gw_findings_sink *sink)
{
	if (o->f.count > o->count_at_emit)
		emit(fs, o, GW_FINDING_UPDATE, now_ns, sink);
	HASH_DEL(fs->open, o);
	fs->n_open--;
	free(o);
}

static void evict_oldest_finding(struct gw_findings *fs, uint64_t now_ns,
				 const struct gw_findings_sink *sink)
{
	struct open_finding *o, *tmp, *oldest = NULL;

	HASH_ITER(hh, fs->open, o, tmp)
	if (!oldest || o->window_start_ns < oldest->window_start_ns)
		oldest = o;
	if (oldest) {
		close_finding(fs, oldest, now_ns, sink);
		fs->stats.evicted++;
	}
}

static void add_evidence(struct gw_finding *f, const struct gw_evidence *ev)
{
	if (f->n_evidence < GW_FINDING_EVIDENCE_MAX)
		f->evidence[f->n_evidence++] = *ev;
	else
		f->evidence_dropped++;
}

/* Finds or opens the finding for rule + subject; returns true when it is new (and emitted). */
static bool record(struct gw_findings *fs, const struct gw_rule *rule, const char *why,
		   const char *value, const char *subject, uint64_t process_id,
		   const struct gw_evidence *ev, size_t n_ev, const char (*related)[GW_FINDING_ID_LEN],
		   size_t n_related, uint64_t now_ns, const struct gw_findings_sink *sink)
{
	char key[sizeof(((struct open_finding *)0)->key)];
	struct open_finding *o;

	snprintf(key, sizeof(key), "%s\x1f%s", rule->id, subject ? subject : "");
	HASH_FIND_STR(fs->open, key, o);
	if (o && now_ns < o->window_start_ns + fs->cfg.dedup_window_ns) {
		o->f.count++;
		if (now_ns > o->f.last_seen_ns)
			o->f.last_seen_ns = now_ns;
		for (size_t i = 0; i < n_ev; i++)
			add_evidence(&o->f, &ev[i]);
		fs->stats.deduplicated++;
		return false;
	}
	if (o)
		close_finding(fs, o, now_ns, sink);
	if (fs->n_open >= fs->cfg.max_findings)
		evict_oldest_finding(fs, now_ns, sink);
	o = calloc(1, sizeof(*o));
	if (!o) {
		fs->stats.evicted++; /* lost for want of memory: counted like an eviction */
		return false;
	}
	memcpy(o->key, key, sizeof(key));
	o->window_start_ns = now_ns;
	copy_str(o->f.rule_id, sizeof(o->f.rule_id), rule->id);
	copy_str(o->f.title, sizeof(o->f.title), rule->title);
	copy_str(o->f.vendor, sizeof(o->f.vendor), rule->vendor);
	copy_str(o->f.technique, sizeof(o->f.technique), rule->technique);
	copy_str(o->f.subject, sizeof(o->f.subject), subject);
	if (why)
		snprintf(o->f.matched, sizeof(o->f.matched), "%s%s%s", why, value ? " " : "",
			 value ? value : "");
	o->f.category = rule->category;
	o->f.severity = rule->severity;
	o->f.confidence = rule->confidence;
	o->f.process_id = process_id;
	o->f.first_seen_ns = o->f.last_seen_ns = now_ns;
	o->f.count = 1;
	for (size_t i = 0; i < n_ev; i++)
		add_evidence(&o->f, &ev[i]);
	for (size_t i = 0; i < n_related && i < GW_FINDING_RELATED_MAX; i++)
		copy_str(o->f.related[o->f.n_related++], GW_FINDING_ID_LEN, related[i]);
	HASH_ADD_STR(fs->open, key, o);
	fs->n_open++;
	emit(fs, o, GW_FINDING_NEW, now_ns, sink);
	return true;
}

static void ledger_update(struct gw_findings *fs, const struct gw_observation *ob)
{
	const struct gw_rule *r = ob->rule;
	char key[sizeof(((struct ledger_entry *)0)->key)];
	struct ledger_entry *l;

	snprintf(key, sizeof(key), "%d\x1f%s", (int)r->category, r->vendor ? r->vendor : "");
	HASH_FIND_STR(fs->ledger, key, l);
	if (!l) {
		if (fs->n_ledger >= MAX_LEDGER) {
			struct ledger_entry *e, *tmp, *oldest = NULL;

			HASH_ITER(hh, fs->ledger, e, tmp)
			if (!oldest || e->last_seen_ns < oldest->last_seen_ns)
				oldest = e;
			HASH_DEL(fs->ledger, oldest);
			free(oldest);
			fs->n_ledger--;
			fs->stats.evicted++;
		}
		l = calloc(1, sizeof(*l));
		if (!l) {
			fs->stats.evicted++;
			return;
		}
		memcpy(l->key, key, sizeof(key));
		l->category = r->category;
		l->confidence = r->confidence;
		l->severity = r->severity;
		copy_str(l->vendor, sizeof(l->vendor), r->vendor);
		l->first_seen_ns = ob->time_ns;
		HASH_ADD_STR(fs->ledger, key, l);
		fs->n_ledger++;
	}
	if (r->confidence > l->confidence)
		l->confidence = r->confidence;
	if (r->severity > l->severity)
		l->severity = r->severity;
	if (ob->time_ns >= l->last_seen_ns) {
		l->last_seen_ns = ob->time_ns;
		copy_str(l->rule_id, sizeof(l->rule_id), r->id);
		l->last_evidence = (struct gw_evidence){ ob->event_id, ob->time_ns, ob->kind };
	}
}

/* The strong ledger entries of the given categories seen within window, oldest vendor first. */
struct combo_parts {
	char subject[GW_FINDING_TEXT_LEN];
	char related[GW_FINDING_RELATED_MAX][GW_FINDING_ID_LEN];
	struct gw_evidence ev[GW_FINDING_EVIDENCE_MAX];
	size_t n;
};

static int by_first_seen(const void *a, const void *b)
{
	const struct ledger_entry *x = *(const struct ledger_entry *const *)a;
	const struct ledger_entry *y = *(const struct ledger_entry *const *)b;

	return x->first_seen_ns < y->first_seen_ns ? -1 : x->first_seen_ns > y->first_seen_ns;
}

static size_t gather(struct gw_findings *fs, uint32_t category_mask, uint64_t window,
		     uint64_t now_ns, const struct ledger_entry **out, size_t max)
{
	struct ledger_entry *l, *tmp;
	size_t n = 0;

	HASH_ITER(hh, fs->ledger, l, tmp)
	if ((category_mask & (1u << l->category)) && ledger_strong(l) &&
	    recent(l->last_seen_ns, now_ns, window) && n < max)
		out[n++] = l;
	qsort(out, n, sizeof(*out), by_first_seen);
	return n;
}

static void add_part(struct combo_parts *p, const struct ledger_entry *l, bool name_in_subject)
{
	size_t len = strlen(p->subject);

	if (name_in_subject)
		snprintf(p->subject + len, sizeof(p->subject) - len, "%s%s", len ? "+" : "", l->vendor);
	if (p->n < GW_FINDING_RELATED_MAX) {
		copy_str(p->related[p->n], GW_FINDING_ID_LEN, l->rule_id);
		p->ev[p->n] = l->last_evidence;
		p->n++;
	}
}

static void combo(struct gw_findings *fs, enum combo which, struct combo_parts *p,
		  uint64_t now_ns, const struct gw_findings_sink *sink)
{
	record(fs, &combo_rules[which], "combination", NULL, p->subject, 0, p->ev, p->n,
	       (const char(*)[GW_FINDING_ID_LEN])p->related, p->n, now_ns, sink);
}

#define CAT(c) (1u << (c))

static void check_combinations(struct gw_findings *fs, uint64_t now_ns,
			       const struct gw_findings_sink *sink)
{
	const struct ledger_entry *rmm[MAX_LEDGER], *kvm[MAX_LEDGER], *vpn[MAX_LEDGER],
		*all[MAX_LEDGER];
	size_t n_rmm, n_kvm, n_vpn, n_all;
	bool pillar[PILLAR_NONE] = { false };
	size_t n_pillars = 0;

	n_rmm = gather(fs, CAT(GW_CAT_RMM), fs->cfg.combo_window_ns, now_ns, rmm, MAX_LEDGER);
	if (n_rmm >= 2) {
		struct combo_parts p = { 0 };

		for (size_t i = 0; i < n_rmm; i++)
			add_part(&p, rmm[i], true);
		combo(fs, COMBO_MULTI_RMM, &p, now_ns, sink);
	}
	n_rmm = gather(fs, CAT(GW_CAT_RMM), fs->cfg.score_window_ns, now_ns, rmm, MAX_LEDGER);
	n_kvm = gather(fs, CAT(GW_CAT_IPKVM), fs->cfg.score_window_ns, now_ns, kvm, MAX_LEDGER);
	n_vpn = gather(fs, CAT(GW_CAT_VPN) | CAT(GW_CAT_TUNNEL), fs->cfg.score_window_ns, now_ns,
		       vpn, MAX_LEDGER);
	if (n_kvm && n_rmm) {
		struct combo_parts p = { 0 };

		add_part(&p, kvm[0], true);
		add_part(&p, rmm[0], true);
		combo(fs, COMBO_KVM_RMM, &p, now_ns, sink);
	}
	if (n_rmm && n_vpn) {
		struct combo_parts p = { 0 };

		add_part(&p, rmm[0], true);
		add_part(&p, vpn[0], true);
		combo(fs, COMBO_RMM_VPN, &p, now_ns, sink);
	}
	n_all = gather(fs, CAT(GW_CAT_IPKVM) | CAT(GW_CAT_RMM) | CAT(GW_CAT_VPN) |
				   CAT(GW_CAT_TUNNEL) | CAT(GW_CAT_JIGGLER),
		       fs->cfg.score_window_ns, now_ns, all, MAX_LEDGER);
	for (size_t i = 0; i < n_all; i++) {
		enum pillar pl = pillar_of(all[i]->category);

		if (!pillar[pl]) {
			pillar[pl] = true;
			n_pillars++;
		}
	}
	if (n_pillars >= 3) {
		struct combo_parts p = { 0 };
		bool named[PILLAR_NONE] = { false };

		/* Subject names the pillars, so a fourth pillar joining makes a new finding. */
		for (size_t i = 0; i < n_all; i++) {
			enum pillar pl = pillar_of(all[i]->category);

			if (!named[pl]) {
				named[pl] = true;
				add_part(&p, all[i], false);
			}
		}
		for (int pl = 0; pl < PILLAR_NONE; pl++) {
			static const char *const names[] = { "ipkvm", "rmm", "vpn", "jiggler" };
			size_t len = strlen(p.subject);

			if (named[pl])
				snprintf(p.subject + len, sizeof(p.subject) - len, "%s%s",
					 len ? "+" : "", names[pl]);
		}
		combo(fs, COMBO_FARM_PROFILE, &p, now_ns, sink);
	}
}

void gw_findings_observe(struct gw_findings *fs, const struct gw_observation *ob,
			 const struct gw_findings_sink *sink)
{
	struct gw_evidence ev = { ob->event_id, ob->time_ns, ob->kind };

	fs->stats.observed++;
	if (ob->rule->category == GW_CAT_COMBO)
		return; /* combinations are this module's own */
	ledger_update(fs, ob);
	if (record(fs, ob->rule, ob->why, ob->value, ob->subject, ob->process_id, &ev, 1, NULL, 0,
		   ob->time_ns, sink))
		check_combinations(fs, ob->time_ns, sink);
	report_score(fs, ob->time_ns, sink);
}

void gw_findings_tick(struct gw_findings *fs, uint64_t now_ns, const struct gw_findings_sink *sink)
{
	struct open_finding *o, *otmp;
	struct ledger_entry *l, *ltmp;

	HASH_ITER(hh, fs->open, o, otmp)
	if (now_ns >= o->window_start_ns + fs->cfg.dedup_window_ns)
		close_finding(fs, o, now_ns, sink);
	HASH_ITER(hh, fs->ledger, l, ltmp)
	{
		if (!recent(l->last_seen_ns, now_ns, fs->cfg.score_window_ns)) {
			HASH_DEL(fs->ledger, l);
			free(l);
			fs->n_ledger--;
		}
	}
	report_score(fs, now_ns, sink);
}

void gw_findings_get_stats(const struct gw_findings *fs, struct gw_findings_stats *out)
{
	*out = fs->stats;
}

size_t gw_findings_open(const struct gw_findings *fs)
{
	return fs->n_open;
}
