/* nats_monitor.c - nats-server's client list from its monitoring endpoint. See nats_monitor.h. */
#include "nats_monitor.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define TIMEOUT_S 3

static bool split_url(const char *url, char *host, size_t hlen, char *port, size_t plen)
{
	const char *h = url, *colon;

	if (strncmp(h, "http://", 7) != 0)
		return false;
	h += 7;
	colon = strrchr(h, ':');
	if (!colon || colon == h || (size_t)(colon - h) >= hlen || strlen(colon + 1) >= plen ||
	    !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return false;
	snprintf(host, hlen, "%.*s", (int)(colon - h), h);
	snprintf(port, plen, "%s", colon + 1);
	return !strpbrk(host, "/?#@ ");
}

bool nats_monitor_url_valid(const char *url)
{
	char host[256], port[8];

	return split_url(url, host, sizeof(host), port, sizeof(port));
}

/* Skips a JSON string starting at s[*i] == '"', copying its content (escapes kept as the
 * character after the backslash) into dst when given. */
static void scan_string(const char *s, size_t len, size_t *i, char *dst, size_t dlen)
{
	size_t o = 0;

	for ((*i)++; *i < len && s[*i] != '"'; (*i)++) {
		if (s[*i] == '\\' && *i + 1 < len)
			(*i)++;
		if (dst && o + 1 < dlen)
			dst[o++] = s[*i];
	}
	if (dst)
		dst[o] = '\0';
	(*i)++;
}

static size_t skip_space(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
		i++;
	return i;
}

int nats_monitor_parse(const char *json, size_t len, struct nats_client_addr **out, size_t *n)
{
	const char *arr = memmem(json, len, "\"connections\"", 13);
	size_t i, cap = 0, depth = 0;
	struct nats_client_addr cur;

	*out = NULL;
	*n = 0;
	if (!arr)
		return -1;
	i = skip_space(json, len, (size_t)(arr - json) + 13);
	if (i >= len || json[i] != ':')
		return -1;
	i = skip_space(json, len, i + 1);
	if (i >= len || json[i] != '[')
		return -1;
	for (i++; i < len;) {
		char c = json[i], key[32];

		if (c == '"' && depth == 1) {
			scan_string(json, len, &i, key, sizeof(key));
			i = skip_space(json, len, i);
			if (i >= len || json[i] != ':')
				continue;	/* a value, not a key */
			i = skip_space(json, len, i + 1);
			if (i < len && json[i] == '"' && strcmp(key, "ip") == 0)
				scan_string(json, len, &i, cur.ip, sizeof(cur.ip));
			else if (i < len && json[i] == '"' && strcmp(key, "authorized_user") == 0)
				scan_string(json, len, &i, cur.user, sizeof(cur.user));
			continue;
		}
		if (c == '"') {
			scan_string(json, len, &i, NULL, 0);
			continue;
		}
		i++;
		if (c == '{' || c == '[') {
			if (++depth == 1)
				memset(&cur, 0, sizeof(cur));
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return 0;	/* the end of the connections array */
			if (--depth == 0 && cur.ip[0]) {
				if (*n == cap) {
					struct nats_client_addr *p;

					cap = cap ? cap * 2 : 64;
					p = realloc(*out, cap * sizeof(*p));
					if (!p)
						break;
					*out = p;
				}
				(*out)[(*n)++] = cur;
			}
		}
	}
	free(*out);	/* cut short, or out of memory */
	*out = NULL;
	*n = 0;
	return -1;
}

static int http_get(const char *url, const char *path, char **body, size_t *body_len, char *err,
		    size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct timeval tv = { .tv_sec = TIMEOUT_S };
	char host[256], port[8], req[512], *buf = NULL, *hdr_end;
	size_t len = 0, cap = 0;
	int fd = -1, rc = -1, e;

	if (!split_url(url, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "%s: not http://HOST:PORT", url);
		return -1;
	}
	e = getaddrinfo(host, port, &hints, &ai);
	if (e) {
		snprintf(err, errlen, "%s: %s", url, gai_strerror(e));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		snprintf(err, errlen, "%s: %s", url, strerror(errno));
		goto out;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, host);
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		snprintf(err, errlen, "%s: %s", url, strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t got;

		if (len + 65536 + 1 > cap) {
			char *p;

			cap = cap ? cap * 2 : 1 << 17;
			if (cap > NATS_MONITOR_MAX_BYTES) {
				snprintf(err, errlen, "%s%s: larger than %u bytes", url, path,
					 NATS_MONITOR_MAX_BYTES);
				goto out;
			}
			p = realloc(buf, cap);
			if (!p)
				goto out;
			buf = p;
		}
		got = recv(fd, buf + len, cap - len - 1, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			snprintf(err, errlen, "%s: %s", url, strerror(errno));
			goto out;
		}
		if (!got)
			break;
		len += (size_t)got;
	}
	buf[len] = '\0';
	hdr_end = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.", 7) != 0 || !hdr_end || strncmp(buf + 8, " 200", 4) != 0) {
		snprintf(err, errlen, "%s%s: not a 200 answer: %.40s", url, path, buf);
		goto out;
	}
	*body_len = len - (size_t)(hdr_end + 4 - buf);
	memmove(buf, hdr_end + 4, *body_len + 1);
	*body = buf;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return rc;
}

int nats_monitor_connz(const char *url, struct nats_client_addr **out, size_t *n, char *err,
		       size_t errlen)
{
	char *body = NULL;
	size_t len = 0;
	int rc;

	if (http_get(url, "/connz?auth=true&state=any&limit=100000", &body, &len, err, errlen))
		return -1;
	rc = nats_monitor_parse(body, len, out, n);
	if (rc)
		snprintf(err, errlen, "%s/connz: not a connection list", url);
	free(body);
	return rc;
}
