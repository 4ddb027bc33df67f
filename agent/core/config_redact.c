#include "config_redact.h"

#include <stdlib.h>
#include <string.h>

#include "common/yaml_doc.h"
#include "config.h"
#include "redact.h"

void gw_config_redact_free(struct gw_config *cfg)
{
	for (size_t i = 0; i < cfg->n_redact_patterns; i++)
		free(cfg->redact_patterns[i]);
	memset(cfg->redact_patterns, 0, sizeof(cfg->redact_patterns));
	cfg->n_redact_patterns = 0;
}

int gw_config_apply_redact(struct yaml_doc *yd, struct gw_config *cfg, yaml_node_t *node,
			   const char *key_text)
{
	char why[256];

	if (node->type != YAML_SEQUENCE_NODE)
		return yaml_doc_fail_at(yd, node, "%s: expected a list of patterns, got %s",
					key_text, yaml_node_kind(node->type));
	gw_config_redact_free(cfg);
	for (yaml_node_item_t *it = node->data.sequence.items.start;
	     it < node->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_doc_node(yd, *it);
		const char *problem, *s = NULL;

		if (item && item->type == YAML_SCALAR_NODE)
			s = yaml_scalar_text(item);
		if (cfg->n_redact_patterns == GW_CONFIG_MAX_REDACT)
			return yaml_doc_fail_at(yd, item, "%s: more than %d patterns", key_text,
						GW_CONFIG_MAX_REDACT);
		if (!s || !*s)
			return yaml_doc_fail_at(yd, item, "%s: each pattern must be a non-empty "
						"string", key_text);
		problem = redact_pattern_problem(s, why, sizeof(why));
		if (problem)
			return yaml_doc_fail_at(yd, item, "%s: \"%s\" is not a usable pattern: %s",
						key_text, s, problem);
		cfg->redact_patterns[cfg->n_redact_patterns] = strdup(s);
		if (!cfg->redact_patterns[cfg->n_redact_patterns])
			return yaml_doc_fail_at(yd, item, "out of memory");
		cfg->n_redact_patterns++;
	}
	return 0;
}
