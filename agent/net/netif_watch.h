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
 *
 * A tunnel (netif_tunnel.h), whatever its name, also raises GW-NETIF-TUNNEL naming its kind and the
 * process that made it. The record of its device's open and its uevent come through different
 * queues, so a tunnel whose maker is not known yet waits for it up to NETIF_CREATOR_WAIT_MS.
 */
#ifndef GW_NETIF_WATCH_H
#define GW_NETIF_WATCH_H

#include <stdint.h>

#include "netif_tunnel.h"

struct gw_agent;
struct gw_uevent;

struct gw_netif_counts {
	uint64_t inventory; /* present at start */
	uint64_t added;	    /* or renamed */
	uint64_t removed;
	uint64_t tunnels;		/* tunnel interfaces reported */
	uint64_t tunnel_creator_unknown; /* of which no creator was found */
	uint64_t pending_dropped;	/* tunnels reported early: the wait list was full */
};

/* A tunnel that appeared before the record of its creation was read: it waits for it a moment. */
#define NETIF_PENDING_MAX 16

struct netif_pending {
	char name[16];
	char devtype[32];
	const char *kind;
	const char *action;
	uint32_t ifindex;
	uint64_t appeared_ns; /* CLOCK_BOOTTIME, when its uevent was read */
	uint64_t deadline_ns;
};

struct gw_netif {
	const char *sys_root;
	struct gw_netif_counts counts;
	struct netif_creators creators;
	struct netif_tunnel_hooks hooks;
	struct netif_pending pending[NETIF_PENDING_MAX];
	uint32_t n_pending;
};

/* Registers the interface watch as a domain of its own: the inventory at start, then the "net"
 * uevents. */
int netif_register(struct gw_agent *a, const char *sys_root);

/* Its counts (tests, stats); NULL when it is not registered. */
const struct gw_netif_counts *netif_counts(const struct gw_agent *a);

#endif
