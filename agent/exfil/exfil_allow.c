/* exfil_allow.c - the allow-list of copy destinations. See exfil_allow.h. */
#include "exfil_allow.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A literal address (v4 stored v4-mapped), or false. */
static bool parse_addr(const char *s, uint8_t out[16], bool *v4)
{
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		*v4 = true;
		return true;
	}
	*v4 = false;
	return inet_pton(AF_INET6, s, out) == 1;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 253 || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.' && s[i] != '_')
			return false;
	return !strstr(s, "..");
}

int exfil_allow_add(struct exfil_allow *l, const char *entry, char *err, size_t errlen)
{
	struct exfil_allow_entry *e;
	char buf[256], *slash;
	bool v4;

	if (l->n == EXFIL_ALLOW_MAX) {
		snprintf(err, errlen, "more than %d allowed remotes", EXFIL_ALLOW_MAX);
		return -1;
	}
	if (strlen(entry) >= sizeof(buf)) {
		snprintf(err, errlen, "allowed remote too long");
		return -1;
	}
	e = &l->v[l->n];
	memset(e, 0, sizeof(*e));
	strcpy(buf, entry);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (parse_addr(buf, e->addr, &v4)) {
		unsigned long len = v4 ? 32 : 128;
		char *end;

		if (slash) {
			len = strtoul(slash + 1, &end, 10);
			if (!slash[1] || *end || len > (v4 ? 32u : 128u)) {
				snprintf(err, errlen, "'%s': bad prefix length", entry);
				return -1;
			}
		}
		e->is_cidr = true;
		e->prefix_len = (uint8_t)(v4 ? len + 96 : len);
	} else if (!slash && valid_name(buf)) {
		size_t n = strlen(buf);

		if (buf[n - 1] == '.')
			buf[n - 1] = 0;
		for (char *p = buf; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		strcpy(e->name, buf);
	} else {
		snprintf(err, errlen, "'%s' is neither a host name nor an address or CIDR", entry);
		return -1;
	}
	l->n++;
	return 0;
}

static bool in_prefix(const struct exfil_allow_entry *e, const uint8_t addr[16])
{
	unsigned bytes = e->prefix_len / 8, bits = e->prefix_len % 8;

	if (memcmp(e->addr, addr, bytes))
		return false;
	return !bits || !((e->addr[bytes] ^ addr[bytes]) & (uint8_t)(0xff << (8 - bits)));
}

bool exfil_allow_addr(const struct exfil_allow *l, const uint8_t addr[16])
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].is_cidr && in_prefix(&l->v[i], addr))
			return true;
	return false;
}

bool exfil_allow_host(const struct exfil_allow *l, const char *host)
{
	uint8_t addr[16];
	size_t n = strlen(host);
	bool v4;

	if (parse_addr(host, addr, &v4))
		return exfil_allow_addr(l, addr);
	if (n && host[n - 1] == '.')
		n--;
	for (size_t i = 0; i < l->n; i++) {
		size_t s = strlen(l->v[i].name);

		if (l->v[i].is_cidr || s > n || strncasecmp(host + n - s, l->v[i].name, s))
			continue;
		if (s == n || host[n - s - 1] == '.')
			return true;
	}
	return false;
}
