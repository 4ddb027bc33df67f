/*
 * net_listeners.h - finds the TCP sockets that were already listening when the agent started, and
 * the processes that hold them.
 *
 * The kernel side learns a listener's owner when listen() runs; a remote-desktop tool that was
 * listening before the agent (started at boot, or the agent restarted) would otherwise have its
 * accepted connections attributed to nobody. So at start the agent reads every network namespace's
 * /proc/<pid>/net/tcp{,6} (state 0A = LISTEN), matches the socket inodes against /proc/<pid>/fd, and
 * seeds the owner map. All of /proc is untrusted text: malformed lines are skipped.
 */
#ifndef GW_NET_LISTENERS_H
#define GW_NET_LISTENERS_H

#include <stdint.h>

struct net_listener {
	uint32_t netns;	/* network namespace inode */
	uint16_t port;
	uint32_t pid;	/* the lowest pid holding the socket (a prefork server's master) */
};

typedef void (*net_listener_fn)(const struct net_listener *l, void *ctx);

#define NET_LISTENERS_MAX 65536

/* Calls fn once per listening socket with a known owner. Returns how many, or -errno. */
int net_find_listeners(const char *proc_root, net_listener_fn fn, void *ctx);

#endif
