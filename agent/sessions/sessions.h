/*
 * sessions.h - the sessions domain: who is logged in, how (local seat, ssh, remote desktop,
 * console) and from where, each start, end, lock, unlock and idle spell as a Session event and a
 * GW_FACT_SESSION fact; and the host's activity profile against the declared working hours, with
 * the findings GW-SESSION-OFF-HOURS and GW-SESSION-NEVER-ENDS.
 *
 * Sessions come from systemd-logind (sd-login) where it runs, else from utmp watched by inotify.
 * Neither is polled: the tick asks the source's fd without blocking, and terminals and lock hints
 * are read once a minute, the resolution of the profile.
 */
#ifndef GW_SESSIONS_H
#define GW_SESSIONS_H

#include <stdbool.h>
#include <stdint.h>

struct gw_agent;

enum sessions_source { SESSIONS_SOURCE_AUTO, SESSIONS_SOURCE_LOGIND, SESSIONS_SOURCE_UTMP };

struct sessions_options {
	bool enabled;
	enum sessions_source source;
	const char *utmp_path;	/* "/run/utmp" */
	const char *proc_root;	/* "/proc" */
	const char *dev_root;	/* "/dev": terminals' last read */
	const char *zoneinfo;	/* "/usr/share/zoneinfo" */
	const char *state_path; /* the profile's state file; NULL or "": kept in memory only */
	/* the declared employee (config employee:); NULL or "": not declared, no hours finding */
	const char *employee_id;
	const char *timezone;
	const char *hours;
	const char *days;
	uint32_t off_hours_pct;	     /* raise above this share outside (default 50) */
	uint32_t min_active_minutes; /* ... and the window holds at least this much (default 600) */
	uint32_t idle_s;	     /* a terminal unread this long is idle (default 300) */
};

void sessions_options_defaults(struct sessions_options *o);
/* Copies what it keeps of `o`; 0 or -errno (-EINVAL: declared hours, days or zone unusable). */
int sessions_register(struct gw_agent *a, const struct sessions_options *o);

#endif
