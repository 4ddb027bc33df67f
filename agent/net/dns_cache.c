#include "dns_cache.h"

#include <stdlib.h>
#include <string.h>

#include <uthash.h>
#include <utlist.h>

#define NS_PER_S 1000000000ull

struct dns_cache_entry {
	struct gw_ip ip;	/* hash key */
	uint64_t expires_ns;
	char name[DNS_NAME_MAX + 1];
	UT_hash_handle hh;
	struct dns_cache_entry *prev, *next;	/* LRU list, most recent first */
};

struct dns_cache {
	size_t capacity;
	uint64_t min_ttl_ns;
	struct dns_cache_entry *pool;		/* capacity entries, allocated once */
	struct dns_cache_entry *free_list;	/* singly linked through ->next */
	struct dns_cache_entry *by_ip;		/* uthash head */
	struct dns_cache_entry *lru;		/* utlist head */
	struct dns_cache_stats stats;
};

struct dns_cache *dns_cache_new(size_t capacity, uint32_t min_ttl_s)
{
	struct dns_cache *c;

	if (!capacity)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->pool = calloc(capacity, sizeof(*c->pool));
	if (!c->pool) {
		free(c);
		return NULL;
	}
	c->capacity = capacity;
	c->min_ttl_ns = (uint64_t)min_ttl_s * NS_PER_S;
	for (size_t i = 0; i < capacity; i++) {
		c->pool[i].next = c->free_list;
		c->free_list = &c->pool[i];
	}
	return c;
}

void dns_cache_free(struct dns_cache *c)
{
	if (!c)
		return;
	HASH_CLEAR(hh, c->by_ip);
	free(c->pool);
	free(c);
}

static void remove_entry(struct dns_cache *c, struct dns_cache_entry *e)
{
	HASH_DEL(c->by_ip, e);
	DL_DELETE(c->lru, e);
	e->next = c->free_list;
	c->free_list = e;
	c->stats.size--;
}

static struct dns_cache_entry *take_entry(struct dns_cache *c, uint64_t now_ns)
{
	struct dns_cache_entry *e = c->free_list;

	if (!e) {
		e = c->lru->prev; /* utlist: head->prev is the tail, the least recently used */
		if (e->expires_ns <= now_ns)
			c->stats.expired++;
		else
			c->stats.evictions++;
		remove_entry(c, e);
		e = c->free_list;
	}
	c->free_list = e->next;
	return e;
}

void dns_cache_put(struct dns_cache *c, const struct gw_ip *ip, const char *name, uint32_t ttl_s,
		   uint64_t now_ns)
{
	struct dns_cache_entry *e;
	uint64_t ttl_ns = (uint64_t)ttl_s * NS_PER_S;

	if (ttl_ns < c->min_ttl_ns)
		ttl_ns = c->min_ttl_ns;
	HASH_FIND(hh, c->by_ip, ip, sizeof(*ip), e);
	if (e) {
		c->stats.updates++;
		DL_DELETE(c->lru, e);
	} else {
		c->stats.inserts++;
		e = take_entry(c, now_ns);
		memset(e, 0, sizeof(*e));
		e->ip = *ip;
		HASH_ADD(hh, c->by_ip, ip, sizeof(e->ip), e);
		c->stats.size++;
	}
	e->expires_ns = now_ns + ttl_ns;
	strncpy(e->name, name, DNS_NAME_MAX);
	e->name[DNS_NAME_MAX] = '\0';
	DL_PREPEND(c->lru, e);
}

void dns_cache_put_response(struct dns_cache *c, const struct dns_response *resp, uint64_t now_ns)
{
	for (size_t i = 0; i < resp->n_addrs; i++)
		dns_cache_put(c, &resp->addrs[i].ip, resp->qname, resp->addrs[i].ttl_s, now_ns);
}

const char *dns_cache_get(struct dns_cache *c, const struct gw_ip *ip, uint64_t now_ns)
{
	struct dns_cache_entry *e;

	HASH_FIND(hh, c->by_ip, ip, sizeof(*ip), e);
	if (!e) {
		c->stats.misses++;
		return NULL;
	}
	if (e->expires_ns <= now_ns) {
		c->stats.expired++;
		c->stats.misses++;
		remove_entry(c, e);
		return NULL;
	}
	c->stats.hits++;
	DL_DELETE(c->lru, e);
	DL_PREPEND(c->lru, e);
	return e->name;
}

void dns_cache_get_stats(const struct dns_cache *c, struct dns_cache_stats *out)
{
	*out = c->stats;
}
