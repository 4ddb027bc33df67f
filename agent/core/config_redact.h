/*
 * config_redact.h - the config's top-level `redact:` list: extra patterns (POSIX extended regexes)
 * whose matches in command lines are replaced like the shipped ones (redact.h). A pattern that
 * does not compile, or that matches the empty string, is an error at its line.
 */
#ifndef GW_CONFIG_REDACT_H
#define GW_CONFIG_REDACT_H

#include <yaml.h>

struct gw_config;
struct yaml_doc;

/* Replaces cfg's patterns with the list at `node`; 0, or -1 with "file:line: reason". */
int gw_config_apply_redact(struct yaml_doc *yd, struct gw_config *cfg, yaml_node_t *node,
			   const char *key_text);

void gw_config_redact_free(struct gw_config *cfg);

#endif
