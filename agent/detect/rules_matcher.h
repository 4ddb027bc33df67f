/*
 * rules_matcher.h - the compiled matcher's indexes (string and integer maps, path and DNS
 * tries, the CIDR bit trie, port rules) and the key normalisations building (rules_matcher.c) and
 * lookups (rules_match.c) must agree on.
 *
 * Every rule is indexed under one kind of selector (the most selective it has); a lookup gathers
 * candidate rules from the indexes an input can hit and then checks the rule's remaining
 * conditions, which are cheap comparisons on short lists. Nothing on this path scans all rules or
 * runs a pattern engine. Private to agent/detect/rules_match*.c; the API is rules_match.h.
 */
#ifndef RULES_MATCHER_H
#define RULES_MATCHER_H

#include "rules_match.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
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
	struct smap *exec_sha256;
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

static inline void lower_copy(char *dst, const char *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[len] = 0;
}

/* Splits a lower-case DNS name into labels, rightmost first. Returns the count, 0 if too many. */
static inline size_t dns_labels(const char *name, size_t len, const char **lab, size_t *lablen)
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

/* USB vendor ids and PNP ids as hash keys. */
static inline uint32_t usb_key(uint16_t vid, uint16_t pid)
{
	return (uint32_t)vid << 16 | pid;
}

static inline bool edid_key(const char *mfg, uint16_t code, uint32_t *key)
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

#endif
