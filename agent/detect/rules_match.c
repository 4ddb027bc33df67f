/*
 * rules_match.c - compiled matchers over a gw_ruleset. See rules_match.h.
 *
 * Every rule is indexed under one kind of selector (the most selective it has); a lookup gathers
 * candidate rules from the indexes an input can hit and then checks the rule's remaining
 * conditions, which are cheap comparisons on short lists. Nothing on this path scans all rules or
 * runs a pattern engine.
 */
#include "rules_match.h"

#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <uthash.h>

/* Rule indices (into ruleset->rules). */
struct idlist {
	uint32_t *v;
	uint32_t n, cap;
};

/* String -> rules. */
struct smap {
	UT_hash_handle hh;
	struct idlist ids;
	const char *pattern; /* the rule's text, for gw_match.value */
	char key[];
};

/* Integer -> rules. */
struct umap {
	UT_hash_handle hh;
	uint32_t key;
	struct idlist ids;
};

/* Component trie: path components from the left, DNS labels from the right. */
struct tnode {
	UT_hash_handle hh;
	struct tnode *kids;
	struct idlist ids;
	const char *pattern;
	char key[];
};

/* Bit trie for CIDRs. */
struct bnode {
	struct bnode *kid[2];
	struct idlist ids;
	const char *pattern;
};

struct port_rule {
	uint16_t lo, hi;
	uint32_t rule;
};

struct gw_matcher {
	struct gw_ruleset *rs;
	bool oom;

	struct smap *exec_names, *exec_comm, *exec_paths, *exec_scripts;
	struct tnode *exec_prefixes; /* root's kids */
	struct idlist exec_always;   /* argv-only rules */

	struct tnode *dns_suffixes; /* root's kids, keyed by the rightmost label */
	struct bnode *cidr4, *cidr6;
	struct port_rule *ports;
	size_t n_ports;
	uint8_t port_bitmap[65536 / 8];

	struct umap *dev_ids, *dev_vendors, *dev_edid_ids;
	struct smap *dev_manufacturers, *dev_products, *dev_serials, *dev_edid_names;
	struct idlist dev_always;

	struct smap *netif_names;
	struct idlist netif_prefix_rules;
};

#define KERNEL_COMM_LEN 15
#define MAX_LABELS 128

/* ---- building ---------------------------------------------------------------------------- */

static void idlist_add(struct gw_matcher *m, struct idlist *l, uint32_t id)
{
	if (l->n && l->v[l->n - 1] == id)
		return; /* the same rule listing a value twice */
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 4;
		uint32_t *nv = realloc(l->v, cap * sizeof(*nv));

		if (!nv) {
			m->oom = true;
			return;
		}
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = id;
}

static void lower_copy(char *dst, const char *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[len] = 0;
}

static void smap_add(struct gw_matcher *m, struct smap **head, const char *key, bool fold_case,
		     uint32_t id)
{
	size_t len = strlen(key);
	struct smap *e;
	char *k = malloc(len + 1);

	if (!k) {
		m->oom = true;
		return;
	}
	if (fold_case)
		lower_copy(k, key, len);
	else
		memcpy(k, key, len + 1);
	HASH_FIND(hh, *head, k, len, e);
	if (!e) {
		e = calloc(1, sizeof(*e) + len + 1);
		if (!e) {
			free(k);
			m->oom = true;
			return;
		}
		memcpy(e->key, k, len + 1);
		e->pattern = key;
		HASH_ADD_KEYPTR(hh, *head, e->key, len, e);
	}
	free(k);
	idlist_add(m, &e->ids, id);
}

static const struct smap *smap_find(const struct smap *head, const char *key, size_t len)
{
	struct smap *e;

	HASH_FIND(hh, head, key, len, e);
	return e;
}

static void umap_add(struct gw_matcher *m, struct umap **head, uint32_t key, uint32_t id)
{
	struct umap *e;

	HASH_FIND(hh, *head, &key, sizeof(key), e);
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e) {
			m->oom = true;
			return;
		}
		e->key = key;
		HASH_ADD(hh, *head, key, sizeof(e->key), e);
	}
	idlist_add(m, &e->ids, id);
}

static const struct umap *umap_find(const struct umap *head, uint32_t key)
{
	struct umap *e;

	HASH_FIND(hh, head, &key, sizeof(key), e);
	return e;
}

static struct tnode *tnode_child(struct gw_matcher *m, struct tnode **kids, const char *key,
				 size_t len, bool create)
{
	struct tnode *e;

	HASH_FIND(hh, *kids, key, len, e);
	if (e || !create)
		return e;
	e = calloc(1, sizeof(*e) + len + 1);
	if (!e) {
		m->oom = true;
		return NULL;
	}
	memcpy(e->key, key, len);
	HASH_ADD_KEYPTR(hh, *kids, e->key, len, e);
	return e;
}

/* Path prefix "/usr/local/Astrill/" -> components usr, local, Astrill. */
static void path_trie_add(struct gw_matcher *m, struct tnode **root, const char *path, uint32_t id)
{
	struct tnode **kids = root, *node = NULL;
	const char *p = path;

	while (*p) {
		const char *end;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		end = strchrnul(p, '/');
		node = tnode_child(m, kids, p, (size_t)(end - p), true);
		if (!node)
			return;
		kids = &node->kids;
		p = end;
	}
	if (!node)
		return; /* "/" alone would match everything: the loader's paths are never just "/" */
	node->pattern = path;
	idlist_add(m, &node->ids, id);
}

/* Splits a lower-case DNS name into labels, rightmost first. Returns the count, 0 if too many. */
static size_t dns_labels(const char *name, size_t len, const char **lab, size_t *lablen)
{
	size_t n = 0, end = len;

	for (size_t i = len; i-- > 0;) {
		if (name[i] == '.') {
			if (n == MAX_LABELS)
				return 0;
			lab[n] = name + i + 1;
			lablen[n++] = end - i - 1;
			end = i;
		}
	}
	if (n == MAX_LABELS)
		return 0;
	lab[n] = name;
	lablen[n++] = end;
	return n;
}

static void dns_trie_add(struct gw_matcher *m, const char *suffix, uint32_t id)
{
	const char *lab[MAX_LABELS];
	size_t lablen[MAX_LABELS], n = dns_labels(suffix, strlen(suffix), lab, lablen);
	struct tnode **kids = &m->dns_suffixes, *node = NULL;

	for (size_t i = 0; i < n; i++) {
		node = tnode_child(m, kids, lab[i], lablen[i], true);
		if (!node)
			return;
		kids = &node->kids;
	}
	if (!node)
		return;
	node->pattern = suffix;
	idlist_add(m, &node->ids, id);
}

static void cidr_add(struct gw_matcher *m, const struct gw_cidr *c, uint32_t id,
		     const char *pattern)
{
	struct bnode **slot = c->family == AF_INET ? &m->cidr4 : &m->cidr6;

	for (unsigned b = 0;; b++) {
		if (!*slot) {
			*slot = calloc(1, sizeof(**slot));
			if (!*slot) {
				m->oom = true;
				return;
			}
		}
		if (b == c->prefix_len)
			break;
		slot = &(*slot)->kid[(c->addr[b / 8] >> (7 - b % 8)) & 1];
	}
	(*slot)->pattern = pattern;
	idlist_add(m, &(*slot)->ids, id);
}

/* USB vendor ids and PNP ids as hash keys. */
static uint32_t usb_key(uint16_t vid, uint16_t pid)
{
	return (uint32_t)vid << 16 | pid;
}

static bool edid_key(const char *mfg, uint16_t code, uint32_t *key)
{
	uint32_t k = 0;

	for (int i = 0; i < 3; i++) {
		char ch = mfg ? mfg[i] : 0;

		if (ch < 'A' || ch > 'Z')
			return false;
		k = k << 5 | (uint32_t)(ch - 'A' + 1);
	}
	*key = k << 16 | code;
	return true;
}

static void index_exec(struct gw_matcher *m, const struct gw_exec_cond *e, uint32_t id)
{
	for (size_t i = 0; i < e->names.n; i++) {
		smap_add(m, &m->exec_names, e->names.v[i], false, id);
		/* The kernel's comm is the name cut to 15 bytes: index that too for exe-less events. */
		if (strlen(e->names.v[i]) > KERNEL_COMM_LEN) {
			char cut[KERNEL_COMM_LEN + 1];

			memcpy(cut, e->names.v[i], KERNEL_COMM_LEN);
			cut[KERNEL_COMM_LEN] = 0;
			smap_add(m, &m->exec_comm, cut, false, id);
		} else {
			smap_add(m, &m->exec_comm, e->names.v[i], false, id);
		}
	}
	for (size_t i = 0; i < e->paths.n; i++)
		smap_add(m, &m->exec_paths, e->paths.v[i], false, id);
	for (size_t i = 0; i < e->path_prefixes.n; i++)
		path_trie_add(m, &m->exec_prefixes, e->path_prefixes.v[i], id);
	for (size_t i = 0; i < e->script_names.n; i++)
		smap_add(m, &m->exec_scripts, e->script_names.v[i], false, id);
	if (!e->names.n && !e->paths.n && !e->path_prefixes.n && !e->script_names.n)
		idlist_add(m, &m->exec_always, id);
}

static void index_flow(struct gw_matcher *m, const struct gw_flow_cond *f, uint32_t id)
{
	for (size_t i = 0; i < f->dns_suffixes.n; i++)
		dns_trie_add(m, f->dns_suffixes.v[i], id);
	for (size_t i = 0; i < f->n_cidrs; i++)
		cidr_add(m, &f->cidrs[i], id, NULL);
	if (f->dns_suffixes.n || f->n_cidrs)
		return; /* ports restrict a destination rule, checked after the lookup */
	for (size_t i = 0; i < f->n_ports; i++) {
		struct port_rule *np = realloc(m->ports, (m->n_ports + 1) * sizeof(*np));

		if (!np) {
			m->oom = true;
			return;
		}
		m->ports = np;
		m->ports[m->n_ports++] = (struct port_rule){ f->ports[i].lo, f->ports[i].hi, id };
		for (uint32_t p = f->ports[i].lo; p <= f->ports[i].hi; p++)
			m->port_bitmap[p / 8] |= (uint8_t)(1u << (p % 8));
	}
}

static void index_device(struct gw_matcher *m, const struct gw_device_cond *d, uint32_t id)
{
	uint32_t key;

	if (d->n_usb_ids) {
		for (size_t i = 0; i < d->n_usb_ids; i++) {
			if (d->usb_ids[i].pid == GW_USB_ANY_PID)
				umap_add(m, &m->dev_vendors, d->usb_ids[i].vid, id);
			else
				umap_add(m, &m->dev_ids,
					 usb_key(d->usb_ids[i].vid, (uint16_t)d->usb_ids[i].pid), id);
		}
	} else if (d->manufacturers.n) {
		for (size_t i = 0; i < d->manufacturers.n; i++)
			smap_add(m, &m->dev_manufacturers, d->manufacturers.v[i], true, id);
	} else if (d->products.n) {
		for (size_t i = 0; i < d->products.n; i++)
			smap_add(m, &m->dev_products, d->products.v[i], true, id);
	} else if (d->serials.n) {
		for (size_t i = 0; i < d->serials.n; i++)
			smap_add(m, &m->dev_serials, d->serials.v[i], true, id);
	} else if (d->edid_monitor_names.n) {
		for (size_t i = 0; i < d->edid_monitor_names.n; i++)
			smap_add(m, &m->dev_edid_names, d->edid_monitor_names.v[i], true, id);
	} else if (d->n_edid_ids) {
		for (size_t i = 0; i < d->n_edid_ids; i++)
			if (edid_key(d->edid_ids[i].mfg, d->edid_ids[i].product_code, &key))
				umap_add(m, &m->dev_edid_ids, key, id);
	} else {
		idlist_add(m, &m->dev_always, id); /* structure / product_contains only */
	}
}

static void index_netif(struct gw_matcher *m, const struct gw_netif_cond *n, uint32_t id)
{
	for (size_t i = 0; i < n->names.n; i++)
		smap_add(m, &m->netif_names, n->names.v[i], false, id);
	if (n->prefixes.n)
		idlist_add(m, &m->netif_prefix_rules, id);
}

struct gw_matcher *gw_matcher_build(struct gw_ruleset *rs)
{
	struct gw_matcher *m = calloc(1, sizeof(*m));

	if (!m) {
		gw_ruleset_free(rs);
		return NULL;
	}
	m->rs = rs;
	for (uint32_t i = 0; i < rs->n; i++) {
		const struct gw_rule *r = &rs->rules[i];

		if (!r->enabled)
			continue;
		switch (r->kind) {
		case GW_RULE_EXEC:
			index_exec(m, &r->exec, i);
			break;
		case GW_RULE_FLOW:
			index_flow(m, &r->flow, i);
			break;
		case GW_RULE_DEVICE:
			index_device(m, &r->device, i);
			break;
		case GW_RULE_NETIF:
			index_netif(m, &r->netif, i);
			break;
		}
	}
	if (m->oom) {
		gw_matcher_free(m);
		return NULL;
	}
	return m;
}

/* ---- freeing ----------------------------------------------------------------------------- */

static void smap_free(struct smap **head)
{
	struct smap *e, *tmp;

	HASH_ITER(hh, *head, e, tmp)
	{
		HASH_DEL(*head, e);
		free(e->ids.v);
		free(e);
	}
}

static void umap_free(struct umap **head)
{
	struct umap *e, *tmp;

	HASH_ITER(hh, *head, e, tmp)
	{
		HASH_DEL(*head, e);
		free(e->ids.v);
		free(e);
	}
}

static void tnode_free(struct tnode **kids)
{
	struct tnode *e, *tmp;

	HASH_ITER(hh, *kids, e, tmp)
	{
		HASH_DEL(*kids, e);
		tnode_free(&e->kids);
		free(e->ids.v);
		free(e);
	}
}

static void bnode_free(struct bnode *n)
{
	/* Iterative over one child, recursive over the other: depth is at most 128 either way. */
	while (n) {
		struct bnode *next = n->kid[1];

		bnode_free(n->kid[0]);
		free(n->ids.v);
		free(n);
		n = next;
	}
}

void gw_matcher_free(struct gw_matcher *m)
{
	if (!m)
		return;
	smap_free(&m->exec_names);
	smap_free(&m->exec_comm);
	smap_free(&m->exec_paths);
	smap_free(&m->exec_scripts);
	tnode_free(&m->exec_prefixes);
	free(m->exec_always.v);
	tnode_free(&m->dns_suffixes);
	bnode_free(m->cidr4);
	bnode_free(m->cidr6);
	free(m->ports);
	umap_free(&m->dev_ids);
	umap_free(&m->dev_vendors);
	umap_free(&m->dev_edid_ids);
	smap_free(&m->dev_manufacturers);
	smap_free(&m->dev_products);
	smap_free(&m->dev_serials);
	smap_free(&m->dev_edid_names);
	free(m->dev_always.v);
	smap_free(&m->netif_names);
	free(m->netif_prefix_rules.v);
	gw_ruleset_free(m->rs);
	free(m);
}

const struct gw_ruleset *gw_matcher_ruleset(const struct gw_matcher *m)
{
	return m->rs;
}

/* ---- matching ---------------------------------------------------------------------------- */

struct out {
	struct gw_match *v;
	size_t n, max;
};

static void out_add(struct out *o, const struct gw_rule *r, const char *why, const char *value)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].rule == r)
			return;
	if (o->n < o->max)
		o->v[o->n++] = (struct gw_match){ r, why, value };
}

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

static bool nonempty(const char *s)
{
	return s && *s;
}

static bool in_list(const struct gw_strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return true;
	return false;
}

static bool argv_has_sequence(const struct gw_strlist *seq, const char *const *argv, size_t argc)
{
	if (seq->n == 0)
		return true;
	for (size_t i = 1; i + seq->n <= argc; i++) {
		size_t k = 0;

		while (k < seq->n && argv[i + k] && !strcmp(argv[i + k], seq->v[k]))
			k++;
		if (k == seq->n)
			return true;
	}
	return false;
}

static bool exec_rest_matches(const struct gw_rule *r, const struct gw_exec_input *in)
{
	const struct gw_exec_cond *e = &r->exec;

	if (!argv_has_sequence(&e->argv_sequence, in->argv, in->argv ? in->argc : 0))
		return false;
	if (e->parent_names.n) {
		const char *p = nonempty(in->parent_exe) ? base_name(in->parent_exe) : in->parent_comm;

		if (!nonempty(p) || !in_list(&e->parent_names, p))
			return false;
	}
	return true;
}

static void exec_ids(const struct gw_matcher *m, const struct idlist *ids,
		     const struct gw_exec_input *in, struct out *o, const char *why,
		     const char *value)
{
	for (uint32_t i = 0; i < ids->n; i++) {
		const struct gw_rule *r = &m->rs->rules[ids->v[i]];

		if (!exec_rest_matches(r, in))
			continue;
		/* Say when the argv (or parent) condition took part, not only the selector. */
		if (r->exec.argv_sequence.n && value)
			out_add(o, r, "argv sequence with", value);
		else
			out_add(o, r, why, value);
	}
}

size_t gw_match_exec(const struct gw_matcher *m, const struct gw_exec_input *in,
		     struct gw_match *outv, size_t max)
{
	struct out o = { outv, 0, max };
	const struct smap *s;

	if (nonempty(in->exe)) {
		const char *b = base_name(in->exe);
		const struct tnode *kids = m->exec_prefixes;
		const char *p = in->exe;

		if ((s = smap_find(m->exec_names, b, strlen(b))))
			exec_ids(m, &s->ids, in, &o, "exe name", s->pattern);
		if ((s = smap_find(m->exec_paths, in->exe, strlen(in->exe))))
			exec_ids(m, &s->ids, in, &o, "exe path", s->pattern);
		while (*p && kids) {
			const char *end;
			struct tnode *node;

			while (*p == '/')
				p++;
			end = strchrnul(p, '/');
			if (end == p)
				break;
			HASH_FIND(hh, kids, p, (size_t)(end - p), node);
			if (!node)
				break;
			if (node->ids.n)
				exec_ids(m, &node->ids, in, &o, "exe path prefix", node->pattern);
			kids = node->kids;
			p = end;
		}
	} else if (nonempty(in->comm)) {
		size_t len = strnlen(in->comm, KERNEL_COMM_LEN);

		if ((s = smap_find(m->exec_comm, in->comm, len)))
			exec_ids(m, &s->ids, in, &o, "comm", s->pattern);
	}
	if (m->exec_scripts && in->argv)
		for (size_t i = 1; i < in->argc; i++) {
			const char *b = base_name(in->argv[i]);

			if (b && (s = smap_find(m->exec_scripts, b, strlen(b))))
				exec_ids(m, &s->ids, in, &o, "script name", s->pattern);
		}
	exec_ids(m, &m->exec_always, in, &o, "argv", NULL);
	return o.n;
}

bool gw_dns_has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	if (n && name[n - 1] == '.')
		n--;
	if (s > n || strncasecmp(name + n - s, suffix, s))
		return false;
	return n == s || name[n - s - 1] == '.';
}

static bool port_in(const struct gw_flow_cond *f, uint16_t port)
{
	for (size_t i = 0; i < f->n_ports; i++)
		if (port >= f->ports[i].lo && port <= f->ports[i].hi)
			return true;
	return false;
}

static bool flow_rest_matches(const struct gw_rule *r, const struct gw_flow_input *in,
			      bool check_ports)
{
	const struct gw_flow_cond *f = &r->flow;
	uint8_t proto = in->protocol == IPPROTO_TCP   ? GW_PROTO_TCP
			: in->protocol == IPPROTO_UDP ? GW_PROTO_UDP
						      : 0;
	uint8_t dir = in->direction ? in->direction : GW_DIR_OUTBOUND;

	if (f->protocols && !(f->protocols & proto))
		return false;
	if (!(f->directions & dir))
		return false;
	if (check_ports && f->n_ports && !port_in(f, in->remote_port))
		return false;
	return true;
}

static void flow_ids(const struct gw_matcher *m, const struct idlist *ids,
		     const struct gw_flow_input *in, struct out *o, const char *why,
		     const char *value)
{
	for (uint32_t i = 0; i < ids->n; i++) {
		const struct gw_rule *r = &m->rs->rules[ids->v[i]];

		if (flow_rest_matches(r, in, true))
			out_add(o, r, why, value);
	}
}

size_t gw_match_flow(const struct gw_matcher *m, const struct gw_flow_input *in,
		     struct gw_match *outv, size_t max)
{
	struct out o = { outv, 0, max };

	if (nonempty(in->dns_name) && m->dns_suffixes) {
		char name[GW_RULES_MAX_DNS_NAME + 2];
		const char *lab[MAX_LABELS];
		size_t lablen[MAX_LABELS], len = strnlen(in->dns_name, sizeof(name)), n;
		const struct tnode *kids = m->dns_suffixes;

		if (len && in->dns_name[len - 1] == '.')
			len--;
		if (len && len <= GW_RULES_MAX_DNS_NAME) {
			lower_copy(name, in->dns_name, len);
			n = dns_labels(name, len, lab, lablen);
			for (size_t i = 0; i < n && kids; i++) {
				struct tnode *node;

				HASH_FIND(hh, kids, lab[i], lablen[i], node);
				if (!node)
					break;
				if (node->ids.n)
					flow_ids(m, &node->ids, in, &o, "dns suffix", node->pattern);
				kids = node->kids;
			}
		}
	}
	if (in->family == AF_INET || in->family == AF_INET6) {
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		const uint8_t *a = in->remote_addr;
		const struct bnode *node = m->cidr6;
		unsigned bits = 128;

		if (in->family == AF_INET || !memcmp(a, mapped, sizeof(mapped))) {
			if (in->family == AF_INET6)
				a += 12;
			node = m->cidr4;
			bits = 32;
		}
		for (unsigned b = 0; node; b++) {
			if (node->ids.n)
				flow_ids(m, &node->ids, in, &o, "cidr", node->pattern);
			if (b == bits)
				break;
			node = node->kid[(a[b / 8] >> (7 - b % 8)) & 1];
		}
	}
	if (in->remote_port && (m->port_bitmap[in->remote_port / 8] >> (in->remote_port % 8)) & 1)
		for (size_t i = 0; i < m->n_ports; i++) {
			const struct port_rule *p = &m->ports[i];
			const struct gw_rule *r = &m->rs->rules[p->rule];

			if (in->remote_port >= p->lo && in->remote_port <= p->hi &&
			    flow_rest_matches(r, in, false))
				out_add(&o, r, "port", NULL);
		}
	return o.n;
}

static bool str_in_fold(const struct gw_strlist *l, const char *s)
{
	if (!nonempty(s))
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (!strcasecmp(l->v[i], s))
			return true;
	return false;
}

static bool device_rule_matches(const struct gw_device_cond *d, const struct gw_device_input *in)
{
	if (d->n_usb_ids) {
		bool hit = false;

		if (in->kind != GW_DEVICE_USB || !in->has_ids)
			return false;
		for (size_t i = 0; i < d->n_usb_ids && !hit; i++)
			hit = d->usb_ids[i].vid == in->vid &&
			      (d->usb_ids[i].pid == GW_USB_ANY_PID || d->usb_ids[i].pid == in->pid);
		if (!hit)
			return false;
	}
	if (d->manufacturers.n && !str_in_fold(&d->manufacturers, in->manufacturer))
		return false;
	if (d->products.n && !str_in_fold(&d->products, in->product))
		return false;
	if (d->serials.n && !str_in_fold(&d->serials, in->serial))
		return false;
	if (d->product_contains.n) {
		bool hit = false;

		for (size_t i = 0; i < d->product_contains.n && !hit; i++)
			hit = nonempty(in->product) && strcasestr(in->product, d->product_contains.v[i]);
		if (!hit)
			return false;
	}
	if (d->edid_monitor_names.n &&
	    (in->kind != GW_DEVICE_MONITOR || !str_in_fold(&d->edid_monitor_names, in->edid_monitor_name)))
		return false;
	if (d->n_edid_ids) {
		bool hit = false;

		if (in->kind != GW_DEVICE_MONITOR || !nonempty(in->edid_mfg))
			return false;
		for (size_t i = 0; i < d->n_edid_ids && !hit; i++)
			hit = !strcmp(d->edid_ids[i].mfg, in->edid_mfg) &&
			      d->edid_ids[i].product_code == in->edid_product_code;
		if (!hit)
			return false;
	}
	if (d->has_structure) {
		const struct gw_device_structure *s = &d->structure;

		if (in->kind != GW_DEVICE_USB)
			return false;
		if (s->composite && in->n_interfaces < 2)
			return false;
		if (s->boot_keyboard && !in->has_boot_keyboard)
			return false;
		if (s->absolute_pointer && !in->has_absolute_pointer)
			return false;
		if (s->absolute_max_at_least &&
		    (!in->has_absolute_pointer || in->absolute_max < s->absolute_max_at_least))
			return false;
		if (s->storage_or_network &&
		    !(in->interfaces & (GW_DEV_IF_MASS_STORAGE | GW_DEV_IF_NET)))
			return false;
	}
	return true;
}

static void device_ids(const struct gw_matcher *m, const struct idlist *ids,
		       const struct gw_device_input *in, struct out *o, const char *why,
		       const char *value)
{
	for (uint32_t i = 0; i < ids->n; i++) {
		const struct gw_rule *r = &m->rs->rules[ids->v[i]];

		if (device_rule_matches(&r->device, in))
			out_add(o, r, why, value);
	}
}

static void device_smap(const struct gw_matcher *m, const struct smap *head, const char *s,
			const struct gw_device_input *in, struct out *o, const char *why)
{
	char key[GW_RULES_MAX_PATTERN + 1];
	const struct smap *e;
	size_t len;

	if (!head || !nonempty(s))
		return;
	len = strnlen(s, sizeof(key));
	if (len > GW_RULES_MAX_PATTERN)
		return; /* longer than any pattern can be */
	lower_copy(key, s, len);
	if ((e = smap_find(head, key, len)))
		device_ids(m, &e->ids, in, o, why, e->pattern);
}

size_t gw_match_device(const struct gw_matcher *m, const struct gw_device_input *in,
		       struct gw_match *outv, size_t max)
{
	struct out o = { outv, 0, max };
	const struct umap *u;
	uint32_t key;

	if (in->kind == GW_DEVICE_USB) {
		if (in->has_ids) {
			if ((u = umap_find(m->dev_ids, usb_key(in->vid, in->pid))))
				device_ids(m, &u->ids, in, &o, "usb id", NULL);
			if ((u = umap_find(m->dev_vendors, in->vid)))
				device_ids(m, &u->ids, in, &o, "usb vendor", NULL);
		}
		device_smap(m, m->dev_manufacturers, in->manufacturer, in, &o, "manufacturer");
		device_smap(m, m->dev_products, in->product, in, &o, "product");
		device_smap(m, m->dev_serials, in->serial, in, &o, "serial");
	} else {
		device_smap(m, m->dev_edid_names, in->edid_monitor_name, in, &o, "edid monitor name");
		if (edid_key(in->edid_mfg, in->edid_product_code, &key) &&
		    (u = umap_find(m->dev_edid_ids, key)))
			device_ids(m, &u->ids, in, &o, "edid id", NULL);
	}
	device_ids(m, &m->dev_always, in, &o, "structure", NULL);
	return o.n;
}

size_t gw_match_netif(const struct gw_matcher *m, const struct gw_netif_input *in,
		      struct gw_match *outv, size_t max)
{
	struct out o = { outv, 0, max };
	const struct smap *s;

	if (!nonempty(in->name))
		return 0;
	if ((s = smap_find(m->netif_names, in->name, strlen(in->name))))
		for (uint32_t i = 0; i < s->ids.n; i++)
			out_add(&o, &m->rs->rules[s->ids.v[i]], "interface name", s->pattern);
	for (uint32_t i = 0; i < m->netif_prefix_rules.n; i++) {
		const struct gw_rule *r = &m->rs->rules[m->netif_prefix_rules.v[i]];

		for (size_t k = 0; k < r->netif.prefixes.n; k++)
			if (!strncmp(in->name, r->netif.prefixes.v[k], strlen(r->netif.prefixes.v[k]))) {
				out_add(&o, r, "interface prefix", r->netif.prefixes.v[k]);
				break;
			}
	}
	return o.n;
}
