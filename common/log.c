/* log.c - leveled stderr logging, journald-friendly. See log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void gw_log_init_style(struct gw_log *log, enum gw_log_level level, enum gw_log_style style)
{
	atomic_init(&log->level, (int)level);
	log->journal = getenv("JOURNAL_STREAM") != NULL;
	log->style = style;
}

void gw_log_init(struct gw_log *log, enum gw_log_level level)
{
	gw_log_init_style(log, level, GW_LOG_TAGGED);
}

void gw_log_set_level(struct gw_log *log, enum gw_log_level level)
{
	atomic_store(&log->level, (int)level);
}

const char *gw_log_level_name(enum gw_log_level level)
{
	return (unsigned)level < 4 ? level_names[level] : "?";
}

bool gw_log_level_parse(const char *s, enum gw_log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (!strcasecmp(s, level_names[i])) {
			*out = (enum gw_log_level)i;
			return true;
		}
	}
	return false;
}

/* The part of a line before the message: see log.h for the three forms. */
static int line_prefix(const struct gw_log *log, enum gw_log_level level, char *buf, size_t size)
{
	/* syslog priorities: err, warning, info, debug */
	static const int priority[] = { 3, 4, 6, 7 };
	struct timespec ts;
	struct tm tm;
	char date[32];

	if (log && log->journal)
		return snprintf(buf, size, "<%d>", priority[level]);
	if (!log || log->style == GW_LOG_TAGGED)
		return snprintf(buf, size, "ghostwatch: %s: ", gw_log_level_name(level));
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	return snprintf(buf, size, "%s.%03ldZ %-5s ", date, ts.tv_nsec / 1000000,
			gw_log_level_name(level));
}

void gw_log(const struct gw_log *log, enum gw_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (log && (int)level > atomic_load(&log->level))
		return;
	n = line_prefix(log, level, line, sizeof(line));
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	for (char *p = line + n; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	/* one write per line so lines from several threads never interleave */
	fprintf(stderr, "%s\n", line);
}
