/* sessions.c - the sessions domain: tracking sessions, reporting their changes. See sessions.h. */
#include "sessions.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sessions_internal.h"

void sessions_options_defaults(struct sessions_options *o)
{
	memset(o, 0, sizeof(*o));
	o->enabled = true;
	o->source = SESSIONS_SOURCE_AUTO;
	o->utmp_path = "/run/utmp";
	o->proc_root = "/proc";
	o->dev_root = "/dev";
	o->zoneinfo = "/usr/share/zoneinfo";
	o->off_hours_pct = 50;
	o->min_active_minutes = 600;
	o->idle_s = 300;
}

static void emit_session(struct gw_agent *a, struct tracked_session *t, const char *state,
			 uint64_t now_ns)
{
	const struct session_info *s = &t->info;
	Ghostwatch__V1__Session *m;
	uint64_t event_id = 0;
	gw_event_t *ev;

	gw_arena_reset(&a->arena);
	ev = gw_arena_alloc(&a->arena, sizeof(*ev));
	m = gw_arena_alloc(&a->arena, sizeof(*m));
	if (ev && m) {
		ghostwatch__v1__event__init(ev);
		ghostwatch__v1__session__init(m);
		m->id = (char *)s->id;
		m->user = (char *)s->user;
		m->uid = s->uid;
		m->type = (char *)t->kind.type;
		m->remote_kind = (char *)t->kind.how;
		m->remote_address = (char *)s->remote_address;
		m->remote_host = (char *)s->remote_host;
		m->tty = (char *)s->tty;
		m->display = (char *)s->display;
		m->service = (char *)s->service;
		m->seat = (char *)s->seat;
		m->leader_pid = s->leader_pid;
		m->state = (char *)state;
		m->start_ns = s->start_ns;
		m->end_ns = !strcmp(state, "end") ? now_ns : 0;
		m->locked = s->locked;
		m->idle = s->idle;
		m->source = (char *)s->source;
		ev->kind_case = GHOSTWATCH__V1__EVENT__KIND_SESSION;
		ev->session = m;
		agent_emit(a, ev);
		event_id = ev->event_id;
	}
	agent_publish(a, &(struct gw_fact){
				 .kind = GW_FACT_SESSION, .event_id = event_id, .time_ns = now_ns,
				 .subject = s->id,
				 .session = &(struct gw_session_input){
					 .id = s->id, .user = s->user, .type = t->kind.type,
					 .state = state, .remote_address = s->remote_address,
					 .uid = s->uid, .leader_pid = s->leader_pid,
					 .remote = s->remote,
					 .active = strcmp(state, "end") && !s->locked &&
						   !s->idle } });
}

static struct tracked_session *find(struct sessions_domain *d, const char *id)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->t[i].info.id, id))
			return &d->t[i];
	return NULL;
}

/* Seconds since the session's terminal was last read, which is its last input; -1 if unknown. */
static int64_t note_terminal(struct sessions_domain *d, struct tracked_session *t,
			     uint64_t now_ns)
{
	int64_t idle = session_utmp_tty_idle_s(d->opt.dev_root, t->info.tty,
					       (int64_t)(now_ns / 1000000000ull));

	if (idle >= 0)
		t->last_input_ns = now_ns - (uint64_t)idle * 1000000000ull;
	return idle;
}

/* A known session's lock and idle state moved to `s`'s: the events of each change. */
static void report_changes(struct gw_agent *a, struct sessions_domain *d,
			   struct tracked_session *t, const struct session_info *s, uint64_t now_ns)
{
	bool was_locked = t->info.locked, was_idle = t->info.idle;

	t->info.locked = s->locked;
	t->info.idle = s->idle;
	if (s->locked != was_locked) {
		if (!s->locked)
			t->unlocked_since_ns = now_ns;
		s->locked ? d->counts.locks++ : d->counts.unlocks++;
		emit_session(a, t, s->locked ? "lock" : "unlock", now_ns);
	}
	if (s->idle != was_idle) {
		s->idle ? d->counts.idles++ : d->counts.actives++;
		emit_session(a, t, s->idle ? "idle" : "active", now_ns);
	}
}

/* Compares a fresh snapshot of the open sessions with the tracked ones. */
static void apply_snapshot(struct gw_agent *a, struct sessions_domain *d, size_t n,
			   uint64_t now_ns)
{
	int64_t idle;

	d->counts.scans++;
	for (size_t i = 0; i < d->n; i++)
		d->t[i].seen = false;
	for (size_t i = 0; i < n; i++) {
		struct tracked_session *t = find(d, d->snap[i].id);

		if (t) {
			t->seen = true;
			report_changes(a, d, t, &d->snap[i], now_ns);
			continue;
		}
		if (d->n == SESSION_MAX) {
			d->counts.over_capacity++;
			continue;
		}
		t = &d->t[d->n++];
		memset(t, 0, sizeof(*t));
		t->info = d->snap[i];
		t->kind = session_classify(&t->info);
		t->seen = true;
		idle = note_terminal(d, t, now_ns);
		/* utmp has no idle hint of its own: the terminal's last read is it */
		if (!d->use_logind && idle >= 0)
			t->info.idle = idle >= (int64_t)d->opt.idle_s;
		t->unlocked_since_ns = now_ns;
		if (t->info.start_ns && t->info.start_ns < now_ns)
			t->unlocked_since_ns = t->info.start_ns;
		d->counts.starts++;
		emit_session(a, t, "start", now_ns);
	}
	for (size_t i = 0; i < d->n;) {
		if (d->t[i].seen) {
			i++;
			continue;
		}
		d->counts.ends++;
		emit_session(a, &d->t[i], "end", now_ns);
		d->t[i] = d->t[--d->n];
	}
}

static size_t read_sessions(struct sessions_domain *d)
{
	if (d->use_logind)
		return session_logind_read(&d->logind, d->opt.proc_root, d->snap, SESSION_MAX);
	return session_utmp_read(&d->utmp, d->opt.proc_root, d->snap, SESSION_MAX);
}

bool sessions_any_unlocked_seat(const struct sessions_domain *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->use_logind && !strcmp(d->t[i].kind.type, "local") && !d->t[i].info.locked &&
		    !d->t[i].info.idle)
			return true;
	return false;
}

void sessions_refresh(struct gw_agent *a, struct sessions_domain *d, uint64_t now_ns)
{
	/* lock and idle hints are only on the bus: read with the sessions once a minute */
	if (d->use_logind)
		apply_snapshot(a, d, read_sessions(d), now_ns);
	for (size_t i = 0; i < d->n; i++) {
		struct tracked_session *t = &d->t[i];
		struct session_info s = t->info;
		int64_t idle = note_terminal(d, t, now_ns);

		if (idle < 0)
			continue;
		if (idle < 60)
			d->input_this_minute = true;
		if (d->use_logind)
			continue; /* logind's own idle hint stands */
		s.idle = idle >= (int64_t)d->opt.idle_s;
		report_changes(a, d, t, &s, now_ns);
	}
}

static int sessions_start(struct gw_agent *a, void *state)
{
	struct sessions_domain *d = state;
	uint64_t now = gw_now_realtime_ns();
	int rc;

	d->use_logind = d->opt.source == SESSIONS_SOURCE_LOGIND ||
			(d->opt.source == SESSIONS_SOURCE_AUTO && session_logind_available());
	if (d->use_logind) {
		rc = session_logind_open(&d->logind);
		hooks_set_status(&a->hooks, "sessions", rc ? "off" : "logind",
				 rc ? "sd_login_monitor_new failed" : "");
	} else {
		rc = session_utmp_open(&d->utmp, d->opt.utmp_path);
		hooks_set_status(&a->hooks, "sessions", rc ? "off" : "utmp",
				 rc ? "cannot watch utmp with inotify" : "");
	}
	if (rc)
		fprintf(stderr, "ghostwatch: sessions: %s: %s\n",
			d->use_logind ? "logind" : d->opt.utmp_path, strerror(-rc));
	else
		apply_snapshot(a, d, read_sessions(d), now);
	sessions_hours_report(a, d, now);
	return 0;
}

static void sessions_tick(struct gw_agent *a, void *state, uint64_t now_boot_ns)
{
	struct sessions_domain *d = state;
	bool changed = d->use_logind ? session_logind_changed(&d->logind)
				     : session_utmp_changed(&d->utmp);
	uint64_t now = gw_now_realtime_ns();

	(void)now_boot_ns;
	if (changed)
		apply_snapshot(a, d, read_sessions(d), now);
	sessions_hours_tick(a, d, now);
}

/* An exec with a controlling terminal is someone typing a command: input in this minute. */
static void sessions_observe(struct gw_agent *a, void *state, const struct gw_fact *f)
{
	struct sessions_domain *d = state;
	const char *tty;

	(void)a;
	if (f->kind != GW_FACT_EXEC || !f->proc || !f->event_id)
		return;
	tty = f->proc->tty;
	if (!tty || !tty[0] || tty[0] == '?')
		return;
	d->input_this_minute = true;
	for (size_t i = 0; i < d->n; i++) {
		const char *st = d->t[i].info.tty, *p = tty;

		/* the process table names a terminal "pts3", utmp and logind "pts/3" */
		while (*st && *p && (*st == *p || *st == '/')) {
			if (*st == *p)
				p++;
			st++;
		}
		if (!*st && !*p)
			d->t[i].last_input_ns = f->time_ns;
	}
}

static void sessions_counters(const struct gw_agent *a, void *state, struct gw_stats_parts *p)
{
	const struct sessions_domain *d = state;
	const struct sessions_counts *c = &d->counts;

	(void)a;
	agent_stats_add(&p->events, "session_starts", c->starts);
	agent_stats_add(&p->events, "session_ends", c->ends);
	agent_stats_add(&p->events, "session_locks", c->locks);
	agent_stats_add(&p->events, "session_unlocks", c->unlocks);
	agent_stats_add(&p->events, "session_idle", c->idles);
	agent_stats_add(&p->events, "session_active", c->actives);
	agent_stats_add(&p->events, "session_scans", c->scans);
	agent_stats_add(&p->events, "activity_minutes", c->active_minutes);
	agent_stats_add(&p->events, "activity_profiles", c->profile_events);
	agent_stats_add(&p->events, "session_findings", c->findings);
	agent_stats_add(&p->drops, "sessions_over_capacity", c->over_capacity);
	agent_stats_add(&p->drops, "utmp_bad_records", d->utmp.bad_records);
	agent_stats_add(&p->drops, "utmp_stale_records", d->utmp.stale_records);
	agent_stats_add(&p->drops, "utmp_read_errors", d->utmp.read_errors);
	agent_stats_add(&p->drops, "logind_errors", d->logind.errors);
	agent_stats_add(&p->drops, "activity_state_corrupt", c->state_corrupt);
	agent_stats_add(&p->drops, "activity_state_save_errors", c->state_save_errors);
}

static void sessions_finish(struct gw_agent *a, void *state)
{
	(void)a;
	sessions_hours_save(state);
}

static void sessions_destroy(struct gw_agent *a, void *state)
{
	struct sessions_domain *d = state;

	(void)a;
	if (d->use_logind)
		session_logind_close(&d->logind);
	else
		session_utmp_close(&d->utmp);
	free(d->tz);
	free(d);
}

static Ghostwatch__V1__ActivityProfile *profile_get(struct gw_agent *a, void *ctx)
{
	return sessions_hours_pb(a, ctx);
}

static void copy_opt(char *dst, size_t size, const char **slot)
{
	snprintf(dst, size, "%s", *slot ? *slot : "");
	*slot = dst;
}

int sessions_register(struct gw_agent *a, const struct sessions_options *o)
{
	struct sessions_domain *d;
	int err;

	if (!o->enabled)
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->opt = *o;
	d->utmp.inotify_fd = -1;
	copy_opt(d->state_path, sizeof(d->state_path), &d->opt.state_path);
	copy_opt(d->employee_id, sizeof(d->employee_id), &d->opt.employee_id);
	copy_opt(d->timezone, sizeof(d->timezone), &d->opt.timezone);
	copy_opt(d->hours, sizeof(d->hours), &d->opt.hours);
	copy_opt(d->days, sizeof(d->days), &d->opt.days);
	err = sessions_hours_init(d, gw_now_realtime_ns());
	if (!err)
		err = agent_register(a, &(struct gw_domain){
						.name = "sessions",
						.state = d,
						.events_in_summary = true,
						.start = sessions_start,
						.observe = sessions_observe,
						.tick = sessions_tick,
						.counters = sessions_counters,
						.finish = sessions_finish,
						.destroy = sessions_destroy,
					});
	if (err) {
		free(d->tz);
		free(d);
		return err;
	}
	a->profile = (struct gw_profile_source){ profile_get, d };
	return 0;
}
