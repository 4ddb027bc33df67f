/*
 * sessions_hours.c - the sessions domain's activity profile: a minute is active when someone was
 * at the keyboard in it (an interactive exec, a terminal read, or an unlocked, not idle seat
 * session); the profile is saved and judged each hour against the declared working time.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sessions_internal.h"

#define NS_PER_MIN 60000000000ull
#define NEVER_ENDS_HOURS 20  /* of a day's 24 */
#define NEVER_ENDS_DAYS 2
#define UNLOCKED_HOURS 24

static const struct gw_behaviour_rule rule_off_hours = {
	.id = "GW-SESSION-OFF-HOURS",
	.title = "activity outside declared hours",
	.vendor = "working hours",
	.technique = "",
	.category = "behaviour",
	.severity = "medium",
	.confidence = "medium",
	.source = "ghostwatch rules/README.md (sessions); FBI/State/Treasury DPRK IT worker "
		  "advisory (2022, 2024)",
};

static const struct gw_behaviour_rule rule_never_ends = {
	.id = "GW-SESSION-NEVER-ENDS",
	.title = "session never ends",
	.vendor = "working hours",
	.technique = "",
	.category = "behaviour",
	.severity = "medium",
	.confidence = "low",
	.source = "ghostwatch rules/README.md (sessions); FBI/State/Treasury DPRK IT worker "
		  "advisory (2022, 2024)",
};

int sessions_hours_init(struct sessions_domain *d, uint64_t now_ns)
{
	char err[256];
	uint64_t minute = now_ns / NS_PER_MIN;
	int rc;

	d->minute = minute;
	d->hour = minute / 60;
	if (d->opt.timezone[0] || d->opt.hours[0] || d->opt.days[0]) {
		/* a zone without hours or days: the usual office week */
		if (!d->hours[0])
			snprintf(d->hours, sizeof(d->hours), "09:00-18:00");
		if (!d->days[0])
			snprintf(d->days, sizeof(d->days), "mon-fri");
		if (work_hours_parse(d->hours, d->days, &d->wh, err, sizeof(err))) {
			fprintf(stderr, "ghostwatch: sessions: employee %s\n", err);
			return -EINVAL;
		}
		d->tz = calloc(1, sizeof(*d->tz));
		if (!d->tz)
			return -ENOMEM;
		/* no zone: the hours are taken as UTC */
		if (d->opt.timezone[0] && tz_file_load(d->tz, d->opt.zoneinfo, d->opt.timezone)) {
			fprintf(stderr, "ghostwatch: sessions: employee timezone \"%s\" is not a "
					"timezone under %s\n", d->opt.timezone, d->opt.zoneinfo);
			return -EINVAL;
		}
		d->declared = true;
	}
	if (!d->opt.state_path[0]) {
		activity_profile_init(&d->profile, d->hour);
		return 0;
	}
	rc = activity_profile_load(&d->profile, d->opt.state_path, d->hour);
	if (rc < 0) {
		d->counts.state_corrupt++;
		fprintf(stderr, "ghostwatch: sessions: %s: not a valid activity state: the profile "
				"starts again\n", d->opt.state_path);
	}
	return 0;
}

void sessions_hours_save(struct sessions_domain *d)
{
	int rc;

	if (!d->opt.state_path[0])
		return;
	rc = activity_profile_save(&d->profile, d->opt.state_path);
	if (rc) {
		if (d->counts.state_save_errors++ == 0)
			fprintf(stderr, "ghostwatch: sessions: cannot save %s: %s\n",
				d->opt.state_path, strerror(-rc));
	}
}

static void best_fit(const struct sessions_domain *d, const struct hours_judgement *j, char *buf,
		     size_t size)
{
	char off[16], hours[16];

	activity_profile_offset_name(j->best_offset_h, off, sizeof(off));
	work_hours_format(&d->wh, hours, sizeof(hours));
	snprintf(buf, size, "%s %s (%u%% inside)", off, hours, j->best_inside_pct);
}

Ghostwatch__V1__ActivityProfile *sessions_hours_pb(struct gw_agent *a, struct sessions_domain *d)
{
	Ghostwatch__V1__ActivityProfile *m = gw_arena_alloc(&a->arena, sizeof(*m));
	uint32_t *week = gw_arena_alloc(&a->arena, sizeof(uint32_t) * PROFILE_WEEK_HOURS);
	struct hours_judgement j;
	char fit[64];

	if (!m || !week)
		return NULL;
	ghostwatch__v1__activity_profile__init(m);
	m->total_minutes = activity_profile_week(&d->profile, week);
	m->n_minutes = PROFILE_WEEK_HOURS;
	m->minutes = week;
	m->days = activity_profile_days(&d->profile);
	m->hour_start_ns = d->profile.newest_hour * 3600ull * 1000000000ull;
	m->timezone = d->timezone;
	m->hours = d->declared ? d->hours : "";
	m->days_declared = d->declared ? d->days : "";
	m->best_fit = (char *)"";
	if (d->declared && m->total_minutes) {
		activity_profile_judge(&d->profile, d->tz, &d->wh, &j);
		m->outside_pct = j.outside_pct;
		best_fit(d, &j, fit, sizeof(fit));
		m->best_fit = gw_arena_text(&a->arena, fit, strlen(fit));
	}
	return m;
}

static uint64_t emit_profile(struct gw_agent *a, struct sessions_domain *d)
{
	gw_event_t *ev;

	gw_arena_reset(&a->arena);
	ev = gw_arena_alloc(&a->arena, sizeof(*ev));
	if (!ev)
		return 0;
	ghostwatch__v1__event__init(ev);
	ev->activity_profile = sessions_hours_pb(a, d);
	if (!ev->activity_profile)
		return 0;
	ev->kind_case = GHOSTWATCH__V1__EVENT__KIND_ACTIVITY_PROFILE;
	agent_emit(a, ev);
	d->counts.profile_events++;
	return ev->event_id;
}

static void raise_finding(struct gw_agent *a, struct sessions_domain *d,
			  const struct gw_behaviour_rule *r, const char *why, uint64_t event_id,
			  uint64_t now_ns)
{
	const char *subject = d->opt.employee_id[0] ? d->opt.employee_id : "host";

	agent_publish(a, &(struct gw_fact){ .kind = GW_FACT_BEHAVIOUR,
					   .behaviour = { r, why, "session" },
					   .subject = subject, .event_id = event_id,
					   .time_ns = now_ns });
	d->counts.findings++;
}

/* Minutes per UTC hour of the day over the window: the profile as a finding can carry it. */
static void day_profile(const struct activity_profile *p, char *buf, size_t size)
{
	uint32_t week[PROFILE_WEEK_HOURS], day[24] = { 0 };
	size_t len = 0;

	activity_profile_week(p, week);
	for (int h = 0; h < PROFILE_WEEK_HOURS; h++)
		day[h % 24] += week[h];
	buf[0] = '\0';
	for (int h = 0; h < 24 && len < size; h++)
		len += (size_t)snprintf(buf + len, size - len, "%s%u", h ? "," : "", day[h]);
}

static void judge_hours(struct gw_agent *a, struct sessions_domain *d, uint64_t event_id,
			uint64_t now_ns)
{
	struct hours_judgement j;
	char why[256], fit[64], prof[128];

	if (!d->declared)
		return;
	activity_profile_judge(&d->profile, d->tz, &d->wh, &j);
	if (j.total < d->opt.min_active_minutes || j.outside_pct <= d->opt.off_hours_pct)
		return;
	best_fit(d, &j, fit, sizeof(fit));
	day_profile(&d->profile, prof, sizeof(prof));
	snprintf(why, sizeof(why), "%u%% of %" PRIu64 " active min outside %s %s %s; fits %s; "
		 "min by UTC hour %s", j.outside_pct, j.total, d->opt.days, d->opt.hours,
		 d->opt.timezone[0] ? d->opt.timezone : "UTC", fit, prof);
	raise_finding(a, d, &rule_off_hours, why, event_id, now_ns);
}

static void judge_never_ends(struct gw_agent *a, struct sessions_domain *d, uint64_t event_id,
			     uint64_t now_ns)
{
	uint32_t days = activity_profile_full_days(&d->profile, NEVER_ENDS_HOURS);
	char why[256];

	if (days >= NEVER_ENDS_DAYS) {
		snprintf(why, sizeof(why), "activity in >= %u of 24 hours on %u days of the "
			 "last %u", NEVER_ENDS_HOURS, days, PROFILE_DAYS);
		raise_finding(a, d, &rule_never_ends, why, event_id, now_ns);
	}
	for (size_t i = 0; i < d->n; i++) {
		const struct tracked_session *t = &d->t[i];
		uint64_t unlocked = now_ns - t->unlocked_since_ns;

		if (t->info.locked || t->unlocked_since_ns > now_ns ||
		    unlocked < UNLOCKED_HOURS * 3600ull * 1000000000ull ||
		    now_ns - t->last_input_ns > 3600ull * 1000000000ull)
			continue;
		snprintf(why, sizeof(why), "%s session %s of %s unlocked for %" PRIu64 " h with "
			 "input in the last hour", t->kind.type, t->info.id, t->info.user,
			 (uint64_t)(unlocked / (3600ull * 1000000000ull)));
		raise_finding(a, d, &rule_never_ends, why, event_id, now_ns);
	}
}

void sessions_hours_report(struct gw_agent *a, struct sessions_domain *d, uint64_t now_ns)
{
	uint64_t event_id = emit_profile(a, d);

	judge_hours(a, d, event_id, now_ns);
	judge_never_ends(a, d, event_id, now_ns);
}

void sessions_hours_tick(struct gw_agent *a, struct sessions_domain *d, uint64_t now_ns)
{
	uint64_t minute = now_ns / NS_PER_MIN;

	if (minute == d->minute)
		return;
	sessions_refresh(a, d, now_ns);
	if (d->input_this_minute || sessions_any_unlocked_seat(d)) {
		if (activity_profile_count(&d->profile, d->minute))
			d->counts.active_minutes++;
	}
	d->input_this_minute = false;
	d->minute = minute;
	if (minute / 60 != d->hour) {
		d->hour = minute / 60;
		activity_profile_advance(&d->profile, d->hour);
		sessions_hours_save(d);
		sessions_hours_report(a, d, now_ns);
	}
}
