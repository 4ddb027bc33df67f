/*
 * network.h - the agent's network domain: turns TCP/UDP/DNS records into Connection events, folds
 * them into the flow table (flow_table.c) and the DNS answers into the (uid, address) -> name
 * cache (dns_cache.c), and emits Flow events every window, when a process exits and at shutdown.
 *
 * Publishes each connection and flow as a fact for the rules, and remote connections' RTT for input
 * cadence (facts.h); learns a process's exit from the exit fact.
 *
 * Owns the network BPF hooks (net_hooks.c), the flow table, the DNS cache and their counters.
 * A process's flows are flushed a short grace after its exit record, because its sockets close
 * (and report bytes) only after the exit tracepoint fires. Repeated TCP connections the kernel
 * folded (struct gw_tcp_fold) are drained into the flow table every tick, well within that grace;
 * open connections are walked once per flow window, just before it ends, for the bytes they moved,
 * so a long upload shows in the windows it happens in, not only at its close.
 */
#ifndef GW_NETWORK_H
#define GW_NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uthash.h>

#include "netns_set.h"
#include "dns_cache.h"
#include "gw_events.h"
#include "dns_parse.h"
#include "dns_pending.h"
#include "flow_table.h"
#include "net_hooks.h"

struct gw_agent;

struct gw_net_options {
	bool enabled;
	struct gw_net_hook_options hooks;
	uint32_t flow_window_s;		/* default 10 */
	uint32_t flow_table_max;
	uint32_t dns_cache_max;
	uint32_t dns_min_ttl_s;
	uint32_t dns_max_ttl_s;		/* network.dns_max_ttl_seconds */
	uint32_t exit_flush_grace_ms;
};

void net_options_defaults(struct gw_net_options *o);

#define GW_NET_PENDING_EXITS 1024
#define GW_NET_PROTO_SEEN 4096

/*
 * A TCP connection that was open when the agent started, as /proc showed it: its close comes from
 * the kernel without an owner and is matched here. Not by local port: the kernel has cleared it by
 * the time the close is traced. Two such connections to one peer and port may swap entries; both
 * are usually the same process's.
 */
struct gw_net_open_key {
	uint32_t netns;
	uint16_t remote_port;
	uint16_t pad;
	struct gw_ip remote;
};

struct gw_net_open {
	struct gw_net_open_key key;
	struct gw_net_task task;
	uint16_t local_port;
	uint8_t direction;
	UT_hash_handle hh;
};

struct gw_net_pending_exit {
	uint64_t process_id;
	uint64_t flush_at_ns;
};

/* Counters reported in AgentStats.network. */
enum gw_net_counter {
	NET_DNS_QUERIES,	/* port-53 payloads sent */
	NET_DNS_QUERIES_UNPARSED,
	NET_DNS_ANSWERS,	/* port-53 payloads received from the kernel */
	NET_DNS_UNSOLICITED,	/* well-formed answers the live check does not believe */
	NET_DNS_PARSED,		/* parsed completely */
	NET_DNS_ADDRESSES,	/* addresses put in the cache */
	NET_DNS_NAMES_SANITIZED,
	NET_DNS_UNRELATED_ADDRS,
	NET_CONNECT_UNKNOWN_OWNER,	/* inbound on a listener neither the hooks nor /proc named */
	NET_EXIT_FLUSH_IMMEDIATE,	/* pending-exit queue full: flushed without the grace */
	NET_LISTENERS_SEEDED,		/* listeners older than the agent, owners from /proc */
	NET_OPEN_AT_START,		/* established connections older than the agent */
	NET_CLOSE_UNKNOWN_OWNER,	/* a close no start or /proc row explains: not attributed */
	NET_TCP_ATTEMPTS_FOLDED,	/* connects/accepts counted in the kernel, not sent one by one */
	NET_TCP_CLOSES_FOLDED,		/* closes whose bytes and RTT the kernel summed */
	NET_TCP_FOLD_ENTRIES,		/* fold-map entries drained into flows */
	NET_TCP_FOLD_DRAIN_ERRORS,	/* a fold map could not be read (its entries wait a round) */
	NET_TCP_OPEN_SAMPLES,		/* walks of open connections for their bytes so far */
	NET_TCP_OPEN_SAMPLE_ERRORS,	/* walks that failed (those bytes then come at close) */
	NET_TCP_OPEN_WALKS_OTHER_NETNS,	/* the same walks made in other network namespaces */
	NET_NETNS_UNWALKED,		/* namespaces past the set's size at the last refresh */
	NET_TCP_OWNER_WALKS,		/* connect flavour: walks of the owner maps for results */
	NET_TCP_OWNER_WALK_ERRORS,	/* such walks that failed (those results come at close) */
	NET_LISTENER_RESCANS,		/* /proc read again for an accept's unknown listener */
	NET_PROTO_SEGMENTS,		/* first segments of TCP connections captured */
	NET_PROTO_IDENTIFIED,		/* ... whose application protocol was named */
	NET_PROTO_REPEATED,		/* ... of a socket already identified (its other direction) */
	NET_PROTO_UNKNOWN_OWNER,	/* ... identified, on a socket whose owner no hook named */
	NET_DNS_UID_UNSURE,	/* believed answers whose shared uid may be a user namespace's
				 * (GW_DNS_F_UID_SOCKET): not cached */
	NET_COUNTER_MAX
};

struct gw_net {
	struct gw_net_options opt;
	struct gw_net_hooks hooks;
	struct flow_table *flows;
	struct dns_cache *dns;
	struct dns_pending *queries;	/* questions asked, for verifying answers */
	struct gw_agent *agent;		/* for the flow emit callback */
	bool loaded;			/* its hooks are attached */
	uint64_t dns_rejected[DNS_RESULT_MAX];	/* [DNS_OK] unused */
	uint64_t counters[NET_COUNTER_MAX];
	uint64_t fold_retired_ns[2];	/* when each fold map last stopped being live */
	uint64_t sampled_window_end_ns;	/* the window the last walk of open connections was for */
	uint64_t next_result_walk_ns;	/* connect flavour: when open connections' results are next
					 * walked for */
	uint64_t listener_scan_ns;	/* when /proc was last read for an unknown listener */
	struct netns_set netns;		/* the other namespaces the walk of open connections enters */
	struct gw_net_open *open_at_start;	/* uthash by key; entries go when they close */
	struct gw_net_pending_exit pending[GW_NET_PENDING_EXITS];
	size_t pending_head, pending_count;
	/* sockets whose first bytes were identified already (net_proto.c): a hash of each, direct
	 * mapped, so a socket's other direction does not identify it twice */
	uint64_t proto_seen[GW_NET_PROTO_SEEN];
};

/* Registers the network domain (net_domain.c): records of types 16-31, a process's flows flushed at
 * its exit fact, connections' RTT published as facts, AgentStats.network. */
int net_register(struct gw_agent *a, const struct gw_net_options *o);

int net_init(struct gw_net *n, struct gw_agent *a, const struct gw_net_options *o);
/* Loads the hooks (after the process hooks). Failures are reported per signal; 0 or -errno. */
/* Loads and attaches the hooks (the domain's load: it may run on the loader thread, agent.h);
 * 0, or -errno with the status saying why. */
int net_load(struct gw_net *n);
/* Once loaded: the connections already open, this thread's network namespace. */
void net_start(struct gw_net *n);
void net_destroy(struct gw_net *n);

/* Records of types 16-31; 0 handled, -1 malformed. */
int net_handle_record(struct gw_net *n, const void *data, size_t size);
/* net_proto.c: a GW_EV_TCP_PROTO record (first bytes of a connection): its protocol and server
 * name on a Connection and its flow, and the remote-desktop findings; 0 or -1 malformed. */
int net_proto_handle(struct gw_net *n, const void *data, size_t size);
/* An accepted TCP connection: the inbound-accept finding when the peer is off the host and the
 * listener is not a system program. */
void net_proto_on_accept(struct gw_net *n, const struct gw_net_task *task,
			 const struct gw_net_tuple *tu, uint64_t ktime_ns);
void net_on_process_exit(struct gw_net *n, uint64_t process_id, uint64_t now_ns);
void net_tick(struct gw_net *n, uint64_t now_ns);
/* When its tick is next due, for an idle agent (agent.h: next_tick). */
uint64_t net_next_tick(const struct gw_net *n, uint64_t now_ns);
/* Emits every remaining flow (agent stopping). */
void net_shutdown(struct gw_net *n);

/* Feeds one captured DNS answer from `server` to local port `local_port`, read by `uid`, to the
 * parser and, when the live check believes it (its socket asked that server, `socket_asked`, or it
 * answers a question we saw), to the cache under that uid. `uid_unsure`: the uid may be a user
 * namespace's (GW_DNS_F_UID_SOCKET), so it cannot claim a shared uid. */
enum dns_result net_ingest_dns(struct gw_net *n, const uint8_t *payload, size_t len, bool tcp,
			       const struct gw_ip *server, uint16_t local_port, bool socket_asked,
			       uint32_t uid, bool uid_unsure, uint64_t now_ns);

/* Within the domain: network.c (life, ticks, flushing, counters), net_records.c (the hooks'
 * records), net_emit.c (Connection and Flow events, facts), net_seed.c (sockets older than the
 * agent, from /proc), net_fold.c (connections the kernel folded, walks of open ones), net_proto.c
 * (connections' first bytes: protocol, server name, findings). */
void net_add_to_flow(struct gw_net *n, const struct gw_net_task *task,
		     const struct gw_net_tuple *tu, const struct gw_ip *remote,
		     struct flow_sample *s, uint64_t ktime_ns);
void net_emit_connection(struct gw_net *n, const struct gw_net_task *task,
			 const struct gw_net_tuple *tu, const char *dns_name, const char *result,
			 const char *hook, uint64_t duration_ns, uint32_t error);
/* The same with the application protocol and server name its first bytes gave (net_proto.c);
 * returns the event's id, 0 if it could not be made. */
uint64_t net_emit_connection_app(struct gw_net *n, const struct gw_net_task *task,
				 const struct gw_net_tuple *tu, const char *dns_name,
				 const char *result, const char *hook, uint64_t duration_ns,
				 uint32_t error, const char *app_protocol, const char *server_name);
enum flow_failure net_failure_of(uint32_t tcp_result);
/* The flow table's flush callback (ctx: the struct gw_net): one Flow event per flow. */
void net_emit_flow(const struct flow *f, enum flow_flush_reason why, void *ctx);
/* A remote connection's RTT, published for input cadence (facts.h). */
void net_publish_rtt(struct gw_net *n, uint64_t process_id, uint32_t rtt_us);
uint64_t net_task_process_id(struct gw_agent *a, const struct gw_net_task *t);

void net_seed_from_procfs(struct gw_net *n);
/* The owner of a listener nobody named, from /proc (rate-limited); false if none. */
bool net_seed_listener_owner(struct gw_net *n, uint32_t netns, uint16_t port,
			     struct gw_net_task *t);
/* A close of a connection open at start: its owner from the seed; false if it was not one. */
bool net_seed_claim_open(struct gw_net *n, struct gw_tcp_event *r);

/* Retires the live fold map and drains the retired one (both when drain_both). */
void net_fold_rotate(struct gw_net *n, bool drain_both, uint64_t now_ns);
/* Walks open connections for their bytes so far; refresh: the namespaces' list too. */
void net_fold_walk_open(struct gw_net *n, bool refresh);

/* name/value pairs for AgentStats.network; returns how many were written (<= max). */
size_t net_counters(const struct gw_net *n, const char **names, uint64_t *values, size_t max);

#endif
