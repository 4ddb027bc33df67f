/*
 * log.h - leveled logging to stderr for the agent's daemon mode and the collector. Under systemd
 * (JOURNAL_STREAM set) each line starts with a sd-daemon "<N>" priority prefix, which journald turns
 * into the entry's PRIORITY; elsewhere the agent's lines read "ghostwatch: warn: ..." and the
 * collector's carry a UTC time stamp and the level. Messages quote what peers sent (host names,
 * message ids, paths), so control characters are replaced and a message is always one line.
 * The threshold is atomic because SIGHUP can change it while other threads log.
 */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <stdatomic.h>
#include <stdbool.h>

enum gw_log_level {
	GW_LOG_ERROR = 0,
	GW_LOG_WARN = 1,
	GW_LOG_INFO = 2,
	GW_LOG_DEBUG = 3,
};

/* How a line starts when stderr is not journald. */
enum gw_log_style {
	GW_LOG_TAGGED,	/* "ghostwatch: warn: " */
	GW_LOG_STAMPED,	/* "2026-01-02T03:04:05.678Z warn  " */
};

struct gw_log {
	atomic_int level; /* enum gw_log_level: messages above it are dropped */
	bool journal;	  /* stderr is connected to journald */
	enum gw_log_style style;
};

void gw_log_init(struct gw_log *log, enum gw_log_level level);
void gw_log_init_style(struct gw_log *log, enum gw_log_level level, enum gw_log_style style);
void gw_log_set_level(struct gw_log *log, enum gw_log_level level);

/* "error", "warn", "info", "debug" ("?" out of range). */
const char *gw_log_level_name(enum gw_log_level level);
/* The reverse, ignoring case; false if `s` names no level. */
bool gw_log_level_parse(const char *s, enum gw_log_level *out);

__attribute__((format(printf, 3, 4))) void gw_log(const struct gw_log *log,
						  enum gw_log_level level, const char *fmt, ...);

#define gw_err(log, ...) gw_log(log, GW_LOG_ERROR, __VA_ARGS__)
#define gw_warn(log, ...) gw_log(log, GW_LOG_WARN, __VA_ARGS__)
#define gw_info(log, ...) gw_log(log, GW_LOG_INFO, __VA_ARGS__)
#define gw_debug(log, ...) gw_log(log, GW_LOG_DEBUG, __VA_ARGS__)

#endif
