/*
 * tls_check.h - what `ghostwatch run` (and `run --check`) verifies of the TLS files before it
 * tries to connect: all present and parsable, the key matching the certificate, the certificate
 * issued by the CA and valid now, and the key readable by its owner only. A daemon that would only
 * find this out at connect time exits instead of being restarted for ever.
 */
#ifndef GW_TLS_CHECK_H
#define GW_TLS_CHECK_H

#include <stddef.h>
#include <time.h>

/* Warn this long before the certificate or the CA expires. */
#define GW_TLS_EXPIRY_WARN_S (14 * 24 * 3600)

/*
 * Checks cert, key and ca at time now. Returns 0 when usable (warn holds an expiry warning, or
 * ""), -1 with the reason in err.
 */
int tls_check_files(const char *cert, const char *key, const char *ca, time_t now, char *err,
		    size_t errlen, char *warn, size_t warnlen);

struct gw_config;
struct gw_log;

/* tls_check_files() on the config's tls: section now, the warning or the error logged. 0 or -1. */
int tls_check_config(const struct gw_config *cfg, struct gw_log *log);

#endif
