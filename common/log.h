/*
 * log.h - leveled logging to stderr for the daemon. Under systemd (JOURNAL_STREAM set) each line
 * starts with a sd-daemon "<N>" priority prefix, which journald turns into the entry's PRIORITY;
 * elsewhere it reads "ghostwatch: warn: ...". The threshold lives in a struct owned by the agent
 * (SIGHUP can change it while the forwarder's threads log), hence the atomic.
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

/* "error", "warn", "info", "debug" (the config's spelling, config.c). */
const char *gw_log_level_name(enum gw_log_level level);

struct gw_log {
	atomic_int level; /* enum gw_log_level: messages above it are dropped */
	bool journal;	  /* stderr is connected to journald */
};

void gw_log_init(struct gw_log *log, enum gw_log_level level);
void gw_log_set_level(struct gw_log *log, enum gw_log_level level);

__attribute__((format(printf, 3, 4))) void gw_log(struct gw_log *log, enum gw_log_level level,
						  const char *fmt, ...);

#define gw_err(log, ...) gw_log(log, GW_LOG_ERROR, __VA_ARGS__)
#define gw_warn(log, ...) gw_log(log, GW_LOG_WARN, __VA_ARGS__)
#define gw_info(log, ...) gw_log(log, GW_LOG_INFO, __VA_ARGS__)
#define gw_debug(log, ...) gw_log(log, GW_LOG_DEBUG, __VA_ARGS__)

#endif
