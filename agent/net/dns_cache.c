#include "dns_cache.h"

#include <stdlib.h>
#include <string.h>

#include "core/lru_pool.h"

#define NS_PER_S 1000000000ull

struct dns_cache_key {
	struct gw_ip ip;
	uint32_t uid;	/* the uid whose socket received the answer */
};

struct dns_cache_entry {
	struct dns_cache_key key;
	uint64_t expires_ns;
	char name[DNS_NAME_MAX + 1];
	struct lru_node node;
};

struct dns_cache {
	uint64_t min_ttl_ns, max_ttl_ns;
	struct lru_pool shared;	/* entries of the shared uids */
	struct lru_pool user;	/* everyone else's */
	uint32_t shared_uids[DNS_CACHE_SHARED_MAX];
	size_t n_shared;
	struct dns_cache_stats stats;
};

static int pool_init(struct lru_pool *p, size_t capacity)
{
	return lru_pool_init(p, capacity, sizeof(struct dns_cache_entry),
			     offsetof(struct dns_cache_entry, node),
			     offsetof(struct dns_cache_entry, key), sizeof(struct dns_cache_key));
}

struct dns_cache *dns_cache_new(size_t capacity, uint32_t min_ttl_s, uint32_t max_ttl_s)
{
	struct dns_cache *c;

	if (capacity < 2 || !max_ttl_s)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (pool_init(&c->shared, capacity / 2)) {
		free(c);
		return NULL;
	}
	if (pool_init(&c->user, capacity - capacity / 2)) {
		lru_pool_destroy(&c->shared);
		free(c);
		return NULL;
	}
	c->min_ttl_ns = (uint64_t)min_ttl_s * NS_PER_S;
	c->max_ttl_ns = (uint64_t)max_ttl_s * NS_PER_S;
	return c;
}

void dns_cache_free(struct dns_cache *c)
{
	if (!c)
		return;
	lru_pool_destroy(&c->shared);
	lru_pool_destroy(&c->user);
	free(c);
}

bool dns_cache_uid_is_shared(const struct dns_cache *c, uint32_t uid)
{
	for (size_t i = 0; i < c->n_shared; i++)
		if (c->shared_uids[i] == uid)
			return true;
	return false;
}

int dns_cache_add_shared_uid(struct dns_cache *c, uint32_t uid)
{
	if (dns_cache_uid_is_shared(c, uid))
		return 0;
	if (c->n_shared == DNS_CACHE_SHARED_MAX)
		return -1;
	c->shared_uids[c->n_shared++] = uid;
	return 0;
}

static struct lru_pool *pool_of(struct dns_cache *c, uint32_t uid)
{
	return dns_cache_uid_is_shared(c, uid) ? &c->shared : &c->user;
}

/* The live entry of (uid, ip) in p, or NULL; a stale one is removed and counted. */
static struct dns_cache_entry *find_live(struct dns_cache *c, struct lru_pool *p, uint32_t uid,
					 const struct gw_ip *ip, uint64_t now_ns)
{
	struct dns_cache_key k = { .ip = *ip, .uid = uid };
	struct dns_cache_entry *e = lru_pool_find(p, &k);

	if (e && e->expires_ns <= now_ns) {
		c->stats.expired++;
		lru_pool_remove(p, e);
		return NULL;
	}
	return e;
}

/* Whether a shared uid other than `uid` holds a different live name for ip. */
static bool contradicts_shared(struct dns_cache *c, uint32_t uid, const struct gw_ip *ip,
			       const char *name, uint64_t now_ns)
{
	for (size_t i = 0; i < c->n_shared; i++) {
		struct dns_cache_entry *e;

		if (c->shared_uids[i] == uid)
			continue;
		e = find_live(c, &c->shared, c->shared_uids[i], ip, now_ns);
		if (e && strncmp(e->name, name, DNS_NAME_MAX))
			return true;
	}
	return false;
}

void dns_cache_put(struct dns_cache *c, uint32_t uid, const struct gw_ip *ip, const char *name,
		   uint32_t ttl_s, uint64_t now_ns)
{
	struct dns_cache_key k = { .ip = *ip, .uid = uid };
	struct lru_pool *p = pool_of(c, uid);
	struct dns_cache_entry *e;
	uint64_t ttl_ns = (uint64_t)ttl_s * NS_PER_S;

	if (ttl_ns > c->max_ttl_ns) {
		ttl_ns = c->max_ttl_ns;
		c->stats.ttl_capped++;
	}
	if (ttl_ns < c->min_ttl_ns)
		ttl_ns = c->min_ttl_ns < c->max_ttl_ns ? c->min_ttl_ns : c->max_ttl_ns;
	if (contradicts_shared(c, uid, ip, name, now_ns))
		c->stats.overrides_refused++;
	e = lru_pool_find(p, &k);
	if (e) {
		c->stats.updates++;
		lru_pool_touch(p, e);
	} else {
		c->stats.inserts++;
		if (lru_pool_full(p)) {
			struct dns_cache_entry *old = lru_pool_oldest(p);

			if (old->expires_ns <= now_ns) {
				c->stats.expired++;
			} else {
				c->stats.evictions++;
				if (p == &c->user)
					c->stats.user_evictions++;
			}
			lru_pool_remove(p, old);
		}
		e = lru_pool_insert(p, &k);
	}
	e->expires_ns = now_ns + ttl_ns;
	strncpy(e->name, name, DNS_NAME_MAX);
	e->name[DNS_NAME_MAX] = '\0';
}

void dns_cache_put_response(struct dns_cache *c, uint32_t uid, const struct dns_response *resp,
			    uint64_t now_ns)
{
	for (size_t i = 0; i < resp->n_addrs; i++)
		dns_cache_put(c, uid, &resp->addrs[i].ip, resp->qname, resp->addrs[i].ttl_s, now_ns);
}

const char *dns_cache_get(struct dns_cache *c, uint32_t uid, const struct gw_ip *ip,
			  uint64_t now_ns)
{
	struct lru_pool *p = pool_of(c, uid);
	struct dns_cache_entry *e = find_live(c, p, uid, ip, now_ns);

	for (size_t i = 0; !e && i < c->n_shared; i++) {
		if (c->shared_uids[i] == uid)
			continue;
		p = &c->shared;
		e = find_live(c, p, c->shared_uids[i], ip, now_ns);
		if (e)
			c->stats.shared_hits++;
	}
	if (!e) {
		c->stats.misses++;
		return NULL;
	}
	c->stats.hits++;
	lru_pool_touch(p, e);
	return e->name;
}

void dns_cache_get_stats(const struct dns_cache *c, struct dns_cache_stats *out)
{
	*out = c->stats;
	out->size = c->shared.size + c->user.size;
}
