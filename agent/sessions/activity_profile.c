/* activity_profile.c - the rolling activity profile. See activity_profile.h. */
#include "activity_profile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define PROFILE_MAGIC "GWAP"
#define PROFILE_VERSION 1u
/* 1970-01-01 was a Thursday: day 3 of a week that starts on Monday */
#define EPOCH_WEEKDAY 3

void activity_profile_init(struct activity_profile *p, uint64_t now_hour)
{
	memset(p, 0, sizeof(*p));
	p->newest_hour = now_hour;
}

void activity_profile_advance(struct activity_profile *p, uint64_t hour)
{
	if (hour <= p->newest_hour)
		return;
	if (hour - p->newest_hour >= PROFILE_HOURS) {
		memset(p->minutes, 0, sizeof(p->minutes));
	} else {
		for (uint64_t h = p->newest_hour + 1; h <= hour; h++)
			p->minutes[h % PROFILE_HOURS] = 0;
	}
	p->newest_hour = hour;
}

static bool in_window(const struct activity_profile *p, uint64_t hour)
{
	return hour <= p->newest_hour && p->newest_hour - hour < PROFILE_HOURS;
}

bool activity_profile_count(struct activity_profile *p, uint64_t unix_minute)
{
	uint64_t hour = unix_minute / 60;

	if (unix_minute <= p->last_minute && p->last_minute)
		return false;
	activity_profile_advance(p, hour);
	if (!in_window(p, hour))
		return false;
	if (p->minutes[hour % PROFILE_HOURS] < 60)
		p->minutes[hour % PROFILE_HOURS]++;
	p->last_minute = unix_minute;
	return true;
}

uint32_t activity_profile_hour(const struct activity_profile *p, uint64_t hour)
{
	return in_window(p, hour) ? p->minutes[hour % PROFILE_HOURS] : 0;
}

uint64_t activity_profile_week(const struct activity_profile *p, uint32_t out[PROFILE_WEEK_HOURS])
{
	uint64_t total = 0;

	memset(out, 0, sizeof(uint32_t) * PROFILE_WEEK_HOURS);
	for (uint64_t i = 0; i < PROFILE_HOURS && i <= p->newest_hour; i++) {
		uint64_t h = p->newest_hour - i;
		uint32_t m = p->minutes[h % PROFILE_HOURS];

		out[((h / 24 + EPOCH_WEEKDAY) % 7) * 24 + h % 24] += m;
		total += m;
	}
	return total;
}

/* Active hours of each UTC day of the window, by day index from the oldest. */
static void hours_per_day(const struct activity_profile *p, uint32_t per_day[PROFILE_DAYS + 1],
			  uint64_t *first_day)
{
	uint64_t oldest = p->newest_hour >= PROFILE_HOURS - 1 ? p->newest_hour - PROFILE_HOURS + 1
							 : 0;

	memset(per_day, 0, sizeof(uint32_t) * (PROFILE_DAYS + 1));
	*first_day = oldest / 24;
	for (uint64_t h = oldest; h <= p->newest_hour; h++)
		if (p->minutes[h % PROFILE_HOURS])
			per_day[h / 24 - *first_day]++;
}

uint32_t activity_profile_days(const struct activity_profile *p)
{
	uint32_t per_day[PROFILE_DAYS + 1], n = 0;
	uint64_t first;

	hours_per_day(p, per_day, &first);
	for (int d = 0; d <= PROFILE_DAYS; d++)
		n += per_day[d] > 0;
	return n;
}

uint32_t activity_profile_full_days(const struct activity_profile *p, uint32_t min_hours)
{
	uint32_t per_day[PROFILE_DAYS + 1], n = 0;
	uint64_t first;

	hours_per_day(p, per_day, &first);
	for (int d = 0; d <= PROFILE_DAYS; d++)
		n += per_day[d] >= min_hours;
	return n;
}

static void put_le(uint8_t *b, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *b, int bytes)
{
	uint64_t v = 0;

	for (int i = bytes - 1; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

/* magic(4) version(4) newest_hour(8) last_minute(8) minutes(336) crc32(4), little endian */
void activity_profile_encode(const struct activity_profile *p, uint8_t *buf)
{
	memcpy(buf, PROFILE_MAGIC, 4);
	put_le(buf + 4, PROFILE_VERSION, 4);
	put_le(buf + 8, p->newest_hour, 8);
	put_le(buf + 16, p->last_minute, 8);
	memcpy(buf + 24, p->minutes, PROFILE_HOURS);
	put_le(buf + 24 + PROFILE_HOURS, crc32(0, buf, 24 + PROFILE_HOURS), 4);
}

int activity_profile_decode(struct activity_profile *p, const uint8_t *buf, size_t len,
			    uint64_t now_hour)
{
	struct activity_profile in;

	if (len != PROFILE_FILE_BYTES || memcmp(buf, PROFILE_MAGIC, 4) ||
	    get_le(buf + 4, 4) != PROFILE_VERSION ||
	    get_le(buf + 24 + PROFILE_HOURS, 4) != crc32(0, buf, 24 + PROFILE_HOURS))
		return -1;
	in.newest_hour = get_le(buf + 8, 8);
	in.last_minute = get_le(buf + 16, 8);
	memcpy(in.minutes, buf + 24, PROFILE_HOURS);
	/* a state from the future (clock set back, a forged file) would hold hours never lived */
	if (in.newest_hour > now_hour || in.last_minute / 60 > in.newest_hour)
		return -1;
	for (int i = 0; i < PROFILE_HOURS; i++)
		if (in.minutes[i] > 60)
			return -1;
	*p = in;
	activity_profile_advance(p, now_hour);
	return 0;
}

int activity_profile_save(const struct activity_profile *p, const char *path)
{
	uint8_t buf[PROFILE_FILE_BYTES];
	char tmp[4096];
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	activity_profile_encode(p, buf);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) || fsync(fd))
		err = errno ? -errno : -EIO;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int activity_profile_load(struct activity_profile *p, const char *path, uint64_t now_hour)
{
	uint8_t buf[PROFILE_FILE_BYTES + 1];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	activity_profile_init(p, now_hour);
	if (fd < 0)
		return errno == ENOENT ? 1 : -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || activity_profile_decode(p, buf, (size_t)n, now_hour)) {
		activity_profile_init(p, now_hour);
		return -1;
	}
	return 0;
}

/* Minute of the week (Monday 00:00 = 0) of UTC second t shifted by `offset` seconds. */
static uint32_t week_minute(int64_t t, int32_t offset)
{
	int64_t m = (t + offset) / 60 + EPOCH_WEEKDAY * 1440;

	m %= 10080;
	return (uint32_t)(m < 0 ? m + 10080 : m);
}

void activity_profile_judge(const struct activity_profile *p, const struct tz_file *tz,
			    const struct work_hours *w, struct hours_judgement *j)
{
	uint64_t inside60 = 0, fit60[27] = { 0 };

	memset(j, 0, sizeof(*j));
	for (uint64_t i = 0; i < PROFILE_HOURS && i <= p->newest_hour; i++) {
		uint64_t h = p->newest_hour - i;
		uint32_t m = p->minutes[h % PROFILE_HOURS];
		int64_t t = (int64_t)h * 3600;

		if (!m)
			continue;
		j->total += m;
		inside60 += (uint64_t)m *
			    work_hours_overlap(w, week_minute(t, tz_file_offset(tz, t)));
		for (int off = -12; off <= 14; off++)
			fit60[off + 12] +=
				(uint64_t)m * work_hours_overlap(w, week_minute(t, off * 3600));
	}
	j->inside = inside60 / 60;
	if (!j->total)
		return;
	j->outside_pct = (uint32_t)(100 - j->inside * 100 / j->total);
	for (int off = -12; off <= 14; off++)
		if (fit60[off + 12] > fit60[j->best_offset_h + 12] ||
		    (fit60[off + 12] == fit60[j->best_offset_h + 12] && off == 0))
			j->best_offset_h = off;
	j->best_inside_pct = (uint32_t)(fit60[j->best_offset_h + 12] / 60 * 100 / j->total);
}

void activity_profile_offset_name(int32_t offset_h, char *buf, size_t size)
{
	if (offset_h)
		snprintf(buf, size, "UTC%+d", offset_h);
	else
		snprintf(buf, size, "UTC");
}
