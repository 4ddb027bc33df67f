#include "dns_pending.h"

#include <stdlib.h>
#include <string.h>

#include "core/lru_pool.h"

#define NS_PER_S 1000000000ull

struct pending_key {
	struct gw_ip server;
	uint16_t local_port;
	uint16_t id;
	uint32_t pad;
};

struct pending_entry {
	struct pending_key key;
	uint64_t expires_ns;
	char qname[DNS_NAME_MAX + 1];
	struct lru_node node; /* oldest last */
};

struct dns_pending {
	struct lru_pool questions;
	struct dns_pending_stats stats;
};

struct dns_pending *dns_pending_new(size_t capacity)
{
	struct dns_pending *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	if (lru_pool_init(&p->questions, capacity, sizeof(struct pending_entry),
			  offsetof(struct pending_entry, node), offsetof(struct pending_entry, key),
			  sizeof(struct pending_key))) {
		free(p);
		return NULL;
	}
	return p;
}

void dns_pending_free(struct dns_pending *p)
{
	if (!p)
		return;
	lru_pool_destroy(&p->questions);
	free(p);
}

static void make_key(struct pending_key *k, const struct gw_ip *server, uint16_t local_port,
		     uint16_t id)
{
	memset(k, 0, sizeof(*k));
	k->server = *server;
	k->local_port = local_port;
	k->id = id;
}

void dns_pending_add(struct dns_pending *p, const struct gw_ip *server, uint16_t local_port,
		     const struct dns_query *q, uint64_t now_ns)
{
	struct pending_key k;
	struct pending_entry *e;

	p->stats.queries++;
	make_key(&k, server, local_port, q->id);
	e = lru_pool_find(&p->questions, &k);
	if (e) {
		lru_pool_remove(&p->questions, e); /* a retry or a reused id: the newest question counts */
	} else if (lru_pool_full(&p->questions)) {
		e = lru_pool_oldest(&p->questions);
		if (e->expires_ns <= now_ns)
			p->stats.expired++;
		else
			p->stats.evictions++;
		lru_pool_remove(&p->questions, e);
	}
	e = lru_pool_insert(&p->questions, &k);
	e->expires_ns = now_ns + DNS_PENDING_TTL_S * NS_PER_S;
	memcpy(e->qname, q->qname, sizeof(e->qname));
}

bool dns_pending_match(struct dns_pending *p, const struct gw_ip *server, uint16_t local_port,
		       const struct dns_response *answer, uint64_t now_ns)
{
	struct pending_key k;
	struct pending_entry *e;

	make_key(&k, server, local_port, answer->id);
	e = lru_pool_find(&p->questions, &k);
	if (e && e->expires_ns <= now_ns) {
		p->stats.expired++;
		lru_pool_remove(&p->questions, e);
		e = NULL;
	}
	if (!e || strcmp(e->qname, answer->qname) != 0) {
		p->stats.unsolicited++;
		return false;
	}
	p->stats.matched++;
	lru_pool_remove(&p->questions, e);
	return true;
}

void dns_pending_get_stats(const struct dns_pending *p, struct dns_pending_stats *out)
{
	*out = p->stats;
	out->size = p->questions.size;
}
