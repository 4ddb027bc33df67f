/*
 * detections.c - rules + findings wired into the agent: loading and SIGHUP reload, matching the
 * events the domains report, and emitting `finding` and `fraud_score` events. See detections.h.
 */
#include "detections.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/agent.h"

#define ERR_LEN 1024

static struct gw_detections *det(const struct gw_agent *a)
{
	return agent_domain_state(a, "detect");
}

/* The rules/ directory of the source tree the binary was built in (build/ or build/asan/). */
static bool find_tree_rules(char *out, size_t size)
{
	char exe[PATH_MAX], probe[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return false;
	exe[n] = 0;
	for (int up = 0; up < 3; up++) {
		char *slash = strrchr(exe, '/');

		if (!slash)
			return false;
		*slash = 0;
		snprintf(probe, sizeof(probe), "%s/rules/rmm.yaml", exe);
		if (access(probe, R_OK) == 0)
			return (size_t)snprintf(out, size, "%s/rules", exe) < size;
	}
	return false;
}

static struct gw_matcher *load(const struct gw_detections *d, bool with_user, char *err,
			       size_t errlen)
{
	struct gw_rules_dir dirs[] = { { d->shipped_dir, false, false },
				       { d->user_dir, true, true } };
	struct gw_ruleset *rs;

	if (gw_rules_load(dirs, with_user ? 2 : 1, &rs, err, errlen))
		return NULL;
	return gw_matcher_build(rs);
}

static void announce(const struct gw_detections *d, const char *what)
{
	const struct gw_ruleset *rs = gw_matcher_ruleset(d->matcher);

	fprintf(stderr, "ghostwatch: rules %s: %zu rules (%zu enabled) from %zu files in %s and %s\n",
		what, rs->n, gw_ruleset_enabled_count(rs), rs->n_files, d->shipped_dir, d->user_dir);
}

int detections_init(struct gw_detections *d, const char *shipped_dir, const char *user_dir,
		    const struct gw_findings_config *cfg)
{
	char err[ERR_LEN];

	memset(d, 0, sizeof(*d));
	if (shipped_dir)
		snprintf(d->shipped_dir, sizeof(d->shipped_dir), "%s", shipped_dir);
	else if (!find_tree_rules(d->shipped_dir, sizeof(d->shipped_dir)))
		snprintf(d->shipped_dir, sizeof(d->shipped_dir), "%s", GW_RULES_SYSTEM_DIR);
	snprintf(d->user_dir, sizeof(d->user_dir), "%s", user_dir ? user_dir : GW_RULES_USER_DIR);
	d->findings = gw_findings_new(cfg);
	if (!d->findings)
		return -1;
	d->matcher = load(d, true, err, sizeof(err));
	if (d->matcher) {
		announce(d, "loaded");
		return 0;
	}
	fprintf(stderr, "ghostwatch: rules rejected: %s\n", err);
	d->matcher = load(d, false, err, sizeof(err));
	if (d->matcher) {
		fprintf(stderr, "ghostwatch: running with the shipped rules only; fix %s and send "
				"SIGHUP\n",
			d->user_dir);
		announce(d, "loaded");
		return 0;
	}
	/* Telemetry is still worth having: run with no rules, say so loudly. */
	fprintf(stderr, "ghostwatch: shipped rules rejected: %s\n", err);
	fprintf(stderr, "ghostwatch: DETECTIONS DISABLED: no rules loaded\n");
	d->matcher = gw_matcher_build(gw_ruleset_new());
	return d->matcher ? 0 : -1;
}

void detections_free(struct gw_detections *d)
{
	gw_matcher_free(d->matcher);
	gw_findings_free(d->findings);
	d->matcher = NULL;
	d->findings = NULL;
}

/* Tells the agent which files the rules came from (core/loaded_rules.h). */
static void tell_rules_files(struct gw_agent *a, const struct gw_detections *d)
{
	const struct gw_ruleset *rs = gw_matcher_ruleset(d->matcher);
	const char **files = calloc(rs->n ? rs->n : 1, sizeof(*files));

	for (size_t i = 0; files && i < rs->n; i++)
		files[i] = rs->rules[i].file;
	if (!files || loaded_rules_set(&a->rules_files, files, files ? rs->n : 0, (uint32_t)rs->n,
				       (uint32_t)gw_ruleset_enabled_count(rs)))
		fprintf(stderr, "ghostwatch: rules files: out of memory (not reported)\n");
	free(files);
}

static void detections_reload(struct gw_agent *a, void *state)
{
	(void)state;
	struct gw_detections *d = det(a);
	char err[ERR_LEN];
	struct gw_matcher *next = load(d, true, err, sizeof(err));

	d->reloads++;
	if (!next) {
		d->reload_failures++;
		fprintf(stderr, "ghostwatch: rules reload rejected: %s; the previous %zu rules stay "
				"active\n",
			err, gw_ruleset_enabled_count(gw_matcher_ruleset(d->matcher)));
		return;
	}
	gw_matcher_free(d->matcher);
	d->matcher = next;
	announce(d, "reloaded");
	tell_rules_files(a, d);
}

/* ---- events out -------------------------------------------------------------------------- */

static char *text(struct gw_agent *a, const char *s)
{
	return gw_arena_text(&a->arena, s ? s : "", GW_FINDING_TEXT_LEN);
}

static void emit_finding(const struct gw_finding *f, void *ctx)
{
	struct gw_agent *a = ctx;
	gw_event_t *ev = gw_arena_alloc(&a->arena, sizeof(*ev));
	Ghostwatch__V1__Finding *m = gw_arena_alloc(&a->arena, sizeof(*m));
	Ghostwatch__V1__Evidence **evid = gw_arena_alloc(&a->arena, f->n_evidence * sizeof(*evid) + 1);
	char **related = gw_arena_alloc(&a->arena, f->n_related * sizeof(*related) + 1);

	if (!ev || !m || !evid || !related)
		return; /* arena_full is counted and reported in stats */
	ghostwatch__v1__event__init(ev);
	ghostwatch__v1__finding__init(m);
	m->rule_id = text(a, f->rule_id);
	m->title = text(a, f->title);
	m->category = (char *)gw_category_name(f->category);
	m->vendor = text(a, f->vendor);
	m->severity = (char *)gw_severity_name(f->severity);
	m->confidence = (char *)gw_confidence_name(f->confidence);
	m->technique = text(a, f->technique);
	m->subject = text(a, f->subject);
	m->matched = text(a, f->matched);
	m->process_id = f->process_id;
	m->first_seen_ns = f->first_seen_ns;
	m->last_seen_ns = f->last_seen_ns;
	m->count = f->count;
	for (uint32_t i = 0; i < f->n_evidence; i++) {
		Ghostwatch__V1__Evidence *e = gw_arena_alloc(&a->arena, sizeof(*e));

		if (!e)
			break;
		ghostwatch__v1__evidence__init(e);
		e->event_id = f->evidence[i].event_id;
		e->time_ns = f->evidence[i].time_ns;
		e->kind = (char *)gw_evidence_kind_name(f->evidence[i].kind);
		evid[m->n_evidence++] = e;
	}
	m->evidence = evid;
	m->evidence_dropped = f->evidence_dropped;
	for (uint32_t i = 0; i < f->n_related; i++)
		related[m->n_related_rule_ids++] = text(a, f->related[i]);
	m->related_rule_ids = related;
	m->state = (char *)gw_finding_state_name(f->state);
	m->host_score = f->host_score;
	ev->kind_case = GHOSTWATCH__V1__EVENT__KIND_FINDING;
	ev->finding = m;
	agent_emit(a, ev);
}

/* The FraudScore message for s, in the arena; NULL when it is full. */
static Ghostwatch__V1__FraudScore *score_pb(struct gw_agent *a, const struct gw_score *s)
{
	static const char *const names[GW_CAT_COUNT] = {
		[GW_CAT_RMM] = "rmm",	  [GW_CAT_TUNNEL] = "tunnel",	[GW_CAT_VPN] = "vpn",
		[GW_CAT_IPKVM] = "ipkvm", [GW_CAT_JIGGLER] = "jiggler",
	};
	Ghostwatch__V1__FraudScore *m = gw_arena_alloc(&a->arena, sizeof(*m));
	Ghostwatch__V1__Counter **pts = gw_arena_alloc(&a->arena, GW_CAT_COUNT * sizeof(*pts));

	if (!m || !pts)
		return NULL;
	ghostwatch__v1__fraud_score__init(m);
	m->score = s->score;
	m->pillars = s->pillars;
	m->multiplier_pct = s->multiplier_pct;
	m->rmm_vendors = s->rmm_vendors;
	for (int c = 0; c < GW_CAT_COUNT; c++) {
		Ghostwatch__V1__Counter *k;

		if (!names[c] || !s->points[c] || !(k = gw_arena_alloc(&a->arena, sizeof(*k))))
			continue;
		ghostwatch__v1__counter__init(k);
		k->name = (char *)names[c];
		k->value = s->points[c];
		pts[m->n_points++] = k;
	}
	m->points = pts;
	return m;
}

static Ghostwatch__V1__FraudScore *fraud_score(struct gw_agent *a, void *ctx, uint64_t realtime_ns)
{
	(void)ctx;
	struct gw_score s = { 0 };

	if (det(a)->findings)
		gw_findings_score(det(a)->findings, realtime_ns, &s);
	return score_pb(a, &s);
}

static void emit_score(const struct gw_score *s, void *ctx)
{
	struct gw_agent *a = ctx;
	gw_event_t *ev = gw_arena_alloc(&a->arena, sizeof(*ev));
	Ghostwatch__V1__FraudScore *m;

	det(a)->score = s->score;
	if (!ev || !(m = score_pb(a, s)))
		return;
	ghostwatch__v1__event__init(ev);
	ev->kind_case = GHOSTWATCH__V1__EVENT__KIND_FRAUD_SCORE;
	ev->fraud_score = m;
	agent_emit(a, ev);
}

/* The executable of the process `process_id`, NULL when the table no longer knows it. */
static const char *exe_of(struct gw_agent *a, uint64_t process_id)
{
	struct proc_entry *e, *tmp;

	HASH_ITER(hh, a->procs.by_pid, e, tmp)
	{
		if (e->id == process_id)
			return e->exe;
	}
	return NULL;
}

/* Whether the config allows this match (counted); the process is resolved only for a rule the
 * list names. */
static bool allowed(struct gw_agent *a, const char *rule_id, const char *subject,
		    uint64_t process_id, enum gw_evidence_kind kind)
{
	struct gw_allow_list *l = &det(a)->allow;

	if (!l->n || !allow_list_has_rule(l, rule_id))
		return false;
	if (!allow_list_allows(l, rule_id, kind == GW_EVIDENCE_NETIF ? subject : NULL,
			       process_id ? exe_of(a, process_id) : NULL))
		return false;
	l->allowed++;
	return true;
}

static void observe(struct gw_agent *a, const struct gw_match *mt, size_t n, const char *subject,
		    uint64_t process_id, enum gw_evidence_kind kind, uint64_t event_id,
		    uint64_t time_ns)
{
	struct gw_findings_sink sink = { emit_finding, emit_score, a };

	det(a)->matches += n;
	for (size_t i = 0; i < n; i++) {
		if (allowed(a, mt[i].rule->id, subject, process_id, kind))
			continue;
		struct gw_observation ob = { .rule = mt[i].rule,  .why = mt[i].why,
					     .value = mt[i].value, .subject = subject,
					     .process_id = process_id, .kind = kind,
					     .event_id = event_id, .time_ns = time_ns };

		gw_findings_observe(det(a)->findings, &ob, &sink);
		/* every match, not only the ones that open a finding: a second process of a tool
		 * that already has its finding is that tool too (latency watches its flows) */
		agent_publish(a, &(struct gw_fact){
					 .kind = GW_FACT_FINDING, .subject = subject,
					 .process_id = process_id, .event_id = event_id,
					 .time_ns = time_ns,
					 .finding = { mt[i].rule->id,
						      gw_category_name(mt[i].rule->category),
						      mt[i].rule->vendor } });
	}
}

/* ---- events in --------------------------------------------------------------------------- */

static void match_process(struct gw_agent *a, const struct proc_entry *e,
			  enum gw_evidence_kind kind, uint64_t event_id, uint64_t time_ns,
			  bool hash_only);

static void detections_scan_running(struct gw_agent *a)
{
	struct proc_entry *e, *tmp;
	uint64_t now = gw_now_realtime_ns();

	HASH_ITER(hh, a->procs.by_pid, e, tmp)
	{
		gw_arena_reset(&a->arena);
		match_process(a, e, GW_EVIDENCE_PROCFS, 0, now, false);
	}
}

/* Keeps the matches made by the hash: the rest were seen at the exec already. */
static size_t only_hash_matches(struct gw_match *mt, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (!strcmp(mt[i].why, "exe sha256"))
			mt[k++] = mt[i];
	return k;
}

static void match_process(struct gw_agent *a, const struct proc_entry *e,
			  enum gw_evidence_kind kind, uint64_t event_id, uint64_t time_ns,
			  bool hash_only)
{
	struct gw_match mt[GW_MATCH_MAX];
	const struct proc_entry *parent = proc_table_get(&a->procs, e->ppid);
	const char **argv = NULL;
	struct gw_exec_input in = { .exe = e->exe, .comm = e->comm,
				    .sha256 = e->exe_sha256[0] ? e->exe_sha256 : NULL };
	size_t n;

	if (e->argc) {
		const char *s = e->argv;

		argv = gw_arena_alloc(&a->arena, e->argc * sizeof(*argv));
		if (argv) {
			for (uint32_t i = 0; i < e->argc; i++) {
				argv[i] = s;
				s += strlen(s) + 1;
			}
			in.argv = argv;
			in.argc = e->argc;
		}
	}
	if (parent && parent->id == e->parent_id) {
		in.parent_exe = parent->exe;
		in.parent_comm = parent->comm;
	}
	n = gw_match_exec(det(a)->matcher, &in, mt, GW_MATCH_MAX);
	if (hash_only)
		n = only_hash_matches(mt, n);
	if (n)
		observe(a, mt, n, e->exe && *e->exe ? e->exe : e->comm, e->id, kind, event_id,
			time_ns);
}

static void on_flow(struct gw_agent *a, const struct gw_flow_input *in, const char *subject,
			uint64_t process_id, uint64_t event_id, uint64_t time_ns)
{
	struct gw_match mt[GW_MATCH_MAX];
	size_t n = gw_match_flow(det(a)->matcher, in, mt, GW_MATCH_MAX);

	if (n)
		observe(a, mt, n, subject, process_id, GW_EVIDENCE_FLOW, event_id, time_ns);
}

static void on_device(struct gw_agent *a, const struct gw_device_input *in,
			  const char *subject, uint64_t event_id, uint64_t time_ns)
{
	struct gw_match mt[GW_MATCH_MAX];
	size_t n = gw_match_device(det(a)->matcher, in, mt, GW_MATCH_MAX);

	if (n)
		observe(a, mt, n, subject, 0, GW_EVIDENCE_DEVICE, event_id, time_ns);
}

static void on_netif(struct gw_agent *a, const char *ifname, uint64_t event_id,
			 uint64_t time_ns)
{
	struct gw_match mt[GW_MATCH_MAX];
	struct gw_netif_input in = { ifname };
	size_t n = gw_match_netif(det(a)->matcher, &in, mt, GW_MATCH_MAX);

	if (n)
		observe(a, mt, n, ifname, 0, GW_EVIDENCE_NETIF, event_id, time_ns);
}

static void on_behaviour(struct gw_agent *a, const struct gw_fact *f)
{
	struct gw_detections *d = det(a);
	struct gw_match mt = { behaviours_rule(&d->behaviours, f->behaviour.rule),
			       f->behaviour.why, NULL };

	if (mt.rule && d->findings)
		observe(a, &mt, 1, f->subject, f->process_id,
			behaviours_evidence_kind(f->behaviour.evidence), f->event_id, f->time_ns);
}

static void detections_tick(struct gw_agent *a, void *state, uint64_t now_boot_ns)
{
	struct gw_findings_sink sink = { emit_finding, emit_score, a };
	struct gw_detections *d = state;
	uint64_t realtime_ns = gw_now_realtime_ns();

	if (now_boot_ns - d->last_tick_ns < 1000000000ULL)
		return;
	d->last_tick_ns = now_boot_ns;

	/* Called from the tick, between records: no event is being built, the arena is free. */
	gw_arena_reset(&a->arena);
	gw_findings_tick(det(a)->findings, realtime_ns, &sink);
}

static void detections_observe(struct gw_agent *a, void *state, const struct gw_fact *f)
{
	const struct gw_detections *d = state;

	if (!d->matcher)
		return;
	switch (f->kind) {
	case GW_FACT_EXEC:
		match_process(a, f->proc, GW_EVIDENCE_EXEC, f->event_id, f->time_ns, false);
		break;
	case GW_FACT_EXE_HASH:
		match_process(a, f->proc, GW_EVIDENCE_EXEC, f->event_id, f->time_ns, true);
		break;
	case GW_FACT_FLOW:
		on_flow(a, f->flow, f->subject, f->process_id, f->event_id, f->time_ns);
		break;
	case GW_FACT_DEVICE:
		on_device(a, f->device, f->subject, f->event_id, f->time_ns);
		break;
	case GW_FACT_NETIF:
		on_netif(a, f->netif, f->event_id, f->time_ns);
		break;
	case GW_FACT_BEHAVIOUR:
		on_behaviour(a, f);
		break;
	default:
		break;
	}
}

static int detections_start(struct gw_agent *a, void *state)
{
	struct gw_detections *d = state;
	/* set at registration, before the init that clears the rest */
	struct gw_allow_list allow = d->allow;
	int err = detections_init(d, d->shipped_arg, d->user_arg, NULL);

	d->allow = allow;
	if (err) {
		fprintf(stderr, "ghostwatch: detections: out of memory\n");
		return -ENOMEM;
	}
	tell_rules_files(a, d);
	if (allow.n)
		fprintf(stderr, "ghostwatch: detections: %zu allow-list items from the config\n",
			allow.n);
	detections_scan_running(a);
	return 0;
}

static void detections_counters(const struct gw_agent *a, void *state, struct gw_stats_parts *p)
{
	struct gw_detections *d = state;
	struct gw_findings_stats fstats = { 0 };

	(void)a;
	if (d->findings)
		gw_findings_get_stats(d->findings, &fstats);
	agent_stats_add(&p->evictions, "findings", fstats.evicted);
	agent_stats_add(&p->drops, "behaviour_rule_refused", d->behaviours.refused);
	agent_stats_add(&p->events, "findings_allowed", d->allow.allowed);
}

static void detections_destroy(struct gw_agent *a, void *state)
{
	(void)a;
	detections_free(state);
	allow_list_free(&((struct gw_detections *)state)->allow);
	free(state);
}

int detections_register(struct gw_agent *a, const char *shipped_dir, const char *user_dir)
{
	struct gw_detections *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -ENOMEM;
	d->shipped_arg = shipped_dir;
	d->user_arg = user_dir;
	err = agent_register(a, &(struct gw_domain){
					.name = "detect",
					.state = d,
					.start = detections_start,
					.observe = detections_observe,
					.tick = detections_tick,
					.counters = detections_counters,
					.hangup = detections_reload,
					.destroy = detections_destroy,
				});
	if (err) {
		free(d);
		return err;
	}
	a->score = (struct gw_score_source){ .get = fraud_score };
	return 0;
}

int detections_set_allow(struct gw_agent *a, const struct gw_config_allow *items, size_t n)
{
	struct gw_detections *d = det(a);

	if (!d)
		return -ENOENT;
	return allow_list_set(&d->allow, items, n) ? -ENOMEM : 0;
}
