/*
 * dns_cache.h - the bounded (uid, address) -> name cache that gives connections and flows their
 * DNS names.
 *
 * Filled from parsed DNS answers, read when a connection or flow is reported. An answer names only
 * connections of the uid whose socket received it: any user can run a resolver of their own (or
 * ask a server they run) and get an answer mapping an RMM relay's address to a benign name; in one
 * global table the last such answer renamed the relay for every process of the host. Uids are the
 * host's: the capture takes them in the asking process's context, never from a socket's network
 * namespace, where any user can be root (net_ingest_dns keeps such an answer off the shared uids).
 *
 * Shared resolvers. A process using the stub resolver (127.0.0.53, a local dnsmasq or unbound)
 * reads its answer from its own socket over loopback, and that read is what the capture sees, under
 * the client's uid; the resolver's own read of the upstream answer is seen too, under the
 * resolver's uid. Clients that never read a DNS message themselves (nss-resolve over varlink, nscd
 * over its unix socket) only have the resolver's capture. So the uids registered as shared (root
 * and the resolver services' accounts; the caller decides which) form a second layer: a connection
 * takes its own uid's name first and, only when its uid has none, the first live name of the shared
 * uids in the order they were registered. Root comes first there: an unprivileged user can make the
 * resolver look up a name of theirs that maps to any address, never write root's entries. Another
 * uid's answer never replaces a name; an answer contradicting a shared uid's live name for the same
 * address is kept for its own uid only and counted (overrides_refused).
 *
 * Bounded: two pools allocated up front, one for the shared uids and one for everyone else, each
 * evicting its least recently used entry when full (counted), so a flood of answers received by an
 * unprivileged user can push out only unprivileged users' names, and of those only until the
 * flooding uid holds half the pool: from there it evicts its own oldest (a uid alone may fill it).
 * One name per (uid, address): the most recent answer of that uid, the likeliest one its next
 * connection came from (shared hosting).
 * Entries expire at the answer's TTL, raised to min_ttl_s (connections often follow a lookup whose
 * TTL is 0 or a few seconds and go on long after) and capped at max_ttl_s (a name an attacker's own
 * server gave with a TTL of days does not outlive the relay's next real lookup by more than that).
 */
#ifndef GW_DNS_CACHE_H
#define GW_DNS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns_parse.h"
#include "net_addr.h"

#define DNS_CACHE_SHARED_MAX 8

struct dns_cache;

struct dns_cache_stats {
	uint64_t inserts;
	uint64_t updates;	/* an existing (uid, address) got a new name or TTL */
	uint64_t hits;
	uint64_t shared_hits;	/* ... of those, answered by a shared uid's name for another uid */
	uint64_t misses;
	uint64_t expired;	/* entries found stale on lookup or reused after expiry */
	uint64_t evictions;	/* live entries pushed out because their pool was full */
	uint64_t user_evictions;	/* ... of those, in the pool of the unprivileged uids */
	uint64_t share_evictions;	/* ... of those, a uid's own oldest: it held its share */
	uint64_t overrides_refused;	/* answers contradicting a shared uid's live name */
	uint64_t ttl_capped;	/* answers whose TTL was cut to max_ttl_s */
	uint64_t size;
};

/* capacity >= 2 (split between the pools); min_ttl_s <= max_ttl_s, max_ttl_s >= 1 (the cap wins
 * otherwise). Returns NULL on allocation failure or bad arguments. */
struct dns_cache *dns_cache_new(size_t capacity, uint32_t min_ttl_s, uint32_t max_ttl_s);
void dns_cache_free(struct dns_cache *c);

/* Registers a shared uid, after the ones before it in lookup order. Returns 0, or -1 when
 * DNS_CACHE_SHARED_MAX are registered already. Registering one twice is a no-op. Call before the
 * first put. */
int dns_cache_add_shared_uid(struct dns_cache *c, uint32_t uid);
bool dns_cache_uid_is_shared(const struct dns_cache *c, uint32_t uid);

/* An answer received by a socket of `uid`. */
void dns_cache_put(struct dns_cache *c, uint32_t uid, const struct gw_ip *ip, const char *name,
		   uint32_t ttl_s, uint64_t now_ns);
/* Every address of a parsed response, under the question's name. */
void dns_cache_put_response(struct dns_cache *c, uint32_t uid, const struct dns_response *resp,
			    uint64_t now_ns);

/* The name for a connection of `uid` to ip, or NULL. The pointer is valid until the next put. A
 * hit refreshes LRU order. */
const char *dns_cache_get(struct dns_cache *c, uint32_t uid, const struct gw_ip *ip,
			  uint64_t now_ns);

void dns_cache_get_stats(const struct dns_cache *c, struct dns_cache_stats *out);

#endif
