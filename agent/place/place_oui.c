/* place_oui.c - IEEE registry CSV reader and prefix index. See place_oui.h. */
#include "place_oui.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Registry lines longer than this are not the IEEE's (addresses stay well under it). */
#define LINE_MAX_BYTES 1024
#define VENDOR_MAX 96

struct oui_slot {
	uint64_t key; /* bits << 40 | prefix value; 0 = empty */
	uint32_t vendor; /* offset in the pool */
};

/* ~42k prefixes: slots at most 3/4 full and one pool of names keep the index near 2 MiB */
struct place_oui {
	struct oui_slot *slots;
	size_t cap, n;
	char *pool;
	size_t pool_len, pool_cap;
	uint32_t last; /* the last name added: the registry lists an organisation's blocks together */
};

static int pool_add(struct place_oui *o, const char *s, uint32_t *off)
{
	size_t len = strlen(s) + 1;

	if (o->pool_len && !strcmp(o->pool + o->last, s)) {
		*off = o->last;
		return 0;
	}
	if (o->pool_len + len > UINT32_MAX)
		return -ENOMEM;
	if (o->pool_len + len > o->pool_cap) {
		size_t ncap = o->pool_cap ? o->pool_cap * 2 : 256 * 1024;
		char *np = realloc(o->pool, ncap);

		if (!np)
			return -ENOMEM;
		o->pool = np;
		o->pool_cap = ncap;
	}
	memcpy(o->pool + o->pool_len, s, len);
	*off = o->last = (uint32_t)o->pool_len;
	o->pool_len += len;
	return 0;
}

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

static int put(struct place_oui *o, uint64_t key, const char *vendor)
{
	size_t i;

	if ((o->n + 1) * 4 > o->cap * 3) {
		size_t ncap = o->cap ? o->cap * 2 : 65536;
		struct oui_slot *ns = calloc(ncap, sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		for (size_t j = 0; j < o->cap; j++) {
			if (!o->slots[j].key)
				continue;
			for (i = mix(o->slots[j].key) & (ncap - 1); ns[i].key; i = (i + 1) & (ncap - 1))
				;
			ns[i] = o->slots[j];
		}
		free(o->slots);
		o->slots = ns;
		o->cap = ncap;
	}
	for (i = mix(key) & (o->cap - 1); o->slots[i].key; i = (i + 1) & (o->cap - 1))
		if (o->slots[i].key == key)
			return 0; /* the registry lists some prefixes twice: the first stays */
	if (pool_add(o, vendor, &o->slots[i].vendor))
		return -ENOMEM;
	o->slots[i].key = key;
	o->n++;
	return 0;
}

static const char *get(const struct place_oui *o, uint64_t key)
{
	if (!o->cap)
		return NULL;
	for (size_t i = mix(key) & (o->cap - 1); o->slots[i].key; i = (i + 1) & (o->cap - 1))
		if (o->slots[i].key == key)
			return o->pool + o->slots[i].vendor;
	return NULL;
}

/* The next CSV field of *p into out (quotes and "" escapes undone, cut to outlen). */
static int csv_field(const char **p, char *out, size_t outlen)
{
	const char *s = *p;
	size_t n = 0;
	int quoted = *s == '"';

	if (quoted)
		s++;
	for (; *s; s++) {
		if (quoted && *s == '"') {
			if (s[1] == '"') {
				s++;
			} else {
				quoted = 0;
				continue;
			}
		} else if (!quoted && (*s == ',' || *s == '\n' || *s == '\r')) {
			break;
		}
		if (n + 1 < outlen)
			out[n++] = *s;
	}
	out[n] = 0;
	if (quoted)
		return -1;
	*p = *s == ',' ? s + 1 : s;
	return 0;
}

int place_oui_parse_prefix(const char *s, uint64_t *value, unsigned *bits)
{
	uint64_t v = 0;
	unsigned digits = 0;

	for (; *s; s++) {
		if (*s == ':' || *s == '-')
			continue;
		if (!isxdigit((unsigned char)*s) || digits == 9)
			return -1;
		v = v << 4 | (uint64_t)(isdigit((unsigned char)*s) ? *s - '0'
								 : tolower((unsigned char)*s) - 'a' + 10);
		digits++;
	}
	if (digits != 6 && digits != 7 && digits != 9)
		return -1;
	*value = v;
	*bits = digits * 4;
	return 0;
}

static uint64_t mac_bits(const uint8_t mac[6], unsigned bits)
{
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v = v << 8 | mac[i];
	return v >> (48 - bits);
}

int place_oui_prefix_matches(uint64_t value, unsigned bits, const uint8_t mac[6])
{
	return bits && bits <= 48 && mac_bits(mac, bits) == value;
}

static int load_file(struct place_oui *o, const char *path, char *err, size_t errlen)
{
	char line[LINE_MAX_BYTES], reg[16], assign[16], vendor[VENDOR_MAX];
	unsigned long lineno = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		const char *p = line;
		uint64_t v;
		unsigned bits;

		lineno++;
		if (lineno == 1)
			continue; /* Registry,Assignment,Organization Name,Organization Address */
		if (csv_field(&p, reg, sizeof(reg)) || csv_field(&p, assign, sizeof(assign)) ||
		    csv_field(&p, vendor, sizeof(vendor)) ||
		    place_oui_parse_prefix(assign, &v, &bits)) {
			/* an odd line (a wrapped address) does not make the registry useless */
			continue;
		}
		if (put(o, (uint64_t)bits << 40 | v, vendor)) {
			fclose(f);
			snprintf(err, errlen, "%s: out of memory", path);
			return -ENOMEM;
		}
	}
	fclose(f);
	return 0;
}

struct place_oui *place_oui_load(const char *dir, char *err, size_t errlen)
{
	static const char *const files[] = { "oui.csv", "mam.csv", "oui36.csv" };
	struct place_oui *o = calloc(1, sizeof(*o));
	char path[4096];

	if (!o) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int rc;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		rc = load_file(o, path, err, errlen);
		if (rc && (i == 0 || rc != -ENOENT)) {
			place_oui_free(o);
			return NULL;
		}
	}
	err[0] = 0;
	return o;
}

void place_oui_free(struct place_oui *o)
{
	if (!o)
		return;
	free(o->pool);
	free(o->slots);
	free(o);
}

size_t place_oui_count(const struct place_oui *o)
{
	return o ? o->n : 0;
}

static void prefix_text(const uint8_t mac[6], unsigned bits, char out[PLACE_OUI_TEXT_LEN])
{
	if (bits == 24)
		snprintf(out, PLACE_OUI_TEXT_LEN, "%02X:%02X:%02X", mac[0], mac[1], mac[2]);
	else if (bits == 28)
		snprintf(out, PLACE_OUI_TEXT_LEN, "%02X:%02X:%02X:%X", mac[0], mac[1], mac[2],
			 mac[3] >> 4);
	else
		snprintf(out, PLACE_OUI_TEXT_LEN, "%02X:%02X:%02X:%02X:%X", mac[0], mac[1], mac[2],
			 mac[3], mac[4] >> 4);
}

const char *place_oui_vendor(const struct place_oui *o, const uint8_t mac[6],
			     char prefix[PLACE_OUI_TEXT_LEN])
{
	static const unsigned lengths[] = { 36, 28, 24 };

	for (size_t i = 0; o && i < 3; i++) {
		const char *v = get(o, (uint64_t)lengths[i] << 40 | mac_bits(mac, lengths[i]));

		if (v) {
			prefix_text(mac, lengths[i], prefix);
			return v;
		}
	}
	prefix_text(mac, 24, prefix);
	return NULL;
}
