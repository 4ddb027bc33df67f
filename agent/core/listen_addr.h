/*
 * listen_addr.h - a local endpoint named in the config (`metrics.listen`): "127.0.0.1:PORT",
 * "[::1]:PORT" or "unix:/ABSOLUTE/PATH". Only loopback addresses: the endpoint tells whoever
 * reaches it the host's fraud score and findings, which the host's network has no business
 * reading. Shared by the ops endpoint (listens) and `ghostwatch status` (connects), and checked
 * when the config loads.
 */
#ifndef GW_LISTEN_ADDR_H
#define GW_LISTEN_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct listen_addr {
	struct sockaddr_storage ss; /* AF_INET, AF_INET6 or AF_UNIX */
	socklen_t len;
};

/* 0, or -1 with why in err. */
int listen_addr_parse(const char *s, struct listen_addr *out, char *err, size_t errlen);

/* A connected stream socket (blocking, with a send/receive timeout), or -errno. */
int listen_addr_connect(const struct listen_addr *la, int timeout_ms);

#endif
