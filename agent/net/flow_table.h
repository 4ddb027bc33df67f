/*
 * flow_table.h - aggregates connections into flows per process, protocol, peer and direction.
 *
 * One flow = (process id, protocol, remote address, port, direction) over one window, where the port
 * is the service's: the peer's port outbound, the local (listening) port inbound, since an inbound
 * peer's ephemeral port would make every accepted connection a flow of its own. Each
 * connection attempt, its result, and its byte/RTT figures at close are folded in with
 * flow_table_add(); the table hands finished flows to an emit callback:
 *  - every window (default 10 s) via flow_table_tick(): all flows, then the table starts afresh, so a
 *    flow record always covers one window and its counters are that window's;
 *  - when a process exits (flow_table_flush_process): its flows, at once;
 *  - when the table is full and a new flow arrives: the least recently updated flow is emitted early
 *    and counted as an eviction — the data is still reported, only the window is cut short.
 * Memory is bounded: `capacity` entries allocated up front.
 */
#ifndef GW_FLOW_TABLE_H
#define GW_FLOW_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns_parse.h"
#include "net_addr.h"

enum flow_direction {
	FLOW_OUTBOUND = 0,
	FLOW_INBOUND = 1,
};

enum flow_failure {
	FLOW_FAIL_NONE = 0,
	FLOW_FAIL_REFUSED,
	FLOW_FAIL_TIMEOUT,
	FLOW_FAIL_RESET,
	FLOW_FAIL_OTHER,
	FLOW_FAIL_MAX
};

enum flow_flush_reason {
	FLOW_FLUSH_WINDOW = 0,
	FLOW_FLUSH_PROCESS_EXIT,
	FLOW_FLUSH_EVICTED,
	FLOW_FLUSH_SHUTDOWN,
};

/* Hashed as raw bytes: always build it with flow_key_init() so padding is zero. */
struct flow_key {
	uint64_t process_id;
	struct gw_ip remote;
	uint16_t port;		/* outbound: the peer's; inbound: ours (the listener's) */
	uint8_t protocol;	/* IPPROTO_TCP, IPPROTO_UDP */
	uint8_t direction;	/* enum flow_direction */
	uint32_t pad;
};

/*
 * One observation folded into a flow, or several already summed (the kernel folds repeated TCP
 * connections, see struct gw_tcp_fold). Zero fields mean "nothing to add".
 */
struct flow_sample {
	uint32_t pid;
	uint64_t connections;		/* attempts started: SYN sent, accept, first datagram */
	enum flow_failure failure;	/* one attempt's failure, if any */
	uint64_t failures[FLOW_FAIL_MAX];	/* failures already counted, added as they are */
	uint64_t bytes_sent;
	uint64_t bytes_received;
	uint32_t rtt_us;		/* one smoothed RTT at close; 0 = not measured */
	uint32_t rtt_min_us;		/* or several: min/max/sum over rtt_samples */
	uint32_t rtt_max_us;
	uint64_t rtt_sum_us;
	uint64_t rtt_samples;
	const char *dns_name;		/* NULL = unknown */
	const char *app_protocol;	/* proto_app_name(): NULL = not identified */
	const char *server_name;	/* TLS server name or HTTP Host; NULL = none */
};

struct flow {
	struct flow_key key;
	uint32_t pid;
	uint64_t first_seen_ns;
	uint64_t last_seen_ns;
	uint64_t connections;
	uint64_t failures[FLOW_FAIL_MAX];	/* [FLOW_FAIL_NONE] unused */
	uint64_t bytes_sent;
	uint64_t bytes_received;
	uint32_t rtt_min_us;
	uint32_t rtt_max_us;
	uint64_t rtt_sum_us;
	uint64_t rtt_samples;
	char dns_name[DNS_NAME_MAX + 1];	/* empty = unknown */
	const char *app_protocol;		/* static: proto_app_name(); NULL = not identified */
	char server_name[DNS_NAME_MAX + 1];	/* the first one identified; empty = none */
};

typedef void (*flow_emit_fn)(const struct flow *f, enum flow_flush_reason why, void *ctx);

struct flow_table_stats {
	uint64_t flows_created;
	uint64_t flows_emitted;
	uint64_t evictions;
	uint64_t size;
};

struct flow_table;

/* window_ns 0 means the 10 s default. Returns NULL on allocation failure or capacity 0. */
struct flow_table *flow_table_new(size_t capacity, uint64_t window_ns, flow_emit_fn emit, void *ctx,
				  uint64_t now_ns);
void flow_table_free(struct flow_table *t);

void flow_key_init(struct flow_key *k, uint64_t process_id, uint8_t protocol,
		   enum flow_direction dir, const struct gw_ip *remote, uint16_t port);

void flow_table_add(struct flow_table *t, const struct flow_key *k, const struct flow_sample *s,
		    uint64_t now_ns);
/* When the current window ends (boot clock). */
uint64_t flow_table_window_end(const struct flow_table *t);
/* Emit and forget every flow if the window has elapsed. Returns the number emitted. */
size_t flow_table_tick(struct flow_table *t, uint64_t now_ns);
/* Emit and forget every flow now (window end forced, or shutdown). */
size_t flow_table_flush_all(struct flow_table *t, enum flow_flush_reason why, uint64_t now_ns);
bool flow_table_has_process(const struct flow_table *t, uint64_t process_id);
/* Emit and forget every flow of one process. */
size_t flow_table_flush_process(struct flow_table *t, uint64_t process_id);

uint32_t flow_rtt_avg_us(const struct flow *f);
const char *flow_failure_name(enum flow_failure f);
const char *flow_flush_reason_name(enum flow_flush_reason r);
void flow_table_get_stats(const struct flow_table *t, struct flow_table_stats *out);

#endif
