/*
 * work_hours.h - the declared working time of an employee ("09:00-18:00" on "mon-fri"): parsed
 * once, checked at config load, and asked how much of a local hour it covers. Shared by the
 * config check and the sessions domain, so both read the same text the same way.
 */
#ifndef GW_WORK_HOURS_H
#define GW_WORK_HOURS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct work_hours {
	uint16_t start_min; /* minute of the day the day's work starts, 0-1439 */
	uint16_t end_min;   /* ... and ends; below start_min: a night shift past midnight */
	uint8_t days;	    /* bit 0 Monday .. bit 6 Sunday: days a shift starts on */
};

/* "HH:MM-HH:MM" and "mon-fri" / "mon,wed,fri" / "sat-sun,wed" (a range may wrap: "fri-mon").
 * 0, or -1 with a message in err. */
int work_hours_parse(const char *hours, const char *days, struct work_hours *out, char *err,
		     size_t errlen);

/* Minutes of the local hour starting at minute-of-week `week_min` (0 = Monday 00:00) that fall in
 * working time: 0-60. */
uint32_t work_hours_overlap(const struct work_hours *w, uint32_t week_min);

/* Writes "09:00-18:00" into buf. */
void work_hours_format(const struct work_hours *w, char *buf, size_t size);

/* Whether zoneinfo/<name> names a TZif file ("America/New_York"); a name with "..", a leading
 * '/' or odd bytes never does. */
bool work_hours_zone_exists(const char *zoneinfo, const char *name);

#endif
