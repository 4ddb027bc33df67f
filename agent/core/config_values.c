/* config_values.c - checks of single config values. See config_values.h. */
#include "config_values.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/yaml_doc.h"

/* "512", "64K", "64KiB", "8M", "8MiB", "1G", "1GiB" (binary multiples; "B" suffix allowed). */
int config_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} units[] = { { "", 0 },    { "B", 0 },	    { "K", 10 },  { "KB", 10 },	 { "KiB", 10 },
		      { "M", 20 },  { "MB", 20 },   { "MiB", 20 }, { "G", 30 },	 { "GB", 30 },
		      { "GiB", 30 }, { "T", 40 },   { "TiB", 40 } };
	uint64_t v;
	const char *p = yaml_parse_digits(s, &v);

	if (!p)
		return -1;
	while (*p == ' ')
		p++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].suffix) == 0) {
			if (units[i].shift && v > (UINT64_MAX >> units[i].shift))
				return -1;
			*out = v << units[i].shift;
			return 0;
		}
	}
	return -1;
}

static bool is_token_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_';
}

bool config_valid_token(const char *s)
{
	for (; *s; s++)
		if (!is_token_char(*s))
			return false;
	return true;
}

bool config_valid_subject_prefix(const char *s)
{
	bool token_empty = true;

	for (; *s; s++) {
		if (*s == '.') {
			if (token_empty)
				return false;
			token_empty = true;
		} else if (is_token_char(*s)) {
			token_empty = false;
		} else {
			return false;
		}
	}
	return !token_empty;
}

/* tls://host:port or nats://host:port; host may be [v6]; port 1-65535 required. */
const char *config_url_problem(const char *url)
{
	const char *rest, *colon, *p;
	uint64_t port;

	if (strncmp(url, "tls://", 6) == 0)
		rest = url + 6;
	else if (strncmp(url, "nats://", 7) == 0)
		rest = url + 7;
	else
		return "must start with tls:// or nats:// (TLS is always used)";
	for (p = rest; *p; p++)
		if (isspace((unsigned char)*p) || *p == '@' || *p == '/' || *p == ',')
			return "must be scheme://host:port with no credentials, path, spaces or commas";
	colon = strrchr(rest, ':');
	if (!colon || colon == rest || (rest[0] == '[' && colon[-1] != ']'))
		return "needs a host and a port (host:port)";
	if (!yaml_parse_u64(colon + 1, &port) || port == 0 || port > 65535)
		return "port must be 1-65535";
	return NULL;
}

/* NULL if s is a host name, an address or a CIDR, else what is wrong with it. */
const char *config_remote_problem(const char *s)
{
	unsigned char addr[16];
	char buf[256], *slash;
	size_t n = strlen(s);

	if (!n || n >= sizeof(buf))
		return "must be 1 to 255 characters";
	memcpy(buf, s, n + 1);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1) {
		unsigned long len, max = strchr(buf, ':') ? 128 : 32;
		char *end;

		if (!slash)
			return NULL;
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		return !isdigit((unsigned char)slash[1]) || *end || errno || len > max
			       ? "has a bad prefix length"
			       : NULL;
	}
	if (slash || buf[0] == '.' || buf[0] == '-' || strstr(buf, ".."))
		return "is neither a host name nor an address or CIDR";
	for (const char *p = buf; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
			return "is neither a host name nor an address or CIDR";
	return NULL;
}
