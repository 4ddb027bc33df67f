/*
 * activity_profile.h - the host's activity over a rolling 14 days: active minutes per UTC hour
 * (a ring of 336 hours, counts only), its state file, and the judgements the sessions findings
 * need: how much of it falls outside declared working hours in the declared timezone (and which
 * whole-hour UTC offset would fit it best), and on how many days it ran around the clock.
 *
 * Pure: every function takes the time it works at, so a test replays a profile through the same
 * code the agent runs. The state file is fixed-size and checked whole (magic, version, CRC-32,
 * bounds, not from the future) before anything in it is used.
 */
#ifndef GW_ACTIVITY_PROFILE_H
#define GW_ACTIVITY_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/work_hours.h"
#include "tz_file.h"

#define PROFILE_DAYS 14
#define PROFILE_HOURS (PROFILE_DAYS * 24)
#define PROFILE_WEEK_HOURS 168
#define PROFILE_FILE_BYTES 364

struct activity_profile {
	uint64_t newest_hour;		/* UTC hours since the epoch of the newest bucket */
	uint64_t last_minute;		/* newest minute counted, minutes since the epoch */
	uint8_t minutes[PROFILE_HOURS]; /* active minutes of UTC hour h at [h % PROFILE_HOURS] */
};

void activity_profile_init(struct activity_profile *p, uint64_t now_hour);
/* Makes `hour` the newest, clearing the hours that left the window (a clock that went back
 * leaves the window as it is). */
void activity_profile_advance(struct activity_profile *p, uint64_t hour);
/* Counts minute `unix_minute` as active, once; false if it was counted or is out of the window. */
bool activity_profile_count(struct activity_profile *p, uint64_t unix_minute);
/* Active minutes of UTC hour `hour`, 0 outside the window. */
uint32_t activity_profile_hour(const struct activity_profile *p, uint64_t hour);
/* Minutes per UTC hour of the week, Monday 00:00 UTC first; returns the total. */
uint64_t activity_profile_week(const struct activity_profile *p, uint32_t out[PROFILE_WEEK_HOURS]);
/* UTC days of the window with any activity. */
uint32_t activity_profile_days(const struct activity_profile *p);
/* UTC days of the window with activity in at least `min_hours` of their 24 hours. */
uint32_t activity_profile_full_days(const struct activity_profile *p, uint32_t min_hours);

/* Serialises into buf (PROFILE_FILE_BYTES). */
void activity_profile_encode(const struct activity_profile *p, uint8_t *buf);
/* 0, or -1 if buf is not a valid state of a window ending at or before now_hour. */
int activity_profile_decode(struct activity_profile *p, const uint8_t *buf, size_t len,
			    uint64_t now_hour);
/* Writes atomically (temporary file, then rename); 0 or -errno. */
int activity_profile_save(const struct activity_profile *p, const char *path);
/* 0 loaded, 1 no file (p is fresh), -1 unreadable or corrupt (p is fresh). */
int activity_profile_load(struct activity_profile *p, const char *path, uint64_t now_hour);

struct hours_judgement {
	uint64_t total;		  /* active minutes in the window */
	uint64_t inside;	  /* ... inside the declared working time, in the declared zone */
	uint32_t outside_pct;
	int32_t best_offset_h;	  /* the whole-hour UTC offset whose hours hold most of it */
	uint32_t best_inside_pct;
};

void activity_profile_judge(const struct activity_profile *p, const struct tz_file *tz,
			    const struct work_hours *w, struct hours_judgement *j);

/* "UTC+9", "UTC-5", "UTC" */
void activity_profile_offset_name(int32_t offset_h, char *buf, size_t size);

#endif
