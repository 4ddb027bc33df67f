/*
 * lru_pool.h - a bounded table of fixed-size entries: allocated once, found by a key of fixed length
 * stored in the entry, kept in least-recently-used order, recycled through a free list.
 *
 * The DNS cache, the pending DNS questions and the flow table are this table with different
 * entries and different eviction bookkeeping, so the pool decides nothing: when it is full the
 * caller looks at lru_pool_oldest(), counts or emits it as it must, and removes it before
 * inserting. An entry embeds a struct lru_node anywhere in it; keys are compared as raw bytes, so a
 * key struct's padding must be zeroed.
 */
#ifndef GW_LRU_POOL_H
#define GW_LRU_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include <uthash.h>

struct lru_node {
	UT_hash_handle hh;
	struct lru_node *prev, *next; /* LRU order, most recent first; the free list uses next */
};

struct lru_pool {
	unsigned char *slots;
	size_t capacity, size;
	size_t fresh; /* slots from here on never used: handed out in order, so their pages stay
			 untouched (and out of the agent's RSS) until the table fills that far */
	size_t entry_size, node_off, key_off, key_len;
	struct lru_node *free_list, *by_key, *lru;
};

/* Entries of `entry_size` bytes with their struct lru_node at `node_off` and their key at
 * `key_off`. Returns 0, or -1 on capacity 0 or allocation failure. */
int lru_pool_init(struct lru_pool *p, size_t capacity, size_t entry_size, size_t node_off,
		  size_t key_off, size_t key_len);
void lru_pool_destroy(struct lru_pool *p);

/* The entry with this key, or NULL; its LRU position is unchanged. */
void *lru_pool_find(const struct lru_pool *p, const void *key);
/* Makes the entry the most recently used. */
void lru_pool_touch(struct lru_pool *p, void *entry);
/* The least recently used entry, or NULL if the pool is empty. */
void *lru_pool_oldest(const struct lru_pool *p);
/* A zeroed entry holding `key`, most recently used; NULL when the pool is full (no eviction here).
 * The key must not be in the pool yet. */
void *lru_pool_insert(struct lru_pool *p, const void *key);
/* Returns the entry to the free list. */
void lru_pool_remove(struct lru_pool *p, void *entry);

static inline bool lru_pool_full(const struct lru_pool *p)
{
	return p->size == p->capacity;
}

#endif
