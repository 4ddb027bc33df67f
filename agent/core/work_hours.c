/* work_hours.c - declared working time. See work_hours.h. */
#include "work_hours.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const day_names[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

static int parse_clock(const char *s, uint16_t *min)
{
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2] != ':' ||
	    !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');

	if (m > 59 || h > 24 || (h == 24 && m))
		return -1;
	*min = (uint16_t)(h * 60 + m);
	return 0;
}

static int day_index(const char *s, size_t len)
{
	for (int i = 0; i < 7; i++)
		if (len == 3 && !strncasecmp(s, day_names[i], 3))
			return i;
	return -1;
}

static int parse_days(const char *s, uint8_t *mask)
{
	*mask = 0;
	while (*s) {
		size_t len = strcspn(s, ",-");
		int a = day_index(s, len), b;

		if (a < 0)
			return -1;
		s += len;
		b = a;
		if (*s == '-') {
			s++;
			len = strcspn(s, ",-");
			b = day_index(s, len);
			if (b < 0)
				return -1;
			s += len;
		}
		for (int d = a;; d = (d + 1) % 7) {
			*mask |= (uint8_t)(1u << d);
			if (d == b)
				break;
		}
		if (*s == ',') {
			s++;
			if (!*s)
				return -1;
		} else if (*s) {
			return -1;
		}
	}
	return *mask ? 0 : -1;
}

int work_hours_parse(const char *hours, const char *days, struct work_hours *out, char *err,
		     size_t errlen)
{
	if (!hours || strlen(hours) != 11 || hours[5] != '-' ||
	    parse_clock(hours, &out->start_min) || parse_clock(hours + 6, &out->end_min) ||
	    out->start_min == out->end_min) {
		snprintf(err, errlen, "hours: expected \"HH:MM-HH:MM\" (e.g. 09:00-18:00, start "
			 "and end differ), got \"%s\"", hours ? hours : "");
		return -1;
	}
	if (out->start_min >= 24 * 60) {
		snprintf(err, errlen, "hours: a day's work cannot start at 24:00");
		return -1;
	}
	if (!days || parse_days(days, &out->days)) {
		snprintf(err, errlen, "days: expected days like mon-fri or mon,wed,fri (mon "
			 "tue wed thu fri sat sun), got \"%s\"", days ? days : "");
		return -1;
	}
	return 0;
}

/* Overlap of [a, a+60) with [b, b+len) on the week's circle of 10080 minutes. */
static uint32_t overlap(uint32_t a, uint32_t b, uint32_t len)
{
	uint32_t total = 0;

	for (int shift = -1; shift <= 1; shift++) {
		int64_t s = (int64_t)b + shift * 10080, e = s + len;
		int64_t lo = (int64_t)a > s ? (int64_t)a : s, hi = (int64_t)a + 60 < e ? a + 60 : e;

		if (hi > lo)
			total += (uint32_t)(hi - lo);
	}
	return total > 60 ? 60 : total;
}

uint32_t work_hours_overlap(const struct work_hours *w, uint32_t week_min)
{
	uint32_t len = w->end_min > w->start_min ? w->end_min - w->start_min
						 : 1440 - w->start_min + w->end_min;
	uint32_t total = 0;

	week_min %= 10080;
	for (int d = 0; d < 7; d++)
		if (w->days & (1u << d))
			total += overlap(week_min, (uint32_t)d * 1440 + w->start_min, len);
	return total > 60 ? 60 : total;
}

void work_hours_format(const struct work_hours *w, char *buf, size_t size)
{
	snprintf(buf, size, "%02u:%02u-%02u:%02u", w->start_min / 60, w->start_min % 60,
		 w->end_min / 60, w->end_min % 60);
}

bool work_hours_zone_exists(const char *zoneinfo, const char *name)
{
	char path[512], magic[4];
	int fd;
	ssize_t n;

	if (!name || !*name || name[0] == '/' || strstr(name, "..") || strlen(name) > 200)
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/_-+", *p))
			return false;
	snprintf(path, sizeof(path), "%s/%s", zoneinfo, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, magic, sizeof(magic));
	close(fd);
	return n == 4 && !memcmp(magic, "TZif", 4);
}
