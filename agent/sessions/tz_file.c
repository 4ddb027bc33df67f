/* tz_file.c - TZif offsets. See tz_file.h; the format is RFC 8536. */
#include "tz_file.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TZIF_HEADER 44
#define TZIF_MAX_BYTES (256u << 10)

struct tzif_counts {
	uint32_t isut, isstd, leap, time, type, chars;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int read_header(const uint8_t *p, size_t len, struct tzif_counts *c)
{
	if (len < TZIF_HEADER || memcmp(p, "TZif", 4))
		return -1;
	c->isut = be32(p + 20);
	c->isstd = be32(p + 24);
	c->leap = be32(p + 28);
	c->time = be32(p + 32);
	c->type = be32(p + 36);
	c->chars = be32(p + 40);
	if (c->type == 0 || c->type > 256 || c->time > 100000 || c->leap > 10000 ||
	    c->chars > 65536 || c->isut > c->type || c->isstd > c->type)
		return -1;
	return 0;
}

/* Bytes of the data block after a header, with times of `tsize` bytes. */
static size_t block_size(const struct tzif_counts *c, size_t tsize)
{
	return c->time * tsize + c->time + c->type * 6 + c->chars + c->leap * (tsize + 4) +
	       c->isstd + c->isut;
}

int tz_file_parse(struct tz_file *tz, const uint8_t *buf, size_t len)
{
	struct tzif_counts c;
	const uint8_t *d, *idx, *types;
	size_t tsize = 4, skip;

	memset(tz, 0, sizeof(*tz));
	if (read_header(buf, len, &c))
		return -1;
	skip = TZIF_HEADER + block_size(&c, 4);
	if (skip > len)
		return -1;
	if (buf[4] >= '2') {
		/* the 64-bit block follows the 32-bit one and is the one that reaches past 2038 */
		buf += skip;
		len -= skip;
		if (read_header(buf, len, &c))
			return -1;
		tsize = 8;
	}
	if (TZIF_HEADER + block_size(&c, tsize) > len)
		return -1;
	d = buf + TZIF_HEADER;
	idx = d + c.time * tsize;
	types = idx + c.time;
	/* the first standard-time type, else type 0, rules before the first transition */
	tz->initial_offset = (int32_t)be32(types);
	for (uint32_t i = 0; i < c.type; i++)
		if (!types[i * 6 + 4]) {
			tz->initial_offset = (int32_t)be32(types + i * 6);
			break;
		}
	for (uint32_t i = 0; i < c.time; i++) {
		int64_t at = tsize == 8 ? be64(d + i * 8) : (int32_t)be32(d + i * 4);

		if (idx[i] >= c.type || (tz->n && at <= tz->at[tz->n - 1]))
			return -1;
		if (tz->n == TZ_FILE_MAX_TRANSITIONS) {
			/* keep the latest ones: the profile only asks about the last two weeks */
			memmove(tz->at, tz->at + 1, sizeof(tz->at[0]) * (tz->n - 1));
			memmove(tz->offset, tz->offset + 1, sizeof(tz->offset[0]) * (tz->n - 1));
			tz->n--;
		}
		tz->at[tz->n] = at;
		tz->offset[tz->n] = (int32_t)be32(types + idx[i] * 6);
		tz->n++;
	}
	for (uint32_t i = 0; i < tz->n; i++)
		if (tz->offset[i] < -26 * 3600 || tz->offset[i] > 26 * 3600)
			return -1;
	if (tz->initial_offset < -26 * 3600 || tz->initial_offset > 26 * 3600)
		return -1;
	return 0;
}

int tz_file_load(struct tz_file *tz, const char *zoneinfo, const char *name)
{
	char path[512];
	uint8_t *buf;
	ssize_t n;
	size_t len = 0;
	int fd, rc;

	if (!name || !*name || name[0] == '/' || strstr(name, ".."))
		return -1;
	snprintf(path, sizeof(path), "%s/%s", zoneinfo, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	buf = malloc(TZIF_MAX_BYTES);
	if (!buf) {
		close(fd);
		return -1;
	}
	while (len < TZIF_MAX_BYTES && (n = read(fd, buf + len, TZIF_MAX_BYTES - len)) > 0)
		len += (size_t)n;
	close(fd);
	rc = len < TZIF_MAX_BYTES ? tz_file_parse(tz, buf, len) : -1;
	free(buf);
	return rc;
}

int32_t tz_file_offset(const struct tz_file *tz, int64_t t)
{
	uint32_t lo = 0, hi = tz->n;

	if (!tz->n || t < tz->at[0])
		return tz->initial_offset;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (tz->at[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return tz->offset[lo];
}
