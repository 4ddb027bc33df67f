/*
 * net_sockets.h - the TCP sockets that already existed when the agent started, and the processes
 * holding them, read from /proc.
 *
 * The kernel side learns who owns a socket when it is created (listen(), connect()); a remote-desktop
 * tool started at boot, or any process when the agent restarts, would otherwise have its listener's
 * accepts and its already-open sessions attributed to nobody. So at start the agent reads every
 * network namespace's /proc/<pid>/net/tcp{,6} once, keeps the rows in the wanted states, and matches
 * the socket inodes against /proc/<pid>/fd. All of /proc is untrusted text: malformed rows are
 * skipped.
 */
#ifndef GW_NET_SOCKETS_H
#define GW_NET_SOCKETS_H

#include <stdint.h>

#include "net_addr.h"

/* Kernel TCP states as /proc/net/tcp prints them (hex). */
#define NET_TCP_ESTABLISHED 0x01
#define NET_TCP_LISTEN 0x0A

struct net_socket {
	uint32_t netns;		/* network namespace inode */
	uint8_t state;
	uint16_t family;	/* AF_INET or AF_INET6 (the table it came from) */
	struct gw_ip local, remote;
	uint16_t local_port, remote_port;
	uint32_t pid;		/* the lowest pid holding the socket (a prefork server's master) */
};

typedef void (*net_socket_fn)(const struct net_socket *s, void *ctx);

#define NET_SOCKETS_MAX 65536

/* Calls fn once per socket whose state bit is set in state_mask (1 << state) and that some process
 * holds. Returns how many, or -errno. */
int net_scan_sockets(const char *proc_root, uint32_t state_mask, net_socket_fn fn, void *ctx);

#endif
