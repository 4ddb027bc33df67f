/*
 * net_addr.h - the one representation of an IP address in the agent's network code.
 *
 * IPv4 addresses are stored v4-mapped (::ffff:a.b.c.d) so that an A record, a connect4 on an AF_INET
 * socket and a connect6 to a v4-mapped peer on a dual-stack socket all land on the same key in the
 * DNS cache and the flow table. Formatting turns a mapped address back into dotted quad.
 */
#ifndef GW_NET_ADDR_H
#define GW_NET_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_IP_STR_LEN 46 /* INET6_ADDRSTRLEN */

struct gw_ip {
	uint8_t b[16];
};

/* Store a v4 address given as 4 bytes in network order. */
void gw_ip_from_v4(struct gw_ip *ip, const uint8_t v4[4]);
void gw_ip_from_v6(struct gw_ip *ip, const uint8_t v6[16]);
bool gw_ip_is_v4(const struct gw_ip *ip);
bool gw_ip_equal(const struct gw_ip *a, const struct gw_ip *b);
/* 127.0.0.0/8 (also v4-mapped) or ::1. */
bool gw_ip_is_loopback(const struct gw_ip *ip);
/* "10.0.0.1" for v4/v4-mapped, "fe80::1" otherwise; out must hold GW_IP_STR_LEN bytes. */
const char *gw_ip_format(const struct gw_ip *ip, char *out, size_t out_len);

#endif
