/*
 * place_net.h - the host's network place as the kernel's tables hold it, read through rtnetlink
 * (libnl-route): the default route's gateway and interface, the gateway's MAC from the neighbour
 * table, the host's own addresses and the MACs the neighbour table knows. Passive only: dumps of
 * tables the kernel keeps anyway, and change notifications for them; nothing is sent on the LAN.
 */
#ifndef GW_PLACE_NET_H
#define GW_PLACE_NET_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLACE_MAX_ADDRS 16
#define PLACE_MAX_NEIGH 256
#define PLACE_ADDR_LEN 48 /* INET6_ADDRSTRLEN and room */

struct place_net {
	char gateway[PLACE_ADDR_LEN];
	char ifname[IF_NAMESIZE];
	int ifindex;
	uint8_t gateway_mac[6];
	bool has_gateway_mac;
	char addrs[PLACE_MAX_ADDRS][PLACE_ADDR_LEN];
	size_t n_addrs;
	uint8_t neigh[PLACE_MAX_NEIGH][6]; /* distinct MACs, sorted */
	size_t n_neigh;
	uint32_t neigh_dropped; /* distinct MACs past PLACE_MAX_NEIGH: counted, not kept */
};

struct nl_sock;

struct place_netlink {
	struct nl_sock *dump; /* libnl socket for the table dumps */
	int events_fd;	      /* rtnetlink multicast groups, non-blocking; -1 if none */
	uint64_t overruns;    /* the kernel dropped notifications (ENOBUFS): re-read anyway */
};

/* Opens both sockets; 0, or -errno. */
int place_netlink_open(struct place_netlink *nl);
void place_netlink_close(struct place_netlink *nl);
/* Reads the route, neighbour and address tables into out; 0, or -errno. */
int place_net_read(struct place_netlink *nl, struct place_net *out);
/* Drains pending notifications: which tables changed since the last drain (PLACE_NL_*). */
#define PLACE_NL_NEIGH (1u << 0)
#define PLACE_NL_ROUTE (1u << 1) /* routes or addresses */
uint32_t place_netlink_changed(struct place_netlink *nl);

/* A sorted, distinct insert of mac into a bounded set (unit-testable; false when full). */
bool place_mac_set_add(uint8_t (*set)[6], size_t *n, size_t max, const uint8_t mac[6]);

#endif
