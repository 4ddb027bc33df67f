#include "clog.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const names[] = { "debug", "info", "warn", "error" };
static const int syslog_prio[] = { 7, 6, 4, 3 };

void clog_init(struct clog *lg, enum clog_level min)
{
	lg->min = min;
	lg->journald = getenv("JOURNAL_STREAM") != NULL;
}

bool clog_level_parse(const char *s, enum clog_level *out)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return true;
		}
	return false;
}

void gwc_log(const struct clog *lg, enum clog_level lvl, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (lvl < lg->min)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages quote what agents sent (Msg-Id headers, host names): one line, no terminal
	 * escapes, whatever they contain. */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (lg->journald) {
		fprintf(stderr, "<%d>%s: %s\n", syslog_prio[lvl], names[lvl], msg);
	} else {
		struct timespec ts;
		struct tm tm;
		char stamp[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %-5s %s\n", stamp, ts.tv_nsec / 1000000, names[lvl], msg);
	}
}
