/*
 * place_net.c - route, neighbour and address tables through libnl-route; change notifications on
 * a plain rtnetlink socket (only "something changed" is needed from them). See place_net.h.
 */
#include "place_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

/* Entries the kernel holds a link-layer address for; INCOMPLETE and FAILED have none that works. */
#define NEIGH_KNOWN (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT)

int place_netlink_open(struct place_netlink *nl)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int err;

	memset(nl, 0, sizeof(*nl));
	nl->events_fd = -1;
	nl->dump = nl_socket_alloc();
	if (!nl->dump)
		return -ENOMEM;
	err = nl_connect(nl->dump, NETLINK_ROUTE);
	if (err) {
		nl_socket_free(nl->dump);
		nl->dump = NULL;
		return -EIO;
	}
	nl->events_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->events_fd < 0)
		return -errno;
	sa.nl_groups = RTMGRP_NEIGH | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_IPV4_IFADDR |
		       RTMGRP_IPV6_IFADDR;
	if (bind(nl->events_fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(nl->events_fd);
		nl->events_fd = -1;
		return err;
	}
	return 0;
}

void place_netlink_close(struct place_netlink *nl)
{
	if (nl->dump)
		nl_socket_free(nl->dump);
	if (nl->events_fd >= 0)
		close(nl->events_fd);
	nl->dump = NULL;
	nl->events_fd = -1;
}

uint32_t place_netlink_changed(struct place_netlink *nl)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	uint32_t changed = 0;

	if (nl->events_fd < 0)
		return 0;
	for (;;) {
		ssize_t n = recv(nl->events_fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0) {
			int len = (int)n;

			for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len);
			     h = NLMSG_NEXT(h, len))
				changed |= h->nlmsg_type == RTM_NEWNEIGH || h->nlmsg_type == RTM_DELNEIGH
						   ? PLACE_NL_NEIGH
						   : PLACE_NL_ROUTE;
			continue;
		}
		if (n < 0 && errno == ENOBUFS) {
			nl->overruns++;
			changed |= PLACE_NL_NEIGH | PLACE_NL_ROUTE;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return changed;
	}
}

bool place_mac_set_add(uint8_t (*set)[6], size_t *n, size_t max, const uint8_t mac[6])
{
	size_t lo = 0, hi = *n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = memcmp(set[mid], mac, 6);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (*n == max)
		return false;
	memmove(set[lo + 1], set[lo], (*n - lo) * 6);
	memcpy(set[lo], mac, 6);
	(*n)++;
	return true;
}

static void addr_text(struct nl_addr *a, char *out, size_t len)
{
	out[0] = 0;
	if (a && nl_addr_get_len(a) > 0)
		inet_ntop(nl_addr_get_family(a), nl_addr_get_binary_addr(a), out, (socklen_t)len);
}

/* The default route of the main table with the lowest metric, IPv4 before IPv6. */
static struct nl_addr *read_route(struct nl_cache *routes, struct place_net *out)
{
	static const int families[] = { AF_INET, AF_INET6 };

	for (int f = 0; f < 2; f++) {
		struct rtnl_nexthop *best = NULL;
		uint32_t best_prio = UINT32_MAX;

		for (struct nl_object *o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
			struct rtnl_route *r = (struct rtnl_route *)o;
			struct nl_addr *dst = rtnl_route_get_dst(r);
			struct rtnl_nexthop *nh;

			if (rtnl_route_get_family(r) != families[f] ||
			    rtnl_route_get_table(r) != RT_TABLE_MAIN ||
			    rtnl_route_get_type(r) != RTN_UNICAST ||
			    (dst && nl_addr_get_prefixlen(dst) != 0) ||
			    rtnl_route_get_nnexthops(r) < 1)
				continue;
			nh = rtnl_route_nexthop_n(r, 0);
			if (!nh || rtnl_route_get_priority(r) >= best_prio)
				continue;
			best = nh;
			best_prio = rtnl_route_get_priority(r);
		}
		if (best) {
			struct nl_addr *gw = rtnl_route_nh_get_gateway(best);

			out->ifindex = rtnl_route_nh_get_ifindex(best);
			if (!if_indextoname((unsigned)out->ifindex, out->ifname))
				out->ifname[0] = 0;
			addr_text(gw, out->gateway, sizeof(out->gateway));
			return gw;
		}
	}
	return NULL;
}

static void read_neigh(struct nl_cache *neigh, struct nl_addr *gw, struct place_net *out)
{
	for (struct nl_object *o = nl_cache_get_first(neigh); o; o = nl_cache_get_next(o)) {
		struct rtnl_neigh *n = (struct rtnl_neigh *)o;
		struct nl_addr *ll = rtnl_neigh_get_lladdr(n);
		const uint8_t *mac;

		if (!(rtnl_neigh_get_state(n) & NEIGH_KNOWN) || !ll || nl_addr_get_len(ll) != 6)
			continue;
		mac = nl_addr_get_binary_addr(ll);
		if (gw && rtnl_neigh_get_ifindex(n) == out->ifindex && rtnl_neigh_get_dst(n) &&
		    !nl_addr_cmp(rtnl_neigh_get_dst(n), gw)) {
			memcpy(out->gateway_mac, mac, 6);
			out->has_gateway_mac = true;
		}
		if (!place_mac_set_add(out->neigh, &out->n_neigh, PLACE_MAX_NEIGH, mac))
			out->neigh_dropped++;
	}
}

static void read_addrs(struct nl_cache *addrs, struct place_net *out)
{
	for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;

		if (rtnl_addr_get_scope(a) != RT_SCOPE_UNIVERSE || out->n_addrs == PLACE_MAX_ADDRS)
			continue;
		addr_text(rtnl_addr_get_local(a), out->addrs[out->n_addrs], PLACE_ADDR_LEN);
		if (out->addrs[out->n_addrs][0])
			out->n_addrs++;
	}
}

int place_net_read(struct place_netlink *nl, struct place_net *out)
{
	struct nl_cache *routes = NULL, *neigh = NULL, *addrs = NULL;
	struct nl_addr *gw;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (!nl->dump)
		return -ENOTCONN;
	if (rtnl_route_alloc_cache(nl->dump, AF_UNSPEC, 0, &routes) ||
	    rtnl_neigh_alloc_cache(nl->dump, &neigh) || rtnl_addr_alloc_cache(nl->dump, &addrs)) {
		err = -EIO;
		goto out;
	}
	gw = read_route(routes, out);
	read_neigh(neigh, gw, out);
	read_addrs(addrs, out);
out:
	if (routes)
		nl_cache_free(routes);
	if (neigh)
		nl_cache_free(neigh);
	if (addrs)
		nl_cache_free(addrs);
	return err;
}
