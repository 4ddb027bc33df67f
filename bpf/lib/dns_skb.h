/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dns_skb.h - DNS answers, the fallback: every packet through cgroup_skb ingress (and egress for
 * queries where the agent matches transaction ids).
 *
 * Layering (a header includes only those above it): gw_bpf_common.h -> lib/net_common.h ->
 * lib/owner.h -> lib/fold.h -> lib/tcp.h -> lib/tcp_walk.h; lib/net_common.h -> lib/udp.h ->
 * lib/dns.h -> lib/dns_skb.h. Only entry files (bpf/network.bpf.c, a test program) define programs (SEC); they may
 * include any header and call its static inline functions with synthetic inputs.
 */
#ifndef GW_LIB_DNS_SKB_H
#define GW_LIB_DNS_SKB_H

#include "lib/dns.h"

/*
 * Headers are read straight from the packet when they are in its linear part (always, for what
 * reaches a socket or leaves one: the stack has pulled them), which is a bounds check instead of a
 * helper call on every packet of the host; bpf_skb_load_bytes is the fallback.
 */
static __always_inline int load_hdr(struct __sk_buff *skb, __u32 off, void *dst, __u32 len)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	if (off <= 64 && data + off + len <= end) {
		__builtin_memcpy(dst, data + off, len);
		return 0;
	}
	return bpf_skb_load_bytes(skb, off, dst, len);
}

/*
 * One body for both directions: answers (ingress, source port 53) feed the cache. A forged answer
 * sent to any open UDP port must not rename someone's connection, so an answer says whether its
 * socket asked that server (GW_DNS_F_ASKED, from sock_peers); queries (egress, destination port 53)
 * are captured only where the agent matches answers to them by transaction id and question.
 */
static __always_inline int dns_capture(struct __sk_buff *skb, bool egress)
{
	struct gw_net_tuple tu = {};
	__u16 dport;
	__u64 l4_off, payload_off, payload_len, n;
	__u32 zero = 0, saddr = 0, daddr = 0, flags = 0, *asker = NULL;
	struct ipv6hdr ip6;
	__u8 proto;
	__u16 sport;
	__u32 rport = skb->remote_port; /* the socket's peer port, network order */

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	rport >>= 16; /* the context rewrite leaves it in the upper half on little endian */
#endif
	/*
	 * These programs run for every packet of the host. A connected socket whose peer is not port
	 * 53 (almost all TCP, connected UDP) is done with one load through skb->sk, before the packet
	 * is touched; unconnected sockets (peer port 0), which a resolver may use with sendto and
	 * recvfrom, go on to the headers.
	 */
	if (rport && rport != bpf_htons(DNS_PORT))
		return 1;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (load_hdr(skb, 0, &ip, sizeof(ip)))
			return 1;
		if (ip.frag_off & bpf_htons(0x1fff))
			return 1; /* not a first fragment: no L4 header here */
		proto = ip.protocol;
		l4_off = (ip.ihl & 0xf) * 4;
		saddr = ip.saddr;
		daddr = ip.daddr;
		tu.family = AF_INET;
		payload_len = bpf_ntohs(ip.tot_len);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (load_hdr(skb, 0, &ip6, sizeof(ip6)))
			return 1;
		proto = ip6.nexthdr; /* extension headers in front of DNS replies are not followed */
		l4_off = sizeof(ip6);
		tu.family = AF_INET6;
		payload_len = sizeof(ip6) + bpf_ntohs(ip6.payload_len);
	} else {
		return 1;
	}

	if (proto == IPPROTO_UDP_) {
		struct udphdr uh;

		if (load_hdr(skb, l4_off, &uh, sizeof(uh)))
			return 1;
		sport = bpf_ntohs(uh.source);
		dport = bpf_ntohs(uh.dest);
		if ((egress ? dport : sport) != DNS_PORT)
			return 1;
		payload_off = l4_off + sizeof(uh);
	} else if (proto == IPPROTO_TCP_) {
		struct tcphdr th;

		if (load_hdr(skb, l4_off, &th, sizeof(th)))
			return 1;
		sport = bpf_ntohs(th.source);
		dport = bpf_ntohs(th.dest);
		if ((egress ? dport : sport) != DNS_PORT)
			return 1;
		payload_off = l4_off + th.doff * 4;
	} else {
		return 1;
	}
	if (tu.family == AF_INET) {
		v4_mapped(tu.remote_addr, egress ? daddr : saddr);
		v4_mapped(tu.local_addr, egress ? saddr : daddr);
	} else {
		__builtin_memcpy(tu.remote_addr, egress ? &ip6.daddr : &ip6.saddr, 16);
		__builtin_memcpy(tu.local_addr, egress ? &ip6.saddr : &ip6.daddr, 16);
	}
	tu.local_port = egress ? sport : dport;
	tu.remote_port = DNS_PORT;
	tu.protocol = proto;
	tu.direction = egress ? 0 : 1;
	if (!egress) {
		struct sock_peer_key k = { .cookie = bpf_get_socket_cookie(skb), .port = DNS_PORT };

		__builtin_memcpy(k.addr, tu.remote_addr, 16);
		asker = bpf_map_lookup_elem(&sock_peers, &k);
		flags = asker ? GW_DNS_F_ASKED : GW_DNS_F_UID_SOCKET;
	}

	if (payload_len > skb->len)
		payload_len = skb->len;
	if (payload_len <= payload_off)
		return 1; /* a bare ACK */
	payload_len -= payload_off;

	struct dns_scratch *s = bpf_map_lookup_elem(&dns_scratch, &zero);

	if (!s)
		return 1;
	n = dns_slice_len(payload_len); /* payload_len >= 1 here */
	if (bpf_skb_load_bytes(skb, payload_off, s->ev.data, n))
		return 1;
	s->ev.uid = asker ? *asker : bpf_get_socket_uid(skb);
	dns_emit(s, egress ? GW_EV_DNS_QUERY : GW_EV_DNS_ANSWER, &tu, payload_len, n, flags,
		 s->ev.uid);
	return 1;
}

#endif /* GW_LIB_DNS_SKB_H */
