#include "dns_cache.h"

#include <stdlib.h>
#include <string.h>

#include "core/lru_pool.h"

#define NS_PER_S 1000000000ull

struct dns_cache_entry {
	struct gw_ip ip;	/* the key */
	uint64_t expires_ns;
	char name[DNS_NAME_MAX + 1];
	struct lru_node node;
};

struct dns_cache {
	uint64_t min_ttl_ns;
	struct lru_pool entries;
	struct dns_cache_stats stats;
};

struct dns_cache *dns_cache_new(size_t capacity, uint32_t min_ttl_s)
{
	struct dns_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (lru_pool_init(&c->entries, capacity, sizeof(struct dns_cache_entry),
			  offsetof(struct dns_cache_entry, node), offsetof(struct dns_cache_entry, ip),
			  sizeof(struct gw_ip))) {
		free(c);
		return NULL;
	}
	c->min_ttl_ns = (uint64_t)min_ttl_s * NS_PER_S;
	return c;
}

void dns_cache_free(struct dns_cache *c)
{
	if (!c)
		return;
	lru_pool_destroy(&c->entries);
	free(c);
}

void dns_cache_put(struct dns_cache *c, const struct gw_ip *ip, const char *name, uint32_t ttl_s,
		   uint64_t now_ns)
{
	struct dns_cache_entry *e;
	uint64_t ttl_ns = (uint64_t)ttl_s * NS_PER_S;

	if (ttl_ns < c->min_ttl_ns)
		ttl_ns = c->min_ttl_ns;
	e = lru_pool_find(&c->entries, ip);
	if (e) {
		c->stats.updates++;
		lru_pool_touch(&c->entries, e);
	} else {
		c->stats.inserts++;
		if (lru_pool_full(&c->entries)) {
			struct dns_cache_entry *old = lru_pool_oldest(&c->entries);

			if (old->expires_ns <= now_ns)
				c->stats.expired++;
			else
				c->stats.evictions++;
			lru_pool_remove(&c->entries, old);
		}
		e = lru_pool_insert(&c->entries, ip);
	}
	e->expires_ns = now_ns + ttl_ns;
	strncpy(e->name, name, DNS_NAME_MAX);
	e->name[DNS_NAME_MAX] = '\0';
}

void dns_cache_put_response(struct dns_cache *c, const struct dns_response *resp, uint64_t now_ns)
{
	for (size_t i = 0; i < resp->n_addrs; i++)
		dns_cache_put(c, &resp->addrs[i].ip, resp->qname, resp->addrs[i].ttl_s, now_ns);
}

const char *dns_cache_get(struct dns_cache *c, const struct gw_ip *ip, uint64_t now_ns)
{
	struct dns_cache_entry *e;

	e = lru_pool_find(&c->entries, ip);
	if (!e) {
		c->stats.misses++;
		return NULL;
	}
	if (e->expires_ns <= now_ns) {
		c->stats.expired++;
		c->stats.misses++;
		lru_pool_remove(&c->entries, e);
		return NULL;
	}
	c->stats.hits++;
	lru_pool_touch(&c->entries, e);
	return e->name;
}

void dns_cache_get_stats(const struct dns_cache *c, struct dns_cache_stats *out)
{
	*out = c->stats;
	out->size = c->entries.size;
}
