/*
 * session_logind.h - login sessions from systemd-logind through libsystemd: sd-login lists them
 * and its monitor's fd says when one starts or ends; sd-bus reads the lock and idle hints logind
 * keeps only on the bus (asked when sessions change, when logind signals that a session's
 * properties changed, and once a minute; not on a faster timer).
 */
#ifndef GW_SESSION_LOGIND_H
#define GW_SESSION_LOGIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session_info.h"

struct sd_login_monitor;
struct sd_bus;

struct session_logind {
	struct sd_login_monitor *mon;
	struct sd_bus *bus; /* NULL: no system bus, sessions without lock or idle hints */
	int fd;
	bool hints_changed; /* logind signalled a session's PropertiesChanged */
	/* sessions that vanished or could not be read while listed; a bus match not added */
	uint64_t errors;
};

/* Whether this host runs logind (systemd as init and logind's runtime state present). */
bool session_logind_available(void);
/* 0 or -errno. */
int session_logind_open(struct session_logind *l);
void session_logind_close(struct session_logind *l);
/* Whether sessions changed since the last call (does not block). */
bool session_logind_changed(struct session_logind *l);
/* The sessions logind lists that are not closing, at most max. */
size_t session_logind_read(struct session_logind *l, const char *proc_root,
			   struct session_info *out, size_t max);
/* Fills user, leader and start time from the text of logind's session state file (pure). */
void session_logind_parse_state(struct session_info *s, const char *text);

#endif
