/* rules_match.c - matching inputs against a compiled matcher. See rules_match.h, rules_matcher.h */
#include "rules_matcher.h"

#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <uthash.h>

static const struct smap *smap_find(const struct smap *head, const char *key, size_t len)
{
	struct smap *e;

	HASH_FIND(hh, head, key, len, e);
	return e;
}

static const struct umap *umap_find(const struct umap *head, uint32_t key)
{
	struct umap *e;

	HASH_FIND(hh, head, &key, sizeof(key), e);
	return e;
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
	if (m->exec_sha256 && nonempty(in->sha256) &&
	    (s = smap_find(m->exec_sha256, in->sha256, strlen(in->sha256))))
		exec_ids(m, &s->ids, in, &o, "exe sha256", s->pattern);
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

	/* connection rules see a connection once, byte rules the flows it adds up to */
	if (in->has_bytes != (f->min_bytes_sent > 0) || in->bytes_sent < f->min_bytes_sent)
		return false;
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
