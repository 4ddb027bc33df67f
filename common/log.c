/* log.c - leveled stderr logging, journald-friendly. See log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void gw_log_init(struct gw_log *log, enum gw_log_level level)
{
	atomic_init(&log->level, (int)level);
	log->journal = getenv("JOURNAL_STREAM") != NULL;
}

void gw_log_set_level(struct gw_log *log, enum gw_log_level level)
{
	atomic_store(&log->level, (int)level);
}

void gw_log(struct gw_log *log, enum gw_log_level level, const char *fmt, ...)
{
	/* syslog priorities: err, warning, info, debug */
	static const int priority[] = { 3, 4, 6, 7 };
	char line[1024];
	va_list ap;
	int n;

	if (log && (int)level > atomic_load(&log->level))
		return;
	if (log && log->journal)
		n = snprintf(line, sizeof(line), "<%d>", priority[level]);
	else
		n = snprintf(line, sizeof(line), "ghostwatch: %s: ", gw_log_level_name(level));
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	/* one write per line so lines from several threads never interleave */
	fprintf(stderr, "%s\n", line);
}
