/* listen_addr.c - loopback TCP or unix socket endpoints. See listen_addr.h. */
#include "listen_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static int parse_unix(const char *path, struct listen_addr *out, char *err, size_t errlen)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&out->ss;

	if (path[0] != '/') {
		snprintf(err, errlen, "unix:%s: the socket path must be absolute", path);
		return -1;
	}
	if (strlen(path) >= sizeof(un->sun_path)) {
		snprintf(err, errlen, "unix:%s: the socket path is longer than %zu bytes", path,
			 sizeof(un->sun_path) - 1);
		return -1;
	}
	un->sun_family = AF_UNIX;
	strcpy(un->sun_path, path);
	out->len = sizeof(*un);
	return 0;
}

int listen_addr_parse(const char *s, struct listen_addr *out, char *err, size_t errlen)
{
	const char *colon = strrchr(s, ':');
	char host[64], *end;
	unsigned long port;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!strncmp(s, "unix:", 5))
		return parse_unix(s + 5, out, err, errlen);
	if (!colon || colon == s)
		goto bad;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port == 0 || port > 65535)
		goto bad;
	n = colon - s;
	if (s[0] == '[') {
		if (n < 3 || s[n - 1] != ']')
			goto bad;
		s++;
		n -= 2;
	}
	if (n >= sizeof(host))
		goto bad;
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&out->ss)->sin_addr) == 1) {
		struct sockaddr_in *in = (struct sockaddr_in *)&out->ss;

		if ((ntohl(in->sin_addr.s_addr) >> 24) != 127)
			goto not_loopback;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		out->len = sizeof(*in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&out->ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->ss;

		if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			goto not_loopback;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		out->len = sizeof(*in6);
		return 0;
	}
bad:
	snprintf(err, errlen, "\"%s\" is not 127.0.0.1:PORT, [::1]:PORT or unix:/PATH", s);
	return -1;
not_loopback:
	snprintf(err, errlen, "\"%s\": only a loopback address (127.0.0.0/8, ::1) or a unix "
		 "socket; the endpoint shows the host's score and findings", host);
	return -1;
}

int listen_addr_connect(const struct listen_addr *la, int timeout_ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	int fd = socket(la->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), e;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (const struct sockaddr *)&la->ss, la->len)) {
		e = -errno;
		close(fd);
		return e;
	}
	return fd;
}
