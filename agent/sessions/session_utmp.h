/*
 * session_utmp.h - login sessions from utmp, for hosts without systemd-logind: the file's
 * USER_PROCESS records whose process is alive, re-read only when inotify says the file changed
 * (its directory is watched too, so a utmp created or replaced later is picked up). A session's
 * idleness is its terminal's last read, as `w` tells it.
 */
#ifndef GW_SESSION_UTMP_H
#define GW_SESSION_UTMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session_info.h"

#define SESSION_UTMP_MAX_BYTES (1u << 20)

struct session_utmp {
	char path[256];
	const char *base; /* file name inside its directory (points into path) */
	int inotify_fd;
	int file_wd;
	uint64_t bad_records;	 /* records that could not be a session (no user, no line) */
	uint64_t stale_records;	 /* USER_PROCESS records of a process that is gone */
	uint64_t read_errors;
};

/* Watches `path` (and its directory); 0 or -errno. */
int session_utmp_open(struct session_utmp *u, const char *path);
void session_utmp_close(struct session_utmp *u);
/* Whether the file changed since the last call (drains inotify without blocking). */
bool session_utmp_changed(struct session_utmp *u);
/* The open sessions, at most max; their leaders' names from proc_root. */
size_t session_utmp_read(struct session_utmp *u, const char *proc_root, struct session_info *out,
			 size_t max);
/* The USER_PROCESS records of a utmp image (pure); counts the unusable ones in *bad. */
size_t session_utmp_parse(const void *buf, size_t len, struct session_info *out, size_t max,
			  uint64_t *bad);
/* Seconds since the terminal `tty` ("pts/3") was last read at `now_s`, or -1 if unknown. */
int64_t session_utmp_tty_idle_s(const char *dev_root, const char *tty, int64_t now_s);

#endif
