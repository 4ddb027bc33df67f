/*
 * integrity.h - what the agent runs with, as SHA-256 digests (OpenSSL EVP): its own executable,
 * its config file and every rules file the detections loaded (core/loaded_rules.h), built into an
 * AgentIntegrity event. Only paths and digests: no file content leaves the host.
 */
#ifndef GW_TAMPER_INTEGRITY_H
#define GW_TAMPER_INTEGRITY_H

#include <stddef.h>

#include "ghostwatch.pb-c.h"

struct gw_agent;

#define INTEGRITY_HEX_LEN 65 /* 64 hex digits and the NUL */

/* The SHA-256 of the file at path in hex; 0, or -errno (out is then ""). */
int integrity_sha256_file(const char *path, char out[INTEGRITY_HEX_LEN]);

/* The event for the agent now (config_path "" outside fleet mode), in the agent's arena; NULL when
 * the arena is full. */
Ghostwatch__V1__AgentIntegrity *integrity_build(struct gw_agent *a, const char *config_path);

#endif
