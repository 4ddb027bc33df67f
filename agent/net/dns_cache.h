/*
 * dns_cache.h - the bounded address -> name cache that gives flows their DNS names.
 *
 * Filled from parsed DNS answers, read when a connection or flow is reported. Bounded: a fixed
 * number of entries allocated up front; when full, the least recently used entry is evicted and
 * counted. Entries expire at max(answer TTL, min_ttl_s): connections often follow a lookup whose TTL
 * is 0 or a few seconds (CDNs, load balancers), and the process may keep connecting to the address
 * long after, so the floor keeps the name attached while it matters. Last writer wins: when two names
 * resolve to one address (shared hosting), the most recent lookup is the likeliest one the next
 * connection came from.
 */
#ifndef GW_DNS_CACHE_H
#define GW_DNS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "dns_parse.h"
#include "net_addr.h"

struct dns_cache;

struct dns_cache_stats {
	uint64_t inserts;
	uint64_t updates;	/* an existing address got a new name or TTL */
	uint64_t hits;
	uint64_t misses;
	uint64_t expired;	/* entries found stale on lookup or reused after expiry */
	uint64_t evictions;	/* live entries pushed out because the cache was full */
	uint64_t size;
};

/* capacity >= 1. Returns NULL on allocation failure. */
struct dns_cache *dns_cache_new(size_t capacity, uint32_t min_ttl_s);
void dns_cache_free(struct dns_cache *c);

void dns_cache_put(struct dns_cache *c, const struct gw_ip *ip, const char *name, uint32_t ttl_s,
		   uint64_t now_ns);
/* Every address of a parsed response, under the question's name. */
void dns_cache_put_response(struct dns_cache *c, const struct dns_response *resp, uint64_t now_ns);

/* The name for ip, or NULL. The pointer is valid until the next put. A hit refreshes LRU order. */
const char *dns_cache_get(struct dns_cache *c, const struct gw_ip *ip, uint64_t now_ns);

void dns_cache_get_stats(const struct dns_cache *c, struct dns_cache_stats *out);

#endif
