#include "dns_cache.h"

#include <stdlib.h>
#include <string.h>

#include <utlist.h>

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
	struct dns_cache_entry *uprev, *unext;	/* the user pool: its uid's entries, by recency */
};

/* How much of the user pool one uid holds, and its entries most recent first (utlist: the head's
 * uprev is its oldest). */
struct dns_uid_share {
	uint32_t uid;
	uint32_t count;
	struct dns_cache_entry *entries;
	struct lru_node node;
};

struct dns_cache {
	uint64_t min_ttl_ns, max_ttl_ns;
	struct lru_pool shared;	/* entries of the shared uids */
	struct lru_pool user;	/* everyone else's */
	struct lru_pool shares;	/* struct dns_uid_share of each uid in the user pool */
	size_t user_quota;	/* a uid holding this many evicts its own oldest when the pool is full */
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
	if (pool_init(&c->user, capacity - capacity / 2) ||
	    lru_pool_init(&c->shares, capacity - capacity / 2, sizeof(struct dns_uid_share),
			  offsetof(struct dns_uid_share, node), offsetof(struct dns_uid_share, uid),
			  sizeof(uint32_t))) {
		lru_pool_destroy(&c->user);
		lru_pool_destroy(&c->shared);
		free(c);
		return NULL;
	}
	c->user_quota = (capacity - capacity / 2) / 2 ? (capacity - capacity / 2) / 2 : 1;
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
	lru_pool_destroy(&c->shares);
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

/* Pool operations that keep the user pool's per-uid shares in step. */
static void entry_touch(struct dns_cache *c, struct lru_pool *p, struct dns_cache_entry *e)
{
	struct dns_uid_share *sh;

	lru_pool_touch(p, e);
	if (p != &c->user || !(sh = lru_pool_find(&c->shares, &e->key.uid)))
		return;
	DL_DELETE2(sh->entries, e, uprev, unext);
	DL_PREPEND2(sh->entries, e, uprev, unext);
}

static void entry_remove(struct dns_cache *c, struct lru_pool *p, struct dns_cache_entry *e)
{
	struct dns_uid_share *sh;

	if (p == &c->user && (sh = lru_pool_find(&c->shares, &e->key.uid))) {
		DL_DELETE2(sh->entries, e, uprev, unext);
		if (!--sh->count)
			lru_pool_remove(&c->shares, sh);
	}
	lru_pool_remove(p, e);
}

/* The pool has room. */
static struct dns_cache_entry *entry_insert(struct dns_cache *c, struct lru_pool *p,
					    const struct dns_cache_key *k)
{
	struct dns_cache_entry *e = lru_pool_insert(p, k);
	struct dns_uid_share *sh;

	if (p != &c->user)
		return e;
	sh = lru_pool_find(&c->shares, &k->uid);
	/* never full: each share holds at least one of the pool's entries */
	if (!sh && (sh = lru_pool_insert(&c->shares, &k->uid)))
		sh->count = 0;
	if (sh) {
		DL_PREPEND2(sh->entries, e, uprev, unext);
		sh->count++;
	}
	return e;
}

/* What a full pool gives up for an entry of uid: its least recently used entry when stale or, in
 * the user pool, the uid's own oldest once the uid holds its share, so one user's flood of answers
 * cannot push every other user's names out; else its least recently used entry. */
static struct dns_cache_entry *victim(struct dns_cache *c, struct lru_pool *p, uint32_t uid,
				      uint64_t now_ns, bool *own)
{
	struct dns_cache_entry *oldest = lru_pool_oldest(p);
	struct dns_uid_share *sh;

	*own = false;
	if (oldest->expires_ns <= now_ns || p != &c->user)
		return oldest;
	sh = lru_pool_find(&c->shares, &uid);
	if (sh && sh->count >= c->user_quota) {
		*own = true;
		return sh->entries->uprev;
	}
	return oldest;
}

/* The live entry of (uid, ip) in p, or NULL; a stale one is removed and counted. */
static struct dns_cache_entry *find_live(struct dns_cache *c, struct lru_pool *p, uint32_t uid,
					 const struct gw_ip *ip, uint64_t now_ns)
{
	struct dns_cache_key k = { .ip = *ip, .uid = uid };
	struct dns_cache_entry *e = lru_pool_find(p, &k);

	if (e && e->expires_ns <= now_ns) {
		c->stats.expired++;
		entry_remove(c, p, e);
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
		entry_touch(c, p, e);
	} else {
		c->stats.inserts++;
		if (lru_pool_full(p)) {
			bool own;
			struct dns_cache_entry *old = victim(c, p, uid, now_ns, &own);

			if (old->expires_ns <= now_ns) {
				c->stats.expired++;
			} else {
				c->stats.evictions++;
				c->stats.user_evictions += p == &c->user;
				c->stats.share_evictions += own;
			}
			entry_remove(c, p, old);
		}
		e = entry_insert(c, p, &k);
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
	entry_touch(c, p, e);
	return e->name;
}

void dns_cache_get_stats(const struct dns_cache *c, struct dns_cache_stats *out)
{
	*out = c->stats;
	out->size = c->shared.size + c->user.size;
}
