/* place_mdns.c - mDNS message parser and the passive listening socket. See place_mdns.h. */
#include "place_mdns.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MDNS_PORT 5353
#define MAX_POINTERS 16 /* compression jumps per name; a loop ends here */

enum { T_CNAME = 5, T_PTR = 12, T_SRV = 33 };

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * The name at off into out (lower case, dots, no trailing dot); *next gets the offset after the
 * name in place (not after the jumps). 0, or -1.
 */
static int read_name(const uint8_t *m, size_t len, size_t off, char *out, size_t *next)
{
	size_t n = 0, pos = off;
	int jumps = 0;
	bool jumped = false;

	for (;;) {
		uint8_t l;

		if (pos >= len)
			return -1;
		l = m[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len || ++jumps > MAX_POINTERS)
				return -1;
			if (!jumped)
				*next = pos + 2;
			jumped = true;
			pos = (size_t)(l & 0x3f) << 8 | m[pos + 1];
			continue;
		}
		if (l & 0xc0)
			return -1; /* 0x40 and 0x80 label types are obsolete */
		if (l == 0) {
			if (!jumped)
				*next = pos + 1;
			break;
		}
		if (pos + 1 + l > len || n + l + 2 > PLACE_MDNS_NAME_LEN)
			return -1;
		if (n)
			out[n++] = '.';
		for (size_t i = 0; i < l; i++) {
			uint8_t c = m[pos + 1 + i];

			/* instance names are UTF-8 text: keep it printable ASCII, mark the rest */
			out[n++] = c < 0x20 || c == 0x7f ? '?' : c >= 0x80 ? '?' : (char)tolower(c);
		}
		pos += 1 + l;
	}
	out[n] = 0;
	return 0;
}

static bool is_local_host(const char *name)
{
	size_t n = strlen(name);

	/* service and instance names (_http._tcp.local, PiKVM._http._tcp.local) are not hosts */
	return n > 6 && !strcmp(name + n - 6, ".local") && name[0] != '_' && !strstr(name, "._") &&
	       !strchr(name, ' ');
}

struct seen {
	char names[PLACE_MDNS_MAX_RECORDS][PLACE_MDNS_NAME_LEN];
	int n;
};

static void pass(struct seen *s, const char *name, void (*on_name)(const char *, void *), void *ctx)
{
	if (!is_local_host(name) || s->n == PLACE_MDNS_MAX_RECORDS)
		return;
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->names[i], name))
			return;
	strcpy(s->names[s->n++], name);
	on_name(name, ctx);
}

int place_mdns_parse(const uint8_t *m, size_t len, void (*on_name)(const char *name, void *ctx),
		     void *ctx)
{
	struct seen s;
	char name[PLACE_MDNS_NAME_LEN];
	size_t off = 12, nq, nr;

	s.n = 0;
	if (len < 12 || len > 9000)
		return -1;
	nq = be16(m + 4);
	nr = (size_t)be16(m + 6) + be16(m + 8) + be16(m + 10);
	if (nq + nr > PLACE_MDNS_MAX_RECORDS)
		return -1;
	for (size_t i = 0; i < nq; i++) {
		if (read_name(m, len, off, name, &off) || off + 4 > len)
			return -1;
		off += 4;
		pass(&s, name, on_name, ctx);
	}
	for (size_t i = 0; i < nr; i++) {
		uint16_t type, rdlen;
		size_t rdata, after;

		if (read_name(m, len, off, name, &off) || off + 10 > len)
			return -1;
		type = be16(m + off);
		rdlen = be16(m + off + 8);
		rdata = off + 10;
		if (rdata + rdlen > len)
			return -1;
		pass(&s, name, on_name, ctx);
		if (type == T_PTR || type == T_CNAME || type == T_SRV) {
			size_t at = type == T_SRV ? rdata + 6 : rdata;

			if (at >= rdata + rdlen || read_name(m, len, at, name, &after) ||
			    after > rdata + rdlen)
				return -1;
			pass(&s, name, on_name, ctx);
		}
		off = rdata + rdlen;
	}
	return s.n;
}

int place_mdns_join(int fd)
{
	struct ifaddrs *ifs = NULL;
	int joined = 0;

	if (getifaddrs(&ifs))
		return -errno;
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		struct ip_mreqn mr = { 0 };

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_MULTICAST))
			continue;
		inet_pton(AF_INET, "224.0.0.251", &mr.imr_multiaddr);
		mr.imr_ifindex = (int)if_nametoindex(i->ifa_name);
		if (!setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) ||
		    errno == EADDRINUSE)
			joined++;
	}
	freeifaddrs(ifs);
	return joined;
}

int place_mdns_open(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(MDNS_PORT),
				  .sin_addr.s_addr = htonl(INADDR_ANY) };
	int one = 1, err;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* avahi may hold the port: multicast receivers share it */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	/* no interface yet is not an error: the domain joins again when addresses change */
	err = place_mdns_join(fd);
	if (err < 0) {
		close(fd);
		return err;
	}
	return fd;
}
