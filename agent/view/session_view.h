/*
 * session_view.h - the compact debug lines of a login session's change and of the activity
 * profile, e.g.
 *   start ssh alice from 127.0.0.1 tty=pts/0 id=pts/0:812 via utmp
 *   1320 active min over 9 days, 71% outside mon-fri 09:00-18:00 America/New_York, fits UTC+9
 *        09:00-18:00 (100% inside)
 */
#ifndef GW_SESSION_VIEW_H
#define GW_SESSION_VIEW_H

#include <stdio.h>

#include "ghostwatch.pb-c.h"

/* Write the line bodies (no time, tag or newline). Strings are escaped for the terminal. */
void session_view_write(FILE *out, const Ghostwatch__V1__Session *s);
void session_view_write_profile(FILE *out, const Ghostwatch__V1__ActivityProfile *p);

#endif
