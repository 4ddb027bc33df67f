/* place_ipkvm.c - the LAN IP-KVM indicator file. See place_ipkvm.h. */
#include "place_ipkvm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/yaml_doc.h"
#include "place_oui.h"

#define IPKVM_FILE_MAX (1u << 20)
#define IPKVM_LIST_MAX 1024

struct ctx {
	struct yaml_doc yd;
	struct place_ipkvm *k;
};

static char *keep(struct ctx *c, const char *s)
{
	char **v = realloc(c->k->strings, (c->k->n_strings + 1) * sizeof(*v));
	char *copy = strdup(s);

	if (!v || !copy) {
		free(copy);
		if (v)
			c->k->strings = v;
		return NULL;
	}
	c->k->strings = v;
	v[c->k->n_strings++] = copy;
	return copy;
}

static const char *scalar(struct ctx *c, yaml_node_t *n, const char *what)
{
	const char *s;

	if (!n || n->type != YAML_SCALAR_NODE || !(s = yaml_scalar_text(n)) || !*s) {
		yaml_doc_fail_at(&c->yd, n, "%s: expected a non-empty string", what);
		return NULL;
	}
	return s;
}

/* The value of each key of a mapping; unknown keys are an error. */
static int fields(struct ctx *c, yaml_node_t *map, const char *what, const char *const *keys,
		  yaml_node_t **values)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return yaml_doc_fail_at(&c->yd, map, "%s: expected a mapping", what);
	for (size_t i = 0; keys[i]; i++)
		values[i] = NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_doc_node(&c->yd, p->key);
		const char *key = kn && kn->type == YAML_SCALAR_NODE ? yaml_scalar_text(kn) : NULL;
		size_t i;

		for (i = 0; key && keys[i] && strcmp(keys[i], key); i++)
			;
		if (!key || !keys[i])
			return yaml_doc_fail_at(&c->yd, kn, "%s: unknown key '%s'", what,
						key ? key : "?");
		if (values[i])
			return yaml_doc_fail_at(&c->yd, kn, "%s: duplicate key '%s'", what, key);
		values[i] = yaml_doc_node(&c->yd, p->value);
	}
	return 0;
}

static int seq(struct ctx *c, yaml_node_t *n, const char *what, yaml_node_item_t **b,
	       yaml_node_item_t **e)
{
	if (!n || n->type != YAML_SEQUENCE_NODE)
		return yaml_doc_fail_at(&c->yd, n, "%s: expected a list", what);
	*b = n->data.sequence.items.start;
	*e = n->data.sequence.items.top;
	if (*e - *b > IPKVM_LIST_MAX)
		return yaml_doc_fail_at(&c->yd, n, "%s: more than %d entries", what, IPKVM_LIST_MAX);
	return 0;
}

static int maker(struct ctx *c, yaml_node_t *m)
{
	static const char *const keys[] = { "vendor", "products", "prefixes", "sources", NULL };
	yaml_node_t *v[4];
	yaml_node_item_t *b, *e;
	char products[256] = "";
	const char *vendor;
	char *vendor_kept, *products_kept;

	if (fields(c, m, "a maker", keys, v))
		return -1;
	if (!(vendor = scalar(c, v[0], "vendor")))
		return -1;
	if (!v[2] || !v[3])
		return yaml_doc_fail_at(&c->yd, m, "a maker needs prefixes and sources");
	if (v[1]) {
		if (seq(c, v[1], "products", &b, &e))
			return -1;
		for (; b < e; b++) {
			const char *p = scalar(c, yaml_doc_node(&c->yd, *b), "a product");

			if (!p)
				return -1;
			snprintf(products + strlen(products), sizeof(products) - strlen(products),
				 "%s%s", products[0] ? ", " : "", p);
		}
	}
	if (seq(c, v[3], "sources", &b, &e))
		return -1;
	if (b == e)
		return yaml_doc_fail_at(&c->yd, v[3], "sources: at least one");
	for (; b < e; b++)
		if (!scalar(c, yaml_doc_node(&c->yd, *b), "a source"))
			return -1;
	if (!(vendor_kept = keep(c, vendor)) || !(products_kept = keep(c, products)))
		return yaml_doc_fail_at(&c->yd, m, "out of memory");
	if (seq(c, v[2], "prefixes", &b, &e))
		return -1;
	for (; b < e; b++) {
		yaml_node_t *pn = yaml_doc_node(&c->yd, *b);
		const char *s = scalar(c, pn, "a prefix");
		struct place_ipkvm_prefix *np;
		uint64_t value;
		unsigned bits;

		if (!s)
			return -1;
		if (place_oui_parse_prefix(s, &value, &bits))
			return yaml_doc_fail_at(&c->yd, pn, "'%s' is not a 24, 28 or 36 bit prefix "
						"(\"B8:27:EB\")", s);
		np = realloc(c->k->prefixes, (c->k->n_prefixes + 1) * sizeof(*np));
		if (!np)
			return yaml_doc_fail_at(&c->yd, pn, "out of memory");
		c->k->prefixes = np;
		np[c->k->n_prefixes++] = (struct place_ipkvm_prefix){ value, bits, vendor_kept,
								       products_kept };
	}
	return 0;
}

static int named(struct ctx *c, yaml_node_t *m, const char *what, const char *key,
		 struct place_ipkvm_name **list, size_t *n)
{
	const char *const keys[] = { key, "vendor", "source", NULL };
	yaml_node_t *v[3];
	const char *name, *vendor, *source;
	struct place_ipkvm_name *nl;

	if (fields(c, m, what, keys, v) || !(name = scalar(c, v[0], key)) ||
	    !(vendor = scalar(c, v[1], "vendor")) || !(source = scalar(c, v[2], "source")))
		return -1;
	nl = realloc(*list, (*n + 1) * sizeof(*nl));
	if (!nl)
		return yaml_doc_fail_at(&c->yd, m, "out of memory");
	*list = nl;
	nl[*n].name = strdup(name);
	nl[*n].vendor = strdup(vendor);
	(*n)++;
	if (!nl[*n - 1].name || !nl[*n - 1].vendor)
		return yaml_doc_fail_at(&c->yd, m, "out of memory");
	return 0;
}

static int parse_root(struct ctx *c)
{
	static const char *const keys[] = { "version", "makers", "mdns", "edid", NULL };
	yaml_node_t *v[4];
	yaml_node_item_t *b, *e;
	const char *ver;

	if (fields(c, yaml_doc_root(&c->yd), "the file", keys, v))
		return -1;
	if (!(ver = scalar(c, v[0], "version")) || strcmp(ver, "1"))
		return yaml_doc_fail_at(&c->yd, v[0], "version: this agent reads version 1");
	if (!v[1])
		return yaml_doc_fail_at(&c->yd, NULL, "missing 'makers:'");
	if (seq(c, v[1], "makers", &b, &e))
		return -1;
	for (; b < e; b++)
		if (maker(c, yaml_doc_node(&c->yd, *b)))
			return -1;
	if (v[2]) {
		if (seq(c, v[2], "mdns", &b, &e))
			return -1;
		for (; b < e; b++)
			if (named(c, yaml_doc_node(&c->yd, *b), "an mdns entry", "name", &c->k->mdns,
				  &c->k->n_mdns))
				return -1;
	}
	if (v[3]) {
		if (seq(c, v[3], "edid", &b, &e))
			return -1;
		for (; b < e; b++)
			if (named(c, yaml_doc_node(&c->yd, *b), "an edid entry", "monitor",
				  &c->k->edid, &c->k->n_edid))
				return -1;
	}
	return 0;
}

int place_ipkvm_parse(struct place_ipkvm *k, const char *name, const char *text, size_t len,
		      char *err, size_t errlen)
{
	struct ctx c = { .k = k };
	int rc;

	memset(k, 0, sizeof(*k));
	rc = yaml_doc_load(&c.yd, name, text, len, err, errlen);
	if (!rc && !yaml_doc_root(&c.yd))
		rc = yaml_doc_fail(&c.yd, 1, "empty file");
	if (!rc)
		rc = parse_root(&c);
	yaml_doc_free(&c.yd);
	if (rc)
		place_ipkvm_free(k);
	return rc;
}

int place_ipkvm_load(struct place_ipkvm *k, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t len;
	int rc;

	memset(k, 0, sizeof(*k));
	if (!f) {
		snprintf(err, errlen, "%s:0: cannot open: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(IPKVM_FILE_MAX + 1);
	len = buf ? fread(buf, 1, IPKVM_FILE_MAX + 1, f) : 0;
	fclose(f);
	if (!buf || len > IPKVM_FILE_MAX) {
		free(buf);
		snprintf(err, errlen, "%s:0: %s", path, buf ? "larger than 1 MiB" : "out of memory");
		return -1;
	}
	rc = place_ipkvm_parse(k, path, buf, len, err, errlen);
	free(buf);
	return rc;
}

void place_ipkvm_free(struct place_ipkvm *k)
{
	for (size_t i = 0; i < k->n_strings; i++)
		free(k->strings[i]);
	for (size_t i = 0; i < k->n_mdns; i++) {
		free(k->mdns[i].name);
		free(k->mdns[i].vendor);
	}
	for (size_t i = 0; i < k->n_edid; i++) {
		free(k->edid[i].name);
		free(k->edid[i].vendor);
	}
	free(k->strings);
	free(k->prefixes);
	free(k->mdns);
	free(k->edid);
	memset(k, 0, sizeof(*k));
}

const struct place_ipkvm_prefix *place_ipkvm_match_mac(const struct place_ipkvm *k,
						      const uint8_t mac[6])
{
	for (size_t i = 0; i < k->n_prefixes; i++)
		if (place_oui_prefix_matches(k->prefixes[i].value, k->prefixes[i].bits, mac))
			return &k->prefixes[i];
	return NULL;
}

const char *place_ipkvm_match_mdns(const struct place_ipkvm *k, const char *name)
{
	size_t label = strcspn(name, ".");

	/* only NAME.local: a name in another domain is not a LAN gadget's default */
	if (strcasecmp(name + label, ".local") && strcasecmp(name + label, ".local."))
		return NULL;
	for (size_t i = 0; i < k->n_mdns; i++)
		if (strlen(k->mdns[i].name) == label && !strncasecmp(name, k->mdns[i].name, label))
			return k->mdns[i].vendor;
	return NULL;
}

const char *place_ipkvm_match_edid(const struct place_ipkvm *k, const char *monitor)
{
	for (size_t i = 0; monitor && i < k->n_edid; i++)
		if (!strcmp(monitor, k->edid[i].name))
			return k->edid[i].vendor;
	return NULL;
}
