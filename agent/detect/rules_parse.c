/* rules_parse.c - one rule's YAML mapping -> struct gw_rule: its fields and match conditions. */
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

static const char *const category_names[GW_CAT_COUNT] = {
	[GW_CAT_RMM] = "rmm",	  [GW_CAT_TUNNEL] = "tunnel",	[GW_CAT_VPN] = "vpn",
	[GW_CAT_IPKVM] = "ipkvm", [GW_CAT_JIGGLER] = "jiggler", [GW_CAT_BEHAVIOUR] = "behaviour",
	[GW_CAT_EXFIL] = "exfil", [GW_CAT_TAMPER] = "tamper",	[GW_CAT_COMBO] = "combination",
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
	memcpy(buf, rules_yaml_scalar(item), item->data.scalar.length + 1);
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
				    rules_yaml_scalar(item), max);
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
	if (sscanf(rules_yaml_scalar(item), "%5lu-%5lu%c", &lo, &hi, &tail) == 2 && strchr(rules_yaml_scalar(item), '-')) {
		/* range */
	} else if (yaml_scalar_plain(item) && sscanf(rules_yaml_scalar(item), "%5lu%c", &lo, &tail) == 1 &&
		   isdigit((unsigned char)rules_yaml_scalar(item)[0])) {
		hi = lo;
	} else {
		return yaml_doc_fail_at(&c->yd, item, "'%s': '%s' is not a port or a range like 21115-21119", key,
			    rules_yaml_scalar(item));
	}
	if (lo < 1 || hi > 65535 || lo > hi)
		return yaml_doc_fail_at(&c->yd, item, "'%s': '%s' must be within 1..65535, low to high", key,
			    rules_yaml_scalar(item));
	out->lo = (uint16_t)lo;
	out->hi = (uint16_t)hi;
	return 0;
}

static int usb_item(struct parse_ctx *c, yaml_node_t *item, const char *key, void *arr, size_t i)
{
	struct gw_usb_id *out = &((struct gw_usb_id *)arr)[i];
	const char *s = rules_yaml_scalar(item);
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
	const char *s = rules_yaml_scalar(item);
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

/* Each one 64 hex digits, kept in lower case (how the agent writes hashes). */
static int check_sha256(struct parse_ctx *c, yaml_node_t *n, struct gw_strlist *l)
{
	for (size_t j = 0; j < l->n; j++) {
		char *h = l->v[j];

		if (strlen(h) != 64 || strspn(h, "0123456789abcdefABCDEF") != 64)
			return yaml_doc_fail_at(&c->yd, n, "'sha256': '%s' is not 64 hex digits", h);
		for (; *h; h++)
			*h = (char)tolower((unsigned char)*h);
	}
	return 0;
}

static int parse_exec(struct parse_ctx *c, yaml_node_t *n, struct gw_exec_cond *e)
{
	static const char allowed[] =
		"names, paths, path_prefixes, script_names, argv_sequence, parent_names, sha256";
	struct kv kv[MAX_KEYS];
	size_t nkv;

	if (rules_yaml_map(c, n, "'exec'", kv, &nkv))
		return -1;
	for (size_t i = 0; i < nkv; i++) {
		const char *k = kv[i].key;
		struct gw_strlist *l = !strcmp(k, "names")	   ? &e->names
				       : !strcmp(k, "paths")	   ? &e->paths
				       : !strcmp(k, "path_prefixes") ? &e->path_prefixes
				       : !strcmp(k, "script_names")  ? &e->script_names
				       : !strcmp(k, "argv_sequence") ? &e->argv_sequence
				       : !strcmp(k, "parent_names")  ? &e->parent_names
				       : !strcmp(k, "sha256")	   ? &e->sha256
								     : NULL;
		if (!l)
			return rules_yaml_unknown_key(c, &kv[i], "'exec'", allowed);
		if (rules_yaml_strlist(c, kv[i].value, k, l))
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
		if (l == &e->sha256 && check_sha256(c, kv[i].value, l))
			return -1;
	}
	if (!e->names.n && !e->paths.n && !e->path_prefixes.n && !e->script_names.n &&
	    !e->argv_sequence.n && !e->sha256.n)
		return yaml_doc_fail_at(&c->yd, n, "'exec' needs names, paths, path_prefixes, script_names, "
				  "argv_sequence or sha256");
	return 0;
}

static int parse_flow(struct parse_ctx *c, yaml_node_t *n, struct gw_flow_cond *f)
{
	static const char allowed[] = "dns_suffixes, cidrs, ports, protocols, direction, "
				      "min_bytes_sent";
	struct kv kv[MAX_KEYS];
	size_t nkv;

	f->directions = GW_DIR_OUTBOUND;
	if (rules_yaml_map(c, n, "'flow'", kv, &nkv))
		return -1;
	for (size_t i = 0; i < nkv; i++) {
		const char *k = kv[i].key;
		yaml_node_t *v = kv[i].value;

		if (!strcmp(k, "dns_suffixes")) {
			if (rules_yaml_strlist(c, v, k, &f->dns_suffixes))
				return -1;
			for (size_t j = 0; j < f->dns_suffixes.n; j++)
				if (check_dns(c, v, f->dns_suffixes.v[j]))
					return -1;
		} else if (!strcmp(k, "cidrs")) {
			if (rules_yaml_seq(c, v, k, sizeof(struct gw_cidr), cidr_item, (void **)&f->cidrs,
					   &f->n_cidrs))
				return -1;
		} else if (!strcmp(k, "ports")) {
			if (rules_yaml_seq(c, v, k, sizeof(struct gw_port_range), port_item,
					   (void **)&f->ports, &f->n_ports))
				return -1;
		} else if (!strcmp(k, "protocols")) {
			struct gw_strlist l = { 0 };
			int rc = rules_yaml_strlist(c, v, k, &l);

			for (size_t j = 0; !rc && j < l.n; j++) {
				if (!strcmp(l.v[j], "tcp"))
					f->protocols |= GW_PROTO_TCP;
				else if (!strcmp(l.v[j], "udp"))
					f->protocols |= GW_PROTO_UDP;
				else
					rc = yaml_doc_fail_at(&c->yd, v, "'protocols': '%s' is not tcp or udp", l.v[j]);
			}
			rules_yaml_strlist_free(&l);
			if (rc)
				return -1;
		} else if (!strcmp(k, "direction")) {
			static const char *const dirs[] = { "outbound", "inbound", "any" };
			int d = 0;

			if (rules_yaml_enum(c, v, k, dirs, 3, &d))
				return -1;
			f->directions = d == 0 ? GW_DIR_OUTBOUND
				      : d == 1 ? GW_DIR_INBOUND
					       : GW_DIR_OUTBOUND | GW_DIR_INBOUND;
		} else if (!strcmp(k, "min_bytes_sent")) {
			unsigned long b;

			if (rules_yaml_uint(c, v, k, 1ul << 50, &b))
				return -1;
			if (!b)
				return yaml_doc_fail_at(&c->yd, v, "'min_bytes_sent' must be at least 1");
			f->min_bytes_sent = b;
		} else {
			return rules_yaml_unknown_key(c, &kv[i], "'flow'", allowed);
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

	if (rules_yaml_map(c, n, "'structure'", kv, &nkv))
		return -1;
	for (size_t i = 0; i < nkv; i++) {
		const char *k = kv[i].key;
		bool *b = !strcmp(k, "composite")	     ? &s->composite
			  : !strcmp(k, "boot_keyboard")	     ? &s->boot_keyboard
			  : !strcmp(k, "absolute_pointer")   ? &s->absolute_pointer
			  : !strcmp(k, "storage_or_network") ? &s->storage_or_network
							     : NULL;
		if (b) {
			if (rules_yaml_bool(c, kv[i].value, k, b))
				return -1;
		} else if (!strcmp(k, "absolute_max_at_least")) {
			unsigned long v;

			if (rules_yaml_uint(c, kv[i].value, k, 0x7fffffff, &v))
				return -1;
			s->absolute_max_at_least = (uint32_t)v;
		} else {
			return rules_yaml_unknown_key(c, &kv[i], "'structure'", allowed);
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

	if (rules_yaml_map(c, n, "'device'", kv, &nkv))
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
			if (rules_yaml_strlist(c, v, k, l))
				return -1;
		} else if (!strcmp(k, "usb_ids")) {
			if (rules_yaml_seq(c, v, k, sizeof(struct gw_usb_id), usb_item,
					   (void **)&d->usb_ids, &d->n_usb_ids))
				return -1;
		} else if (!strcmp(k, "edid_ids")) {
			if (rules_yaml_seq(c, v, k, sizeof(struct gw_edid_id), edid_item,
					   (void **)&d->edid_ids, &d->n_edid_ids))
				return -1;
		} else if (!strcmp(k, "structure")) {
			d->has_structure = true;
			if (parse_structure(c, v, &d->structure))
				return -1;
		} else {
			return rules_yaml_unknown_key(c, &kv[i], "'device'", allowed);
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

	if (rules_yaml_map(c, n, "'netif'", kv, &nkv))
		return -1;
	for (size_t i = 0; i < nkv; i++) {
		struct gw_strlist *l = !strcmp(kv[i].key, "names")	 ? &ni->names
				       : !strcmp(kv[i].key, "prefixes") ? &ni->prefixes
									: NULL;
		if (!l)
			return rules_yaml_unknown_key(c, &kv[i], "'netif'", "names, prefixes");
		if (rules_yaml_strlist(c, kv[i].value, kv[i].key, l))
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

	if (rules_yaml_map(c, n, "'match'", kv, &nkv))
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
	return rules_yaml_unknown_key(c, &kv[0], "'match'", "exec, flow, device, netif");
}

void rules_parse_free_fields(struct gw_rule *r)
{
	free(r->id);
	free(r->title);
	free(r->vendor);
	free(r->technique);
	free(r->file);
	rules_yaml_strlist_free(&r->sources);
	switch (r->kind) {
	case GW_RULE_EXEC:
		rules_yaml_strlist_free(&r->exec.names);
		rules_yaml_strlist_free(&r->exec.paths);
		rules_yaml_strlist_free(&r->exec.path_prefixes);
		rules_yaml_strlist_free(&r->exec.script_names);
		rules_yaml_strlist_free(&r->exec.argv_sequence);
		rules_yaml_strlist_free(&r->exec.parent_names);
		rules_yaml_strlist_free(&r->exec.sha256);
		break;
	case GW_RULE_FLOW:
		rules_yaml_strlist_free(&r->flow.dns_suffixes);
		free(r->flow.cidrs);
		free(r->flow.ports);
		break;
	case GW_RULE_DEVICE:
		free(r->device.usb_ids);
		rules_yaml_strlist_free(&r->device.manufacturers);
		rules_yaml_strlist_free(&r->device.products);
		rules_yaml_strlist_free(&r->device.product_contains);
		rules_yaml_strlist_free(&r->device.serials);
		rules_yaml_strlist_free(&r->device.edid_monitor_names);
		free(r->device.edid_ids);
		break;
	case GW_RULE_NETIF:
		rules_yaml_strlist_free(&r->netif.names);
		rules_yaml_strlist_free(&r->netif.prefixes);
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

int rules_parse_rule(struct parse_ctx *c, yaml_node_t *n, struct gw_rule *r)
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
	if (rules_yaml_map(c, n, "a rule", kv, &nkv))
		return -1;
	for (size_t i = 0; i < nkv; i++) {
		const char *k = kv[i].key;
		yaml_node_t *v = kv[i].value;
		int e = 0, rc = 0;

		if (!strcmp(k, "id"))
			rc = rules_yaml_string(c, v, k, 64, &r->id);
		else if (!strcmp(k, "title"))
			rc = rules_yaml_string(c, v, k, GW_RULES_MAX_TEXT, &r->title);
		else if (!strcmp(k, "description")) {
			char *d = NULL;

			rc = rules_yaml_string(c, v, k, 4096, &d);
			free(d);
		} else if (!strcmp(k, "vendor"))
			rc = rules_yaml_string(c, v, k, GW_RULES_MAX_TEXT, &r->vendor);
		else if (!strcmp(k, "technique"))
			rc = rules_yaml_string(c, v, k, 16, &r->technique);
		else if (!strcmp(k, "category")) {
			/* combination is reserved for the findings engine */
			rc = rules_yaml_enum(c, v, k, category_names, GW_CAT_COMBO, &e);
			r->category = (enum gw_rule_category)e;
			has_cat = true;
		} else if (!strcmp(k, "severity")) {
			rc = rules_yaml_enum(c, v, k, severity_names, 5, &e);
			r->severity = (enum gw_severity)e;
			has_sev = true;
		} else if (!strcmp(k, "confidence")) {
			rc = rules_yaml_enum(c, v, k, confidence_names, 3, &e);
			r->confidence = (enum gw_confidence)e;
			has_conf = true;
		} else if (!strcmp(k, "sources")) {
			rc = rules_yaml_strlist(c, v, k, &r->sources);
		} else if (!strcmp(k, "enabled")) {
			rc = rules_yaml_bool(c, v, k, &r->enabled);
		} else if (!strcmp(k, "match")) {
			match = v;
		} else {
			rc = rules_yaml_unknown_key(c, &kv[i], "a rule", allowed);
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
