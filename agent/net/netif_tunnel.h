/*
 * netif_tunnel.h - tunnel interfaces (tun, tap, WireGuard, PPP, IP-in-IP, GRE, SIT, VTI) whatever
 * their name, and the process that made each.
 *
 * The kind comes from sysfs: a tun_flags attribute marks the tun driver (IFF_TUN or IFF_TAP), the
 * link type (ARPHRD_*) the PPP and IP tunnels, DEVTYPE WireGuard. The creator comes, in order of
 * how much it proves:
 *  - "fdinfo": the process holding a tun descriptor attached to the interface (its fdinfo says
 *    `iff: NAME`): a VPN client holds its tunnel's queue for as long as the tunnel lives;
 *  - "open": the latest process to open /dev/net/tun (or /dev/ppp for a PPP link) in the
 *    NETIF_OPEN_WINDOW_MS before the interface appeared (bpf/tunnel.bpf.c): the maker of a
 *    persistent tun (`ip tuntap add`) closes its descriptor and exits at once;
 *  - nothing: a netlink-made link (WireGuard, IP tunnels), or a device opened too long before.
 */
#ifndef GW_NETIF_TUNNEL_H
#define GW_NETIF_TUNNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gw_agent;
struct gw_tunnel;

/* The tunnel kind of <net_dir>/<name> ("tun", "tap", "wireguard", "ppp", ...), NULL when it is
 * not a tunnel or is a kernel's fallback device (tunl0, sit0, gre0, ...: made by a module's
 * load, not by anyone's request). `devtype` is the uevent's DEVTYPE, or NULL. */
const char *netif_tunnel_kind(const char *net_dir, const char *name, const char *devtype);

#define NETIF_CREATORS 32
#define NETIF_EXE_LEN 256
#define NETIF_OPEN_WINDOW_MS 2000

struct netif_creator {
	char ifname[16];  /* fdinfo: the interface it holds */
	bool ppp;	  /* open: of /dev/ppp, else of /dev/net/tun */
	uint32_t pid;
	uint64_t process_id;
	uint64_t boot_ns; /* open: when */
	char comm[16];
	char exe[NETIF_EXE_LEN];
	const char *source; /* "fdinfo", "open" */
};

struct netif_creators {
	struct netif_creator v[NETIF_CREATORS]; /* a ring of the latest opens */
	uint32_t next;
};

/* Adds what a GW_EV_TUNNEL_OPEN record says; the entry, or NULL when the record is malformed. */
const struct netif_creator *netif_creators_add(struct gw_agent *a, struct netif_creators *c,
					       const void *data, size_t size);

/* The latest open of the device that makes a `kind` interface ("ppp": /dev/ppp, else
 * /dev/net/tun) no later than appeared_ns and no earlier than NETIF_OPEN_WINDOW_MS before it;
 * NULL if none. */
const struct netif_creator *netif_creators_find(const struct netif_creators *c, const char *kind,
						uint64_t appeared_ns);

/* The process holding a tun descriptor attached to `ifname`, from <proc_root>/<pid>/fdinfo;
 * false when none does. */
bool netif_tun_holder(struct gw_agent *a, const char *proc_root, const char *ifname,
		      struct netif_creator *out);

/* The device-open hook (tunnel.bpf.c) on the root cgroup, over the shared ring; `why` says what
 * failed. */
struct netif_tunnel_hooks {
	struct gw_tunnel *skel;
	struct bpf_link *link;
	char why[192];
};

int netif_tunnel_hooks_load(struct gw_agent *a, struct netif_tunnel_hooks *h);
void netif_tunnel_hooks_close(struct netif_tunnel_hooks *h);

#endif
