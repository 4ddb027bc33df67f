/*
 * rules_load.c - YAML rule files -> struct gw_ruleset, strictly validated. See rules_load.h and
 * rules/README.md for the format.
 */
#include "rules_load.h"

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

static struct ruleset_priv *priv(struct gw_ruleset *rs)
{
	return (struct ruleset_priv *)rs;
}

struct parse_ctx {
	struct yaml_doc yd;
	uint8_t *visited; /* per node: an alias makes a node reachable twice */
	size_t n_nodes;
};

static const char *const category_names[GW_CAT_COUNT] = {
	[GW_CAT_RMM] = "rmm",	  [GW_CAT_TUNNEL] = "tunnel",	[GW_CAT_VPN] = "vpn",
	[GW_CAT_IPKVM] = "ipkvm", [GW_CAT_JIGGLER] = "jiggler", [GW_CAT_COMBO] = "combination",
};
static const char *const severity_names[] = { "info", "low", "medium", "high", "critical" };
static const char *const confidence_names[] = { "low", "medium", "high" };

const char *gw_category_name(enum gw_rule_category c)
{
	return c < GW_CAT_COUNT ? category_names[c] : "?";
}

const char *gw_severity_name(enum gw_severity s)
{
	return s <= GW_SEV_CRITICAL ? severity_names[s] : "?";
}

const char *gw_confidence_name(enum gw_confidence c)
{
	return c <= GW_CONF_HIGH ? confidence_names[c] : "?";
}

/* Every node is visited at most once: a second visit can only come through an alias. */
static int visit(struct parse_ctx *c, int id, yaml_node_t **out)
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

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* A scalar as a string: no embedded NUL, bounded, non-empty. */
static int get_string(struct parse_ctx *c, yaml_node_t *n, const char *key, size_t max, char **out)
{
	if (n->type != YAML_SCALAR_NODE)
		return yaml_doc_fail_at(&c->yd, n, "'%s' must be a string", key);
	if (n->data.scalar.length == 0)
		return yaml_doc_fail_at(&c->yd, n, "'%s' must not be empty", key);
	if (strlen(scalar(n)) != n->data.scalar.length)
		return yaml_doc_fail_at(&c->yd, n, "'%s' contains a NUL byte", key);
	if (n->data.scalar.length > max)
		return yaml_doc_fail_at(&c->yd, n, "'%s' is %zu bytes, longer than the limit of %zu", key,
			    n->data.scalar.length, max);
	*out = strdup(scalar(n));
	if (!*out)
		return yaml_doc_fail_at(&c->yd, n, "out of memory");
	return 0;
}

static int get_bool(struct parse_ctx *c, yaml_node_t *n, const char *key, bool *out)
{
	if (yaml_scalar_plain(n) && !strcmp(scalar(n), "true"))
		*out = true;
	else if (yaml_scalar_plain(n) && !strcmp(scalar(n), "false"))
		*out = false;
	else
		return yaml_doc_fail_at(&c->yd, n, "'%s' must be true or false", key);
	return 0;
}

static int get_uint(struct parse_ctx *c, yaml_node_t *n, const char *key, unsigned long max,
		    unsigned long *out)
{
	const char *s;
	uint64_t v;

	if (!yaml_scalar_plain(n))
		return yaml_doc_fail_at(&c->yd, n, "'%s' must be a number", key);
	s = scalar(n);
	if (!isdigit((unsigned char)s[0]) || n->data.scalar.length > 20)
		return yaml_doc_fail_at(&c->yd, n, "'%s' must be a non-negative number", key);
	if (!yaml_parse_u64(s, &v) || v > max)
		return yaml_doc_fail_at(&c->yd, n, "'%s' must be a number from 0 to %lu", key, max);
	*out = (unsigned long)v;
	return 0;
}

static int get_enum(struct parse_ctx *c, yaml_node_t *n, const char *key, const char *const *names,
		    size_t count, int *out)
{
	if (n->type == YAML_SCALAR_NODE)
		for (size_t i = 0; i < count; i++)
			if (names[i] && !strcmp(scalar(n), names[i])) {
				*out = (int)i;
				return 0;
			}
	return yaml_doc_fail_at(&c->yd, n, "'%s' has an unknown value", key);
}

typedef int (*item_fn)(struct parse_ctx *c, yaml_node_t *item, const char *key, void *arr,
		       size_t i);

/* A sequence field: allocates count * elem_size and calls fn per item. */
static int get_seq(struct parse_ctx *c, yaml_node_t *n, const char *key, size_t elem_size,
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

		if (visit(c, n->data.sequence.items.start[i], &item) ||
		    fn(c, item, key, arr, i))
			return -1;
		*n_out = i + 1;
	}
	return 0;
}

static int str_item(struct parse_ctx *c, yaml_node_t *item, const char *key, void *arr, size_t i)
{
	return get_string(c, item, key, GW_RULES_MAX_PATTERN, &((char **)arr)[i]);
}

static int get_strlist(struct parse_ctx *c, yaml_node_t *n, const char *key, struct gw_strlist *l)
{
	return get_seq(c, n, key, sizeof(char *), str_item, (void **)&l->v, &l->n);
}

static void strlist_free(struct gw_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Lower-cases a DNS name in place and checks it is a plausible name (labels of [a-z0-9_-]). */
static int check_dns(struct parse_ctx *c, yaml_node_t *n, char *s)
{
	size_t len, label = 0;

	len = strlen(s);
	if (len && s[len - 1] == '.')
		s[--len] = 0;
	if (len == 0 || len > GW_RULES_MAX_DNS_NAME)
		return yaml_doc_fail_at(&c->yd, n, "DNS suffix '%s' must be 1..%d bytes", s, GW_RULES_MAX_DNS_NAME);
	for (size_t i = 0; i < len; i++) {
		s[i] = (char)tolower((unsigned char)s[i]);
		if (s[i] == '.') {
			if (label == 0)
				return yaml_doc_fail_at(&c->yd, n, "DNS suffix '%s' has an empty label", s);
			label = 0;
		} else if (isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_') {
			if (++label > 63)
				return yaml_doc_fail_at(&c->yd, n, "DNS suffix '%s' has a label over 63 bytes", s);
		} else {
			return yaml_doc_fail_at(&c->yd, n,
				    "DNS suffix '%s' has character '%c': suffixes match whole labels, "
				    "write 'example.com' for '*.example.com'",
				    s, s[i]);
		}
	}
	if (label == 0)
		return yaml_doc_fail_at(&c->yd, n, "DNS suffix '%s' has an empty label", s);
	return 0;
}

static int cidr_item(struct parse_ctx *c, yaml_node_t *item, const char *key, void *arr, size_t i)
{
	struct gw_cidr *out = &((struct gw_cidr *)arr)[i];
	char buf[64], *slash;
	unsigned long len;
	unsigned max;

	if (item->type != YAML_SCALAR_NODE || item->data.scalar.length >= sizeof(buf))
		return yaml_doc_fail_at(&c->yd, item, "'%s' entries must be addresses like 10.0.0.0/8 or 2001:db8::/32",
			    key);
	memcpy(buf, scalar(item), item->data.scalar.length + 1);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return yaml_doc_fail_at(&c->yd, item, "'%s': '%s' is not an IPv4/IPv6 address", key, buf);
	}
	len = max;
	if (slash) {
		char *end;

		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (!isdigit((unsigned char)slash[1]) || *end || errno || len > max)
			return yaml_doc_fail_at(&c->yd, item, "'%s': prefix length of '%s' must be 0..%u", key,
				    scalar(item), max);
	}
	out->prefix_len = (uint8_t)len;
	/* Host bits past the prefix are cleared so lookups compare whole prefixes. */
	for (unsigned b = (unsigned)len; b < max; b++)
		out->addr[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
	return 0;
}

static int port_item(struct parse_ctx *c, yaml_node_t *item, const char *key, void *arr, size_t i)
{
	struct gw_port_range *out = &((struct gw_port_range *)arr)[i];
	unsigned long lo, hi;
	char tail;

	if (item->type != YAML_SCALAR_NODE)
		return yaml_doc_fail_at(&c->yd, item, "'%s' entries must be ports or ranges like 21115-21119", key);
	if (sscanf(scalar(item), "%5lu-%5lu%c", &lo, &hi, &tail) == 2 && strchr(scalar(item), '-')) {
		/* range */
	} else if (yaml_scalar_plain(item) && sscanf(scalar(item), "%5lu%c", &lo, &tail) == 1 &&
		   isdigit((unsigned char)scalar(item)[0])) {
		hi = lo;
	} else {
		return yaml_doc_fail_at(&c->yd, item, "'%s': '%s' is not a port or a range like 21115-21119", key,
			    scalar(item));
	}
	if (lo < 1 || hi > 65535 || lo > hi)
		return yaml_doc_fail_at(&c->yd, item, "'%s': '%s' must be within 1..65535, low to high", key,
			    scalar(item));
	out->lo = (uint16_t)lo;
	out->hi = (uint16_t)hi;
	return 0;
}

static int usb_item(struct parse_ctx *c, yaml_node_t *item, const char *key, void *arr, size_t i)
{
	struct gw_usb_id *out = &((struct gw_usb_id *)arr)[i];
	const char *s = scalar(item);
	unsigned vid, pid;
	char tail;

	if (item->type != YAML_SCALAR_NODE ||
	    (item->data.scalar.length != 9 && item->data.scalar.length != 6) || s[4] != ':')
		goto bad;
	for (int k = 0; k < 4; k++)
		if (!isxdigit((unsigned char)s[k]))
			goto bad;
	if (sscanf(s, "%4x:", &vid) != 1)
		goto bad;
	if (item->data.scalar.length == 6) {
		if (s[5] != '*')
			goto bad;
		out->vid = (uint16_t)vid;
		out->pid = GW_USB_ANY_PID;
		return 0;
	}
	for (int k = 5; k < 9; k++)
		if (!isxdigit((unsigned char)s[k]))
			goto bad;
	if (sscanf(s + 5, "%4x%c", &pid, &tail) != 1)
		goto bad;
	out->vid = (uint16_t)vid;
	out->pid = pid;
	return 0;
bad:
	return yaml_doc_fail_at(&c->yd, item, "'%s' entries must be 'vvvv:pppp' in hex (or 'vvvv:*')", key);
}

static int edid_item(struct parse_ctx *c, yaml_node_t *item, const char *key, void *arr, size_t i)
{
	struct gw_edid_id *out = &((struct gw_edid_id *)arr)[i];
	const char *s = scalar(item);
	unsigned code;
	char tail;

	if (item->type != YAML_SCALAR_NODE || item->data.scalar.length != 8 || s[3] != ':' ||
	    !isupper((unsigned char)s[0]) || !isupper((unsigned char)s[1]) ||
	    !isupper((unsigned char)s[2]))
		goto bad;
	for (int k = 4; k < 8; k++)
		if (!isxdigit((unsigned char)s[k]))
			goto bad;
	if (sscanf(s + 4, "%4x%c", &code, &tail) != 1)
		goto bad;
	memcpy(out->mfg, s, 3);
	out->mfg[3] = 0;
	out->product_code = (uint16_t)code;
	return 0;
bad:
	return yaml_doc_fail_at(&c->yd, item, "'%s' entries must be 'MFG:hhhh' (PNP id, product code in hex)", key);
}

/* Iterates a mapping, rejecting duplicate keys and non-string keys. */
#define MAX_KEYS 24
struct kv {
	const char *key;
	yaml_node_t *value;
	yaml_node_t *key_node;
};

static int get_map(struct parse_ctx *c, yaml_node_t *n, const char *what, struct kv *kv,
		   size_t *n_kv)
{
	yaml_node_pair_t *p;

	if (n->type != YAML_MAPPING_NODE)
		return yaml_doc_fail_at(&c->yd, n, "%s must be a mapping", what);
	*n_kv = 0;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k, *v;

		if (visit(c, p->key, &k))
			return -1;
		if (k->type != YAML_SCALAR_NODE)
			return yaml_doc_fail_at(&c->yd, k, "keys of %s must be strings", what);
		if (*n_kv == MAX_KEYS)
			return yaml_doc_fail_at(&c->yd, k, "%s has too many keys", what);
		for (size_t i = 0; i < *n_kv; i++)
			if (!strcmp(kv[i].key, scalar(k)))
				return yaml_doc_fail_at(&c->yd, k, "duplicate key '%s' in %s", scalar(k), what);
		if (visit(c, p->value, &v))
			return -1;
		kv[*n_kv] = (struct kv){ scalar(k), v, k };
		(*n_kv)++;
	}
	return 0;
}

static int unknown_key(struct parse_ctx *c, const struct kv *kv, const char *what,
		       const char *allowed)
{
	return yaml_doc_fail_at(&c->yd, kv->key_node, "unknown field '%s' in %s (allowed: %s)", kv->key, what,
		    allowed);
}

static int parse_exec(struct parse_ctx *c, yaml_node_t *n, struct gw_exec_cond *e)
{
	static const char allowed[] =
		"names, paths, path_prefixes, script_names, argv_sequence, parent_names";
	struct kv kv[MAX_KEYS];
	size_t nkv;

	if (get_map(c, n, "'exec'", kv, &nkv))
		return -1;
	for (size_t i = 0; i < nkv; i++) {
		const char *k = kv[i].key;
		struct gw_strlist *l = !strcmp(k, "names")	   ? &e->names
				       : !strcmp(k, "paths")	   ? &e->paths
				       : !strcmp(k, "path_prefixes") ? &e->path_prefixes
				       : !strcmp(k, "script_names")  ? &e->script_names
				       : !strcmp(k, "argv_sequence") ? &e->argv_sequence
				       : !strcmp(k, "parent_names")  ? &e->parent_names
								     : NULL;
		if (!l)
			return unknown_key(c, &kv[i], "'exec'", allowed);
		if (get_strlist(c, kv[i].value, k, l))
			return -1;
		if (l == &e->argv_sequence && l->n > GW_RULES_MAX_ARGV_SEQ)
			return yaml_doc_fail_at(&c->yd, kv[i].value, "'argv_sequence' has more than %d tokens",
				    GW_RULES_MAX_ARGV_SEQ);
		if (l == &e->paths || l == &e->path_prefixes)
			for (size_t j = 0; j < l->n; j++)
				if (l->v[j][0] != '/')
					return yaml_doc_fail_at(&c->yd, kv[i].value, "'%s': '%s' is not an absolute path",
						    k, l->v[j]);
		if (l == &e->names || l == &e->script_names || l == &e->parent_names)
			for (size_t j = 0; j < l->n; j++)
				if (strchr(l->v[j], '/'))
					return yaml_doc_fail_at(&c->yd, kv[i].value,
						    "'%s': '%s' is a path; names are basenames (use "
						    "'paths')",
						    k, l->v[j]);
	}
	if (!e->names.n && !e->paths.n && !e->path_prefixes.n && !e->script_names.n &&
	    !e->argv_sequence.n)
		return yaml_doc_fail_at(&c->yd, n, "'exec' needs names, paths, path_prefixes, script_names or "
				  "argv_sequence");
	return 0;
}

static int parse_flow(struct parse_ctx *c, yaml_node_t *n, struct gw_flow_cond *f)
{
	static const char allowed[] = "dns_suffixes, cidrs, ports, protocols, direction";
	struct kv kv[MAX_KEYS];
	size_t nkv;

	f->directions = GW_DIR_OUTBOUND;
	if (get_map(c, n, "'flow'", kv, &nkv))
		return -1;
	for (size_t i = 0; i < nkv; i++) {
		const char *k = kv[i].key;
		yaml_node_t *v = kv[i].value;

		if (!strcmp(k, "dns_suffixes")) {
			if (get_strlist(c, v, k, &f->dns_suffixes))
				return -1;
			for (size_t j = 0; j < f->dns_suffixes.n; j++)
				if (check_dns(c, v, f->dns_suffixes.v[j]))
					return -1;
		} else if (!strcmp(k, "cidrs")) {
			if (get_seq(c, v, k, sizeof(struct gw_cidr), cidr_item, (void **)&f->cidrs,
				    &f->n_cidrs))
				return -1;
		} else if (!strcmp(k, "ports")) {
			if (get_seq(c, v, k, sizeof(struct gw_port_range), port_item,
				    (void **)&f->ports, &f->n_ports))
				return -1;
		} else if (!strcmp(k, "protocols")) {
			struct gw_strlist l = { 0 };
			int rc = get_strlist(c, v, k, &l);

			for (size_t j = 0; !rc && j < l.n; j++) {
				if (!strcmp(l.v[j], "tcp"))
					f->protocols |= GW_PROTO_TCP;
				else if (!strcmp(l.v[j], "udp"))
					f->protocols |= GW_PROTO_UDP;
				else
					rc = yaml_doc_fail_at(&c->yd, v, "'protocols': '%s' is not tcp or udp", l.v[j]);
			}
			strlist_free(&l);
			if (rc)
				return -1;
		} else if (!strcmp(k, "direction")) {
			static const char *const dirs[] = { "outbound", "inbound", "any" };
			int d = 0;

			if (get_enum(c, v, k, dirs, 3, &d))
				return -1;
			f->directions = d == 0 ? GW_DIR_OUTBOUND
				      : d == 1 ? GW_DIR_INBOUND
					       : GW_DIR_OUTBOUND | GW_DIR_INBOUND;
		} else {
			return unknown_key(c, &kv[i], "'flow'", allowed);
		}
	}
	if (!f->dns_suffixes.n && !f->n_cidrs && !f->n_ports)
		return yaml_doc_fail_at(&c->yd, n, "'flow' needs dns_suffixes, cidrs or ports");
	return 0;
}

static int parse_structure(struct parse_ctx *c, yaml_node_t *n, struct gw_device_structure *s)
{
	static const char allowed[] = "composite, boot_keyboard, absolute_pointer, "
				      "absolute_max_at_least, storage_or_network";
	struct kv kv[MAX_KEYS];
	size_t nkv;

	if (get_map(c, n, "'structure'", kv, &nkv))
		return -1;
	for (size_t i = 0; i < nkv; i++) {
		const char *k = kv[i].key;
		bool *b = !strcmp(k, "composite")	     ? &s->composite
			  : !strcmp(k, "boot_keyboard")	     ? &s->boot_keyboard
			  : !strcmp(k, "absolute_pointer")   ? &s->absolute_pointer
			  : !strcmp(k, "storage_or_network") ? &s->storage_or_network
							     : NULL;
		if (b) {
			if (get_bool(c, kv[i].value, k, b))
				return -1;
		} else if (!strcmp(k, "absolute_max_at_least")) {
			unsigned long v;

			if (get_uint(c, kv[i].value, k, 0x7fffffff, &v))
				return -1;
			s->absolute_max_at_least = (uint32_t)v;
		} else {
			return unknown_key(c, &kv[i], "'structure'", allowed);
		}
	}
	if (!s->composite && !s->boot_keyboard && !s->absolute_pointer && !s->storage_or_network &&
	    !s->absolute_max_at_least)
		return yaml_doc_fail_at(&c->yd, n, "'structure' requires nothing");
	return 0;
}

static int parse_device(struct parse_ctx *c, yaml_node_t *n, struct gw_device_cond *d)
{
	static const char allowed[] = "usb_ids, manufacturers, products, product_contains, "
				      "serials, edid_monitor_names, edid_ids, structure";
	struct kv kv[MAX_KEYS];
	size_t nkv;

	if (get_map(c, n, "'device'", kv, &nkv))
		return -1;
	for (size_t i = 0; i < nkv; i++) {
		const char *k = kv[i].key;
		yaml_node_t *v = kv[i].value;
		struct gw_strlist *l = !strcmp(k, "manufacturers")	? &d->manufacturers
				       : !strcmp(k, "products")		? &d->products
				       : !strcmp(k, "product_contains")	? &d->product_contains
				       : !strcmp(k, "serials")		? &d->serials
				       : !strcmp(k, "edid_monitor_names") ? &d->edid_monitor_names
									  : NULL;
		if (l) {
			if (get_strlist(c, v, k, l))
				return -1;
		} else if (!strcmp(k, "usb_ids")) {
			if (get_seq(c, v, k, sizeof(struct gw_usb_id), usb_item,
				    (void **)&d->usb_ids, &d->n_usb_ids))
				return -1;
		} else if (!strcmp(k, "edid_ids")) {
			if (get_seq(c, v, k, sizeof(struct gw_edid_id), edid_item,
				    (void **)&d->edid_ids, &d->n_edid_ids))
				return -1;
		} else if (!strcmp(k, "structure")) {
			d->has_structure = true;
			if (parse_structure(c, v, &d->structure))
				return -1;
		} else {
			return unknown_key(c, &kv[i], "'device'", allowed);
		}
	}
	if (!d->n_usb_ids && !d->manufacturers.n && !d->products.n && !d->product_contains.n &&
	    !d->serials.n && !d->edid_monitor_names.n && !d->n_edid_ids && !d->has_structure)
		return yaml_doc_fail_at(&c->yd, n, "'device' needs at least one condition");
	if ((d->edid_monitor_names.n || d->n_edid_ids) &&
	    (d->n_usb_ids || d->manufacturers.n || d->products.n || d->product_contains.n ||
	     d->serials.n || d->has_structure))
		return yaml_doc_fail_at(&c->yd, n, "EDID conditions describe a monitor, USB conditions a USB device: "
				  "put them in separate rules");
	return 0;
}

static int parse_netif(struct parse_ctx *c, yaml_node_t *n, struct gw_netif_cond *ni)
{
	struct kv kv[MAX_KEYS];
	size_t nkv;

	if (get_map(c, n, "'netif'", kv, &nkv))
		return -1;
	for (size_t i = 0; i < nkv; i++) {
		struct gw_strlist *l = !strcmp(kv[i].key, "names")	 ? &ni->names
				       : !strcmp(kv[i].key, "prefixes") ? &ni->prefixes
									: NULL;
		if (!l)
			return unknown_key(c, &kv[i], "'netif'", "names, prefixes");
		if (get_strlist(c, kv[i].value, kv[i].key, l))
			return -1;
		for (size_t j = 0; j < l->n; j++)
			if (strlen(l->v[j]) > 15)
				return yaml_doc_fail_at(&c->yd, kv[i].value,
					    "'%s': '%s' is longer than an interface name (15)",
					    kv[i].key, l->v[j]);
	}
	if (!ni->names.n && !ni->prefixes.n)
		return yaml_doc_fail_at(&c->yd, n, "'netif' needs names or prefixes");
	return 0;
}

static int parse_match(struct parse_ctx *c, yaml_node_t *n, struct gw_rule *r)
{
	struct kv kv[MAX_KEYS];
	size_t nkv;

	if (get_map(c, n, "'match'", kv, &nkv))
		return -1;
	if (nkv != 1)
		return yaml_doc_fail_at(&c->yd, n, "'match' needs exactly one of exec, flow, device, netif");
	if (!strcmp(kv[0].key, "exec")) {
		r->kind = GW_RULE_EXEC;
		return parse_exec(c, kv[0].value, &r->exec);
	}
	if (!strcmp(kv[0].key, "flow")) {
		r->kind = GW_RULE_FLOW;
		return parse_flow(c, kv[0].value, &r->flow);
	}
	if (!strcmp(kv[0].key, "device")) {
		r->kind = GW_RULE_DEVICE;
		return parse_device(c, kv[0].value, &r->device);
	}
	if (!strcmp(kv[0].key, "netif")) {
		r->kind = GW_RULE_NETIF;
		return parse_netif(c, kv[0].value, &r->netif);
	}
	return unknown_key(c, &kv[0], "'match'", "exec, flow, device, netif");
}

static void rule_free_fields(struct gw_rule *r)
{
	free(r->id);
	free(r->title);
	free(r->vendor);
	free(r->technique);
	free(r->file);
	strlist_free(&r->sources);
	switch (r->kind) {
	case GW_RULE_EXEC:
		strlist_free(&r->exec.names);
		strlist_free(&r->exec.paths);
		strlist_free(&r->exec.path_prefixes);
		strlist_free(&r->exec.script_names);
		strlist_free(&r->exec.argv_sequence);
		strlist_free(&r->exec.parent_names);
		break;
	case GW_RULE_FLOW:
		strlist_free(&r->flow.dns_suffixes);
		free(r->flow.cidrs);
		free(r->flow.ports);
		break;
	case GW_RULE_DEVICE:
		free(r->device.usb_ids);
		strlist_free(&r->device.manufacturers);
		strlist_free(&r->device.products);
		strlist_free(&r->device.product_contains);
		strlist_free(&r->device.serials);
		strlist_free(&r->device.edid_monitor_names);
		free(r->device.edid_ids);
		break;
	case GW_RULE_NETIF:
		strlist_free(&r->netif.names);
		strlist_free(&r->netif.prefixes);
		break;
	}
	memset(r, 0, sizeof(*r));
}

static bool valid_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

static bool valid_technique(const char *s)
{
	/* T1234 or T1234.001 */
	if (s[0] != 'T' || strspn(s + 1, "0123456789") != 4)
		return false;
	if (s[5] == 0)
		return true;
	return s[5] == '.' && strspn(s + 6, "0123456789") == 3 && s[9] == 0;
}

static int parse_rule(struct parse_ctx *c, yaml_node_t *n, struct gw_rule *r)
{
	static const char allowed[] = "id, title, description, category, vendor, severity, "
				      "technique, confidence, sources, enabled, match";
	struct kv kv[MAX_KEYS];
	size_t nkv;
	yaml_node_t *match = NULL;
	bool has_cat = false, has_sev = false, has_conf = false;

	memset(r, 0, sizeof(*r));
	r->kind = GW_RULE_EXEC; /* so rule_free_fields frees the (empty) exec lists */
	r->enabled = true;
	r->line = (int)n->start_mark.line + 1;
	if (get_map(c, n, "a rule", kv, &nkv))
		return -1;
	for (size_t i = 0; i < nkv; i++) {
		const char *k = kv[i].key;
		yaml_node_t *v = kv[i].value;
		int e = 0, rc = 0;

		if (!strcmp(k, "id"))
			rc = get_string(c, v, k, 64, &r->id);
		else if (!strcmp(k, "title"))
			rc = get_string(c, v, k, GW_RULES_MAX_TEXT, &r->title);
		else if (!strcmp(k, "description")) {
			char *d = NULL;

			rc = get_string(c, v, k, 4096, &d);
			free(d);
		} else if (!strcmp(k, "vendor"))
			rc = get_string(c, v, k, GW_RULES_MAX_TEXT, &r->vendor);
		else if (!strcmp(k, "technique"))
			rc = get_string(c, v, k, 16, &r->technique);
		else if (!strcmp(k, "category")) {
			/* combination is reserved for the findings engine */
			rc = get_enum(c, v, k, category_names, GW_CAT_COMBO, &e);
			r->category = (enum gw_rule_category)e;
			has_cat = true;
		} else if (!strcmp(k, "severity")) {
			rc = get_enum(c, v, k, severity_names, 5, &e);
			r->severity = (enum gw_severity)e;
			has_sev = true;
		} else if (!strcmp(k, "confidence")) {
			rc = get_enum(c, v, k, confidence_names, 3, &e);
			r->confidence = (enum gw_confidence)e;
			has_conf = true;
		} else if (!strcmp(k, "sources")) {
			rc = get_strlist(c, v, k, &r->sources);
		} else if (!strcmp(k, "enabled")) {
			rc = get_bool(c, v, k, &r->enabled);
		} else if (!strcmp(k, "match")) {
			match = v;
		} else {
			rc = unknown_key(c, &kv[i], "a rule", allowed);
		}
		if (rc)
			return -1;
	}
	if (!r->id)
		return yaml_doc_fail_at(&c->yd, n, "rule without 'id'");
	if (!valid_id(r->id))
		return yaml_doc_fail_at(&c->yd, n, "rule id '%s' must be 1..64 of [A-Za-z0-9._-]", r->id);
	if (r->technique && !valid_technique(r->technique))
		return yaml_doc_fail_at(&c->yd, n, "rule %s: technique '%s' is not an ATT&CK id like T1219 or T1219.001",
			    r->id, r->technique);
	if (match && parse_match(c, match, r))
		return -1;
	if (!r->enabled)
		return 0; /* a stub that switches a rule off needs nothing else */
	if (!r->title || !has_cat || !has_sev || !has_conf || !r->technique || !r->sources.n ||
	    !match)
		return yaml_doc_fail_at(&c->yd, n,
			    "rule %s needs title, category, severity, technique, confidence, "
			    "sources and match",
			    r->id);
	if (!r->vendor)
		r->vendor = strdup(r->id);
	if (!r->vendor)
		return yaml_doc_fail_at(&c->yd, n, "out of memory");
	return 0;
}

/* ---- ruleset ----------------------------------------------------------------------------- */

struct gw_ruleset *gw_ruleset_new(void)
{
	struct ruleset_priv *p = calloc(1, sizeof(*p));

	return p ? &p->pub : NULL;
}

void gw_ruleset_free(struct gw_ruleset *rs)
{
	struct ruleset_priv *p;
	struct rule_index *e, *tmp;

	if (!rs)
		return;
	p = priv(rs);
	HASH_ITER(hh, p->by_id, e, tmp)
	{
		HASH_DEL(p->by_id, e);
		free(e);
	}
	for (size_t i = 0; i < rs->n; i++)
		rule_free_fields(&rs->rules[i]);
	free(rs->rules);
	free(p->generations);
	free(p);
}

size_t gw_ruleset_enabled_count(const struct gw_ruleset *rs)
{
	size_t n = 0;

	for (size_t i = 0; i < rs->n; i++)
		n += rs->rules[i].enabled;
	return n;
}

/* Adds r (taking ownership) or replaces the rule with its id from an earlier directory. */
static int ruleset_add(struct parse_ctx *c, yaml_node_t *n, struct gw_ruleset *rs,
		       struct gw_rule *r)
{
	struct ruleset_priv *p = priv(rs);
	struct rule_index *e;

	HASH_FIND_STR(p->by_id, r->id, e);
	if (e) {
		struct gw_rule *old = &rs->rules[e->idx];

		if (p->generations[e->idx] == p->generation)
			return yaml_doc_fail_at(&c->yd, n, "duplicate rule id %s (first defined at %s:%d)", r->id,
				    old->file, old->line);
		rule_free_fields(old);
		*old = *r;
		p->generations[e->idx] = p->generation;
		return 0;
	}
	if (rs->n >= GW_RULES_MAX_RULES)
		return yaml_doc_fail_at(&c->yd, n, "more than %d rules", GW_RULES_MAX_RULES);
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		struct gw_rule *nr = realloc(rs->rules, cap * sizeof(*nr));
		int *ng;

		if (!nr)
			return yaml_doc_fail_at(&c->yd, n, "out of memory");
		rs->rules = nr;
		ng = realloc(p->generations, cap * sizeof(*ng));
		if (!ng)
			return yaml_doc_fail_at(&c->yd, n, "out of memory");
		p->generations = ng;
		rs->cap = cap;
	}
	e = malloc(sizeof(*e) + strlen(r->id) + 1);
	if (!e)
		return yaml_doc_fail_at(&c->yd, n, "out of memory");
	strcpy(e->id, r->id);
	e->idx = rs->n;
	HASH_ADD_STR(p->by_id, id, e);
	p->generations[rs->n] = p->generation;
	rs->rules[rs->n++] = *r;
	return 0;
}

static int parse_document(struct parse_ctx *c, struct gw_ruleset *rs)
{
	yaml_node_t *root = yaml_doc_root(&c->yd), *rules = NULL;
	struct kv kv[MAX_KEYS];
	size_t nkv;
	bool has_version = false;

	if (!root)
		return yaml_doc_fail_at(&c->yd, NULL, "empty rules file (expected 'version: 1' and 'rules:')");
	if (visit(c, 1, &root) || get_map(c, root, "the file", kv, &nkv))
		return -1;
	for (size_t i = 0; i < nkv; i++) {
		if (!strcmp(kv[i].key, "version")) {
			unsigned long v;

			if (get_uint(c, kv[i].value, "version", 1000, &v))
				return -1;
			if (v != 1)
				return yaml_doc_fail_at(&c->yd, kv[i].value, "unsupported rules format version %lu (this "
							    "agent reads version 1)",
					    v);
			has_version = true;
		} else if (!strcmp(kv[i].key, "rules")) {
			rules = kv[i].value;
		} else {
			return unknown_key(c, &kv[i], "the file", "version, rules");
		}
	}
	if (!has_version)
		return yaml_doc_fail_at(&c->yd, root, "missing 'version: 1'");
	if (!rules)
		return yaml_doc_fail_at(&c->yd, root, "missing 'rules:'");
	if (rules->type != YAML_SEQUENCE_NODE)
		return yaml_doc_fail_at(&c->yd, rules, "'rules' must be a list");
	for (yaml_node_item_t *it = rules->data.sequence.items.start;
	     it < rules->data.sequence.items.top; it++) {
		struct gw_rule r;
		yaml_node_t *rn;

		if (visit(c, *it, &rn))
			return -1;
		if (parse_rule(c, rn, &r)) {
			rule_free_fields(&r);
			return -1;
		}
		r.file = strdup(c->yd.name);
		if (!r.file || ruleset_add(c, rn, rs, &r)) {
			rule_free_fields(&r);
			return -1;
		}
	}
	return 0;
}

int gw_rules_parse_buffer(struct gw_ruleset *rs, const char *name, const char *data, size_t len,
			  bool override, char *err, size_t errlen)
{
	struct parse_ctx c = { 0 };
	int rc = -1;

	if (len > GW_RULES_MAX_FILE_BYTES) {
		snprintf(err, errlen, "%s:1: file is %zu bytes, larger than the limit of %u", name, len,
			 GW_RULES_MAX_FILE_BYTES);
		return -1;
	}
	if (override)
		priv(rs)->generation++;
	if (yaml_doc_load(&c.yd, name, data, len, err, errlen))
		goto out;
	c.n_nodes = yaml_doc_node_count(&c.yd);
	c.visited = calloc(c.n_nodes ? c.n_nodes : 1, 1);
	if (!c.visited) {
		yaml_doc_fail(&c.yd, 1, "out of memory");
		goto out;
	}
	rc = parse_document(&c, rs);
out:
	free(c.visited);
	yaml_doc_free(&c.yd);
	return rc;
}

/*
 * Rules decide what gets reported: a file or directory another user can write would let that user
 * switch detections off. Only the agent's own user (or root) may own them, and no group/other write.
 */
static int check_owner(const char *path, const struct stat *st, char *err, size_t errlen)
{
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(err, errlen, "%s:1: owned by uid %u, not by root or the agent's user", path,
			 (unsigned)st->st_uid);
		return -1;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s:1: writable by group or others (mode %04o)", path,
			 (unsigned)(st->st_mode & 07777));
		return -1;
	}
	return 0;
}

static int read_file(const char *path, bool strict_owner, char **data, size_t *len, char *err,
		     size_t errlen)
{
	struct stat st;
	ssize_t got;
	size_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0) {
		snprintf(err, errlen, "%s:1: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s:1: not a regular file", path);
		close(fd);
		return -1;
	}
	if (strict_owner && check_owner(path, &st, err, errlen)) {
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size > GW_RULES_MAX_FILE_BYTES) {
		snprintf(err, errlen, "%s:1: file is %lld bytes, larger than the limit of %u", path,
			 (long long)st.st_size, GW_RULES_MAX_FILE_BYTES);
		close(fd);
		return -1;
	}
	*data = malloc((size_t)st.st_size + 1);
	if (!*data) {
		close(fd);
		snprintf(err, errlen, "%s:1: out of memory", path);
		return -1;
	}
	while (off < (size_t)st.st_size && (got = read(fd, *data + off, (size_t)st.st_size - off)) > 0)
		off += (size_t)got;
	close(fd);
	(*data)[off] = 0;
	*len = off;
	return 0;
}

static int yaml_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	if (d->d_name[0] == '.')
		return 0;
	return (n > 5 && !strcmp(d->d_name + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(d->d_name + n - 4, ".yml"));
}

static int load_dir(struct gw_ruleset *rs, const struct gw_rules_dir *dir, char *err,
		    size_t errlen)
{
	struct dirent **names = NULL;
	struct stat st;
	int n, rc = 0;

	if (dir->strict_owner && stat(dir->path, &st) == 0 &&
	    check_owner(dir->path, &st, err, errlen))
		return -1;
	n = scandir(dir->path, &names, yaml_name, alphasort);
	if (n < 0) {
		if (dir->optional && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s:1: cannot read rules directory: %s", dir->path,
			 strerror(errno));
		return -1;
	}
	if (n > GW_RULES_MAX_FILES) {
		snprintf(err, errlen, "%s:1: %d rule files, more than the limit of %d", dir->path, n,
			 GW_RULES_MAX_FILES);
		rc = -1;
	}
	priv(rs)->generation++;
	for (int i = 0; i < n; i++) {
		char path[4096];
		char *data = NULL;
		size_t len = 0;

		if (!rc) {
			snprintf(path, sizeof(path), "%s/%s", dir->path, names[i]->d_name);
			rc = read_file(path, dir->strict_owner, &data, &len, err, errlen) ||
			     gw_rules_parse_buffer(rs, path, data, len, false, err, errlen);
			rs->n_files += !rc;
			free(data);
		}
		free(names[i]);
	}
	free(names);
	return rc ? -1 : 0;
}

int gw_rules_load(const struct gw_rules_dir *dirs, size_t n_dirs, struct gw_ruleset **out,
		  char *err, size_t errlen)
{
	struct gw_ruleset *rs = gw_ruleset_new();

	if (!rs) {
		snprintf(err, errlen, "rules: out of memory");
		return -1;
	}
	for (size_t i = 0; i < n_dirs; i++) {
		if (load_dir(rs, &dirs[i], err, errlen)) {
			gw_ruleset_free(rs);
			return -1;
		}
	}
	*out = rs;
	return 0;
}
