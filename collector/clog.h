/*
 * clog.h - the collector's stderr log with levels. Under systemd (JOURNAL_STREAM set) lines carry
 * the <N> syslog priority prefix journald understands; on a terminal or a file they carry a UTC
 * time stamp and the level name instead.
 */
#ifndef GWC_CLOG_H
#define GWC_CLOG_H

#include <stdbool.h>

enum clog_level { CLOG_DEBUG, CLOG_INFO, CLOG_WARN, CLOG_ERROR };

struct clog {
	enum clog_level min;
	bool journald;
};

void clog_init(struct clog *lg, enum clog_level min);
/* "debug", "info", "warn", "error"; false if unknown. */
bool clog_level_parse(const char *s, enum clog_level *out);
void gwc_log(const struct clog *lg, enum clog_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
