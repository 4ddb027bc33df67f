#include "lru_pool.h"

#include <stdlib.h>
#include <string.h>

#include <utlist.h>

static struct lru_node *node_of(const struct lru_pool *p, void *entry)
{
	return (struct lru_node *)((unsigned char *)entry + p->node_off);
}

static void *entry_of(const struct lru_pool *p, struct lru_node *n)
{
	return n ? (unsigned char *)n - p->node_off : NULL;
}

int lru_pool_init(struct lru_pool *p, size_t capacity, size_t entry_size, size_t node_off,
		  size_t key_off, size_t key_len)
{
	memset(p, 0, sizeof(*p));
	if (!capacity)
		return -1;
	p->slots = calloc(capacity, entry_size);
	if (!p->slots)
		return -1;
	p->capacity = capacity;
	p->entry_size = entry_size;
	p->node_off = node_off;
	p->key_off = key_off;
	p->key_len = key_len;
	return 0;
}

void lru_pool_destroy(struct lru_pool *p)
{
	HASH_CLEAR(hh, p->by_key);
	free(p->slots);
	memset(p, 0, sizeof(*p));
}

void *lru_pool_find(const struct lru_pool *p, const void *key)
{
	struct lru_node *n;

	HASH_FIND(hh, p->by_key, key, p->key_len, n);
	return entry_of(p, n);
}

void lru_pool_touch(struct lru_pool *p, void *entry)
{
	struct lru_node *n = node_of(p, entry);

	DL_DELETE(p->lru, n);
	DL_PREPEND(p->lru, n);
}

void *lru_pool_oldest(const struct lru_pool *p)
{
	/* utlist: head->prev is the tail */
	return p->lru ? entry_of(p, p->lru->prev) : NULL;
}

void *lru_pool_insert(struct lru_pool *p, const void *key)
{
	struct lru_node *n = p->free_list;
	unsigned char *e;

	if (n)
		p->free_list = n->next;
	else if (p->fresh < p->capacity)
		n = node_of(p, p->slots + p->fresh++ * p->entry_size);
	else
		return NULL;
	e = entry_of(p, n);
	memset(e, 0, p->entry_size);
	memcpy(e + p->key_off, key, p->key_len);
	HASH_ADD_KEYPTR(hh, p->by_key, e + p->key_off, p->key_len, n);
	DL_PREPEND(p->lru, n);
	p->size++;
	return e;
}

void lru_pool_remove(struct lru_pool *p, void *entry)
{
	struct lru_node *n = node_of(p, entry);

	HASH_DEL(p->by_key, n);
	DL_DELETE(p->lru, n);
	n->next = p->free_list;
	p->free_list = n;
	p->size--;
}
