/*
 * tz_file.h - the UTC offset of a declared timezone at a given time, read from its TZif file
 * (/usr/share/zoneinfo/<name>): the transitions of the file's 64-bit block, bounded and checked,
 * so a corrupt file is an error and never a read past its end. The agent's own TZ is never
 * touched: the declared zone is someone else's.
 */
#ifndef GW_TZ_FILE_H
#define GW_TZ_FILE_H

#include <stddef.h>
#include <stdint.h>

#define TZ_FILE_MAX_TRANSITIONS 2048

struct tz_file {
	uint32_t n;				 /* transitions */
	int64_t at[TZ_FILE_MAX_TRANSITIONS];	 /* UTC seconds, ascending */
	int32_t offset[TZ_FILE_MAX_TRANSITIONS]; /* seconds east of UTC from then on */
	int32_t initial_offset;			 /* before the first transition */
};

/* Parses a TZif buffer; 0 or -1 (not TZif, truncated, inconsistent). */
int tz_file_parse(struct tz_file *tz, const uint8_t *buf, size_t len);
/* Loads <zoneinfo>/<name>; 0 or -1. */
int tz_file_load(struct tz_file *tz, const char *zoneinfo, const char *name);
/* Seconds east of UTC at UTC time t. */
int32_t tz_file_offset(const struct tz_file *tz, int64_t t);

#endif
