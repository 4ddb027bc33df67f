/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * gw_latency.h - the wire format between the latency walk (bpf/latency.bpf.c) and the agent
 * (agent/latency/): the connections the agent watches, and what the walk writes for each of them.
 * The walk writes into the iterator's output (bpf_seq_write), not the ring: the agent reads it
 * right away, one fixed-size sample per watched open connection.
 */
#ifndef GW_LATENCY_H
#define GW_LATENCY_H

#ifndef __BPF__
#include <linux/types.h>
#endif

#define GW_LATENCY_WATCH_MAX 1024

/*
 * A watched connection, as the network names a flow: the peer, and the port that says what it is
 * (ours inbound, the peer's outbound). Every open connection of that key is sampled.
 */
struct gw_latency_key {
	__u8 remote_addr[16]; /* v4-mapped for IPv4 */
	__u16 port;	      /* host byte order */
	__u8 inbound;
	__u8 pad[5];
};

/* One open connection of a watched key, read from its tcp_sock. */
struct gw_latency_sample {
	struct gw_latency_key key;
	__u64 process_id;	/* the watch entry's */
	__u8 local_addr[16];
	__u16 local_port;
	__u16 remote_port;
	__u32 srtt_us;		/* tcp_sock.srtt_us >> 3 */
	__u32 mdev_us;		/* tcp_sock.mdev_us >> 2: mean deviation of the RTT */
	__u32 pad;
	__u64 bytes_acked;
	__u64 bytes_received;
};

_Static_assert(sizeof(struct gw_latency_key) == 24, "gw_latency_key layout");
_Static_assert(sizeof(struct gw_latency_sample) == 80, "gw_latency_sample layout");

#endif
