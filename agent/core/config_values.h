/*
 * config_values.h - what one value of the config may be: sizes with binary suffixes, NATS subject
 * tokens and prefixes, collector URLs and the host names, addresses or CIDRs copies may go to.
 * Pure checks over strings, shared by the parser (config.c) and its tests; each problem is told as
 * a phrase the parser puts after the file, line and key.
 */
#ifndef GW_CONFIG_VALUES_H
#define GW_CONFIG_VALUES_H

#include <stdbool.h>
#include <stdint.h>

/* "512", "64K", "64KiB", "8M", "8MiB", "1G", "1GiB" (binary multiples): 0, or -1. */
int config_parse_size(const char *s, uint64_t *out);

/* One NATS subject token (letters, digits, '-', '_'; empty allowed). */
bool config_valid_token(const char *s);
/* Dot-separated tokens, none empty, no wildcards. */
bool config_valid_subject_prefix(const char *s);

/* NULL when url is tls:// or nats://host:port, else what is wrong with it. */
const char *config_url_problem(const char *url);
/* NULL when s is a host name, an address or a CIDR, else what is wrong with it. */
const char *config_remote_problem(const char *s);

#endif
