#include "config_allow.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/yaml_doc.h"
#include "config.h"

#define IFNAME_MAX 15 /* IFNAMSIZ - 1 */

void gw_config_allow_free(struct gw_config *cfg)
{
	for (size_t i = 0; i < cfg->n_detections_allow; i++) {
		free(cfg->detections_allow[i].rule);
		free(cfg->detections_allow[i].process);
		free(cfg->detections_allow[i].interface);
	}
	memset(cfg->detections_allow, 0, sizeof(cfg->detections_allow));
	cfg->n_detections_allow = 0;
}

/* A rule id: letters, digits, '-' and '_' (what rule files accept as ids). */
static bool valid_rule_id(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
	return true;
}

/* The kernel's rule for an interface name (dev_valid_name). */
static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > IFNAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s))
			return false;
	return true;
}

static int parse_item(struct yaml_doc *yd, yaml_node_t *item, const char *key_text,
		      struct gw_config_allow *out)
{
	if (!item || item->type != YAML_MAPPING_NODE)
		return yaml_doc_fail_at(yd, item, "%s: each item must be a mapping of rule and "
				       "process or interface, got %s", key_text,
				       item ? yaml_node_kind(item->type) : "nothing");
	for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_doc_node(yd, p->key), *v = yaml_doc_node(yd, p->value);
		const char *name = k && k->type == YAML_SCALAR_NODE ? yaml_scalar_text(k) : NULL;
		const char *val = v && v->type == YAML_SCALAR_NODE ? yaml_scalar_text(v) : NULL;
		char **slot;

		if (!name)
			return yaml_doc_fail_at(yd, k, "%s: keys must be plain strings", key_text);
		if (!strcmp(name, "rule"))
			slot = &out->rule;
		else if (!strcmp(name, "process"))
			slot = &out->process;
		else if (!strcmp(name, "interface"))
			slot = &out->interface;
		else
			return yaml_doc_fail_at(yd, k, "%s: unknown key \"%s\" (rule, process, "
					       "interface)", key_text, name);
		if (*slot)
			return yaml_doc_fail_at(yd, k, "%s: duplicate key \"%s\"", key_text, name);
		if (!val)
			return yaml_doc_fail_at(yd, v ? v : k, "%s.%s: expected a scalar", key_text,
					       name);
		if (slot == &out->rule && !valid_rule_id(val))
			return yaml_doc_fail_at(yd, v, "%s.rule: \"%s\" is not a rule id", key_text,
					       val);
		if (slot == &out->process && val[0] != '/')
			return yaml_doc_fail_at(yd, v, "%s.process: must be an absolute path, got "
					       "\"%s\"", key_text, val);
		if (slot == &out->interface && !valid_ifname(val))
			return yaml_doc_fail_at(yd, v, "%s.interface: \"%s\" is not an interface name",
					       key_text, val);
		*slot = strdup(val);
		if (!*slot)
			return yaml_doc_fail_at(yd, v, "out of memory");
	}
	if (!out->rule)
		return yaml_doc_fail_at(yd, item, "%s: an item needs a rule", key_text);
	if (!out->process && !out->interface)
		return yaml_doc_fail_at(yd, item, "%s: an item needs a process or an interface "
				       "(allowing a rule everywhere is `enabled: false` in rules.d)",
				       key_text);
	return 0;
}

int gw_config_apply_allow(struct yaml_doc *yd, struct gw_config *cfg, yaml_node_t *node,
			  const char *key_text)
{
	size_t n = 0;

	gw_config_allow_free(cfg);
	if (node->type != YAML_SEQUENCE_NODE)
		return yaml_doc_fail_at(yd, node, "%s: expected a list of mappings, got %s", key_text,
				       yaml_node_kind(node->type));
	for (yaml_node_item_t *it = node->data.sequence.items.start;
	     it < node->data.sequence.items.top; it++) {
		if (n == GW_CONFIG_MAX_ALLOW)
			return yaml_doc_fail_at(yd, node, "%s: more than %d items", key_text,
					       GW_CONFIG_MAX_ALLOW);
		/* counted first: a half-parsed item is freed with the rest */
		cfg->n_detections_allow = ++n;
		if (parse_item(yd, yaml_doc_node(yd, *it), key_text, &cfg->detections_allow[n - 1]))
			return -1;
	}
	return 0;
}
