/*
 * netif_watch.h - network interfaces appearing on the host (a VPN client's tun0, NetBird's wt0, a
 * WireGuard link), handed to the detections by name.
 *
 * Sources: the interfaces present at start (<sys_root>/class/net), then the kernel's "net"
 * subsystem uevents from core's uevent service (uevents.h), which already drops anything not sent
 * by the kernel. Only interfaces of the agent's own network namespace are seen: the kernel
 * sends a net device's uevents into the namespace that owns it. Each interface is emitted as a
 * NetworkInterface event and published as a fact (facts.h) for the interface rules; interfaces
 * added and removed are counted in AgentStats.
 */
#ifndef GW_NETIF_WATCH_H
#define GW_NETIF_WATCH_H

#include <stdint.h>

struct gw_agent;
struct gw_uevent;

struct gw_netif_counts {
	uint64_t inventory; /* present at start */
	uint64_t added;	    /* or renamed */
	uint64_t removed;
};

struct gw_netif {
	const char *sys_root;
	struct gw_netif_counts counts;
};

/* Registers the interface watch as a domain of its own: the inventory at start, then the "net"
 * uevents. */
int netif_register(struct gw_agent *a, const char *sys_root);

/* Its counts (tests, stats); NULL when it is not registered. */
const struct gw_netif_counts *netif_counts(const struct gw_agent *a);

#endif
