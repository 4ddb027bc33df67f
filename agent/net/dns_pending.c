#include "dns_pending.h"

#include <stdlib.h>
#include <string.h>

#include <uthash.h>
#include <utlist.h>

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
	UT_hash_handle hh;
	struct pending_entry *prev, *next;	/* oldest last */
};

struct dns_pending {
	struct pending_entry *pool, *free_list, *by_key, *age;
	struct dns_pending_stats stats;
};

struct dns_pending *dns_pending_new(size_t capacity)
{
	struct dns_pending *p;

	if (!capacity)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pool = calloc(capacity, sizeof(*p->pool));
	if (!p->pool) {
		free(p);
		return NULL;
	}
	for (size_t i = 0; i < capacity; i++) {
		p->pool[i].next = p->free_list;
		p->free_list = &p->pool[i];
	}
	return p;
}

void dns_pending_free(struct dns_pending *p)
{
	if (!p)
		return;
	HASH_CLEAR(hh, p->by_key);
	free(p->pool);
	free(p);
}

static void retire(struct dns_pending *p, struct pending_entry *e)
{
	HASH_DEL(p->by_key, e);
	DL_DELETE(p->age, e);
	e->next = p->free_list;
	p->free_list = e;
	p->stats.size--;
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
	HASH_FIND(hh, p->by_key, &k, sizeof(k), e);
	if (e) {
		retire(p, e); /* a retry or a reused id: the newest question counts */
	} else if (!p->free_list) {
		e = p->age->prev; /* the oldest */
		if (e->expires_ns <= now_ns)
			p->stats.expired++;
		else
			p->stats.evictions++;
		retire(p, e);
	}
	e = p->free_list;
	p->free_list = e->next;
	memset(e, 0, sizeof(*e));
	e->key = k;
	e->expires_ns = now_ns + DNS_PENDING_TTL_S * NS_PER_S;
	memcpy(e->qname, q->qname, sizeof(e->qname));
	HASH_ADD(hh, p->by_key, key, sizeof(e->key), e);
	DL_PREPEND(p->age, e);
	p->stats.size++;
}

bool dns_pending_match(struct dns_pending *p, const struct gw_ip *server, uint16_t local_port,
		       const struct dns_response *answer, uint64_t now_ns)
{
	struct pending_key k;
	struct pending_entry *e;

	make_key(&k, server, local_port, answer->id);
	HASH_FIND(hh, p->by_key, &k, sizeof(k), e);
	if (e && e->expires_ns <= now_ns) {
		p->stats.expired++;
		retire(p, e);
		e = NULL;
	}
	if (!e || strcmp(e->qname, answer->qname) != 0) {
		p->stats.unsolicited++;
		return false;
	}
	p->stats.matched++;
	retire(p, e);
	return true;
}

void dns_pending_get_stats(const struct dns_pending *p, struct dns_pending_stats *out)
{
	*out = p->stats;
}
