/*
 * config_allow.h - the config's detections.allow list: each item a mapping with a rule id and at
 * least one of the process (an absolute executable path) and the interface (a name the kernel
 * would give), checked strictly like every other key: an unknown field, a missing rule, a
 * relative path or an impossible interface name is an error at its line.
 */
#ifndef GW_CONFIG_ALLOW_H
#define GW_CONFIG_ALLOW_H

#include <yaml.h>

struct gw_config;
struct yaml_doc;

/* Replaces cfg's allow list with the list at `node`; 0, or -1 with "file:line: reason". */
int gw_config_apply_allow(struct yaml_doc *yd, struct gw_config *cfg, yaml_node_t *node,
			  const char *key_text);

void gw_config_allow_free(struct gw_config *cfg);

#endif
