/*
 * netif_watch.h - network interfaces appearing on the host (a VPN client's tun0, NetBird's wt0, a
 * WireGuard link), handed to the detections by name.
 *
 * Sources: the interfaces present at start (<sys_root>/class/net), then the kernel's "net"
 * subsystem uevents read by the device module's uevent listener, which already drops anything not
 * sent by the kernel. Only interfaces of the agent's own network namespace are seen: the kernel
 * sends a net device's uevents into the namespace that owns it. The finding is the observable
 * output (evidence kind "netif", event id 0: there is no interface event message); interfaces
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

/* Every interface under <sys_root>/class/net, matched once. */
void netif_inventory(struct gw_agent *a, const char *sys_root, struct gw_netif_counts *c);

/* One accepted uevent of the "net" subsystem. */
void netif_on_uevent(struct gw_agent *a, const struct gw_uevent *ev, struct gw_netif_counts *c);

#endif
