/* rules_yaml.c - strict YAML accessors for rule files: typed scalars, sequences, mappings. */
#include "rules_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uthash.h>

#include "common/yaml_doc.h"

/* Every node is visited at most once: a second visit can only come through an alias. */
int rules_yaml_visit(struct parse_ctx *c, int id, yaml_node_t **out)
{
	yaml_node_t *n = yaml_doc_node(&c->yd, id);

	if (!n || id < 1 || (size_t)id > c->n_nodes)
		return yaml_doc_fail_at(&c->yd, NULL, "internal: bad YAML node");
	if (c->visited[id - 1])
		return yaml_doc_fail_at(&c->yd, n, "YAML aliases/anchors are not allowed in rule files");
	c->visited[id - 1] = 1;
	*out = n;
	return 0;
}

const char *rules_yaml_scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* A scalar as a string: no embedded NUL, bounded, non-empty. */
int rules_yaml_string(struct parse_ctx *c, yaml_node_t *n, const char *key, size_t max, char **out)
{
	if (n->type != YAML_SCALAR_NODE)
		return yaml_doc_fail_at(&c->yd, n, "'%s' must be a string", key);
	if (n->data.scalar.length == 0)
		return yaml_doc_fail_at(&c->yd, n, "'%s' must not be empty", key);
	if (strlen(rules_yaml_scalar(n)) != n->data.scalar.length)
		return yaml_doc_fail_at(&c->yd, n, "'%s' contains a NUL byte", key);
	if (n->data.scalar.length > max)
		return yaml_doc_fail_at(&c->yd, n, "'%s' is %zu bytes, longer than the limit of %zu", key,
			    n->data.scalar.length, max);
	*out = strdup(rules_yaml_scalar(n));
	if (!*out)
		return yaml_doc_fail_at(&c->yd, n, "out of memory");
	return 0;
}

int rules_yaml_bool(struct parse_ctx *c, yaml_node_t *n, const char *key, bool *out)
{
	if (yaml_scalar_plain(n) && !strcmp(rules_yaml_scalar(n), "true"))
		*out = true;
	else if (yaml_scalar_plain(n) && !strcmp(rules_yaml_scalar(n), "false"))
		*out = false;
	else
		return yaml_doc_fail_at(&c->yd, n, "'%s' must be true or false", key);
	return 0;
}

int rules_yaml_uint(struct parse_ctx *c, yaml_node_t *n, const char *key, unsigned long max,
		    unsigned long *out)
{
	const char *s;
	uint64_t v;

	if (!yaml_scalar_plain(n))
		return yaml_doc_fail_at(&c->yd, n, "'%s' must be a number", key);
	s = rules_yaml_scalar(n);
	if (!isdigit((unsigned char)s[0]) || n->data.scalar.length > 20)
		return yaml_doc_fail_at(&c->yd, n, "'%s' must be a non-negative number", key);
	if (!yaml_parse_u64(s, &v) || v > max)
		return yaml_doc_fail_at(&c->yd, n, "'%s' must be a number from 0 to %lu", key, max);
	*out = (unsigned long)v;
	return 0;
}

int rules_yaml_enum(struct parse_ctx *c, yaml_node_t *n, const char *key, const char *const *names,
		    size_t count, int *out)
{
	if (n->type == YAML_SCALAR_NODE)
		for (size_t i = 0; i < count; i++)
			if (names[i] && !strcmp(rules_yaml_scalar(n), names[i])) {
				*out = (int)i;
				return 0;
			}
	return yaml_doc_fail_at(&c->yd, n, "'%s' has an unknown value", key);
}

/* A sequence field: allocates count * elem_size and calls fn per item. */
int rules_yaml_seq(struct parse_ctx *c, yaml_node_t *n, const char *key, size_t elem_size,
		   item_fn fn, void **arr_out, size_t *n_out)
{
	size_t count, i;
	void *arr;

	if (n->type != YAML_SEQUENCE_NODE)
		return yaml_doc_fail_at(&c->yd, n, "'%s' must be a list", key);
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count == 0)
		return yaml_doc_fail_at(&c->yd, n, "'%s' must not be empty", key);
	if (count > GW_RULES_MAX_LIST)
		return yaml_doc_fail_at(&c->yd, n, "'%s' has %zu entries, more than the limit of %u", key, count,
			    GW_RULES_MAX_LIST);
	arr = calloc(count, elem_size);
	if (!arr)
		return yaml_doc_fail_at(&c->yd, n, "out of memory");
	/* Publish first so the caller frees whatever was filled in if an item fails. */
	*arr_out = arr;
	*n_out = 0;
	for (i = 0; i < count; i++) {
		yaml_node_t *item;

		if (rules_yaml_visit(c, n->data.sequence.items.start[i], &item) ||
		    fn(c, item, key, arr, i))
			return -1;
		*n_out = i + 1;
	}
	return 0;
}

static int str_item(struct parse_ctx *c, yaml_node_t *item, const char *key, void *arr, size_t i)
{
	return rules_yaml_string(c, item, key, GW_RULES_MAX_PATTERN, &((char **)arr)[i]);
}

int rules_yaml_strlist(struct parse_ctx *c, yaml_node_t *n, const char *key, struct gw_strlist *l)
{
	return rules_yaml_seq(c, n, key, sizeof(char *), str_item, (void **)&l->v, &l->n);
}

void rules_yaml_strlist_free(struct gw_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Iterates a mapping, rejecting duplicate keys and non-string keys. */

int rules_yaml_map(struct parse_ctx *c, yaml_node_t *n, const char *what, struct kv *kv,
		   size_t *n_kv)
{
	yaml_node_pair_t *p;

	if (n->type != YAML_MAPPING_NODE)
		return yaml_doc_fail_at(&c->yd, n, "%s must be a mapping", what);
	*n_kv = 0;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k, *v;

		if (rules_yaml_visit(c, p->key, &k))
			return -1;
		if (k->type != YAML_SCALAR_NODE)
			return yaml_doc_fail_at(&c->yd, k, "keys of %s must be strings", what);
		if (*n_kv == MAX_KEYS)
			return yaml_doc_fail_at(&c->yd, k, "%s has too many keys", what);
		for (size_t i = 0; i < *n_kv; i++)
			if (!strcmp(kv[i].key, rules_yaml_scalar(k)))
				return yaml_doc_fail_at(&c->yd, k, "duplicate key '%s' in %s", rules_yaml_scalar(k), what);
		if (rules_yaml_visit(c, p->value, &v))
			return -1;
		kv[*n_kv] = (struct kv){ rules_yaml_scalar(k), v, k };
		(*n_kv)++;
	}
	return 0;
}

int rules_yaml_unknown_key(struct parse_ctx *c, const struct kv *kv, const char *what,
			   const char *allowed)
{
	return yaml_doc_fail_at(&c->yd, kv->key_node, "unknown field '%s' in %s (allowed: %s)", kv->key, what,
		    allowed);
}
