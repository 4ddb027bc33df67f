/*
 * rules_internal.h - what the rule loader's pieces share: the parse context, the ruleset's
 * id index, and the strict YAML accessors (rules_yaml.c) the rule parser (rules_parse.c) reads
 * rule documents with. Private to agent/detect/rules_*.c; the API is rules_load.h.
 */
#ifndef RULES_INTERNAL_H
#define RULES_INTERNAL_H

#include "rules_load.h"

#include <uthash.h>

#include "common/yaml_doc.h"

/* id -> index in ruleset->rules, so overrides and duplicates are found without a scan. */
struct rule_index {
	UT_hash_handle hh;
	size_t idx;
	char id[];
};

/* The loader's private view of a ruleset: the public struct plus its id index. */
struct ruleset_priv {
	struct gw_ruleset pub;
	struct rule_index *by_id;
	int generation;	 /* directory being loaded: same generation + same id = duplicate */
	int *generations; /* per rule */
};

struct parse_ctx {
	struct yaml_doc yd;
	uint8_t *visited; /* per node: an alias makes a node reachable twice */
	size_t n_nodes;
};

typedef int (*item_fn)(struct parse_ctx *c, yaml_node_t *item, const char *key, void *arr,
		       size_t i);

#define MAX_KEYS 24
struct kv {
	const char *key;
	yaml_node_t *value;
	yaml_node_t *key_node;
};

/* rules_yaml.c */
int rules_yaml_visit(struct parse_ctx *c, int id, yaml_node_t **out);
const char *rules_yaml_scalar(const yaml_node_t *n);
int rules_yaml_string(struct parse_ctx *c, yaml_node_t *n, const char *key, size_t max, char **out);
int rules_yaml_bool(struct parse_ctx *c, yaml_node_t *n, const char *key, bool *out);
int rules_yaml_uint(struct parse_ctx *c, yaml_node_t *n, const char *key, unsigned long max,
		    unsigned long *out);
int rules_yaml_enum(struct parse_ctx *c, yaml_node_t *n, const char *key, const char *const *names,
		    size_t count, int *out);
int rules_yaml_seq(struct parse_ctx *c, yaml_node_t *n, const char *key, size_t elem_size,
		   item_fn fn, void **arr_out, size_t *n_out);
int rules_yaml_strlist(struct parse_ctx *c, yaml_node_t *n, const char *key, struct gw_strlist *l);
void rules_yaml_strlist_free(struct gw_strlist *l);
int rules_yaml_map(struct parse_ctx *c, yaml_node_t *n, const char *what, struct kv *kv,
		   size_t *n_kv);
int rules_yaml_unknown_key(struct parse_ctx *c, const struct kv *kv, const char *what,
			   const char *allowed);

/* rules_parse.c */
void rules_parse_free_fields(struct gw_rule *r);
int rules_parse_rule(struct parse_ctx *c, yaml_node_t *n, struct gw_rule *r);

#endif
