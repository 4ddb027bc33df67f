/* rules_matcher.c - builds a gw_ruleset's matcher (its indexes) and frees it. See rules_matcher.h */
#include "rules_matcher.h"

#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <uthash.h>

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
	for (size_t i = 0; i < e->sha256.n; i++)
		smap_add(m, &m->exec_sha256, e->sha256.v[i], false, id);
	if (!e->names.n && !e->paths.n && !e->path_prefixes.n && !e->script_names.n &&
	    !e->sha256.n)
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
	smap_free(&m->exec_sha256);
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
