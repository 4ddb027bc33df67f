/*
 * sessions_internal.h - the sessions domain's state, shared by its session tracking (sessions.c)
 * and its activity profile and findings (sessions_hours.c).
 */
#ifndef GW_SESSIONS_INTERNAL_H
#define GW_SESSIONS_INTERNAL_H

#include "activity_profile.h"
#include "core/agent.h"
#include "session_info.h"
#include "session_logind.h"
#include "session_utmp.h"
#include "sessions.h"

struct tracked_session {
	struct session_info info;
	struct session_kind kind;
	bool seen;		    /* in the latest snapshot */
	uint64_t unlocked_since_ns; /* wall clock: start or last unlock */
	uint64_t last_input_ns;	    /* wall clock: terminal read or interactive exec */
};

struct sessions_counts {
	uint64_t starts, ends, locks, unlocks, idles, actives;
	uint64_t scans, over_capacity;
	uint64_t active_minutes, profile_events, findings;
	uint64_t state_corrupt, state_save_errors;
};

struct sessions_domain {
	struct sessions_options opt;
	char state_path[512];
	char employee_id[72], timezone[128], hours[16], days[64];
	bool use_logind;
	struct session_logind logind;
	struct session_utmp utmp;
	struct tracked_session t[SESSION_MAX];
	size_t n;
	struct session_info snap[SESSION_MAX];
	/* the activity profile and what it is judged against */
	struct activity_profile profile;
	bool declared;
	struct work_hours wh;
	struct tz_file *tz;
	uint64_t minute;	/* the minute being watched, minutes since the epoch */
	bool input_this_minute; /* an interactive exec or a terminal read in it */
	uint64_t hour;		/* the hour the profile was last judged in */
	struct sessions_counts counts;
};

/* sessions_hours.c */
int sessions_hours_init(struct sessions_domain *d, uint64_t now_ns);
/* The minute and hour boundaries since the last call: counts a minute, judges an hour. */
void sessions_hours_tick(struct gw_agent *a, struct sessions_domain *d, uint64_t now_ns);
/* Emits the profile (ActivityProfile) and judges it; at start and every hour. */
void sessions_hours_report(struct gw_agent *a, struct sessions_domain *d, uint64_t now_ns);
void sessions_hours_save(struct sessions_domain *d);
/* The profile as a message in the arena, NULL if it is full. */
Ghostwatch__V1__ActivityProfile *sessions_hours_pb(struct gw_agent *a, struct sessions_domain *d);

/* sessions.c: whether any open session counts as someone at the keyboard without input */
bool sessions_any_unlocked_seat(const struct sessions_domain *d);
/* Re-reads the sessions' idle and lock state (once a minute); marks input seen on terminals. */
void sessions_refresh(struct gw_agent *a, struct sessions_domain *d, uint64_t now_ns);

#endif
