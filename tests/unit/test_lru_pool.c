#include "testing.h"

#include <stdint.h>

#include "core/lru_pool.h"

struct item {
	uint32_t value;
	struct lru_node node;
	uint64_t key;
};

static int pool_init(struct lru_pool *p, size_t capacity)
{
	return lru_pool_init(p, capacity, sizeof(struct item), offsetof(struct item, node),
			     offsetof(struct item, key), sizeof(uint64_t));
}

static struct item *put(struct lru_pool *p, uint64_t key, uint32_t value)
{
	struct item *it = lru_pool_insert(p, &key);

	if (it)
		it->value = value;
	return it;
}

static struct item *get(struct lru_pool *p, uint64_t key)
{
	return lru_pool_find(p, &key);
}

TEST(zero_capacity_is_refused)
{
	struct lru_pool p;

	CHECK(pool_init(&p, 0) == -1);
}

TEST(insert_find_remove)
{
	struct lru_pool p;
	struct item *a;

	REQUIRE(pool_init(&p, 4) == 0);
	CHECK(lru_pool_oldest(&p) == NULL);
	a = put(&p, 7, 70);
	REQUIRE(a != NULL);
	CHECK(a->key == 7 && a->value == 70);
	CHECK(get(&p, 7) == a);
	CHECK(get(&p, 8) == NULL);
	CHECK(p.size == 1);
	lru_pool_remove(&p, a);
	CHECK(get(&p, 7) == NULL);
	CHECK(p.size == 0 && lru_pool_oldest(&p) == NULL);
	lru_pool_destroy(&p);
}

TEST(full_pool_refuses_until_caller_evicts)
{
	struct lru_pool p;
	struct item *oldest;

	REQUIRE(pool_init(&p, 3) == 0);
	for (uint64_t k = 1; k <= 3; k++)
		REQUIRE(put(&p, k, (uint32_t)k * 10) != NULL);
	CHECK(lru_pool_full(&p));
	CHECK(put(&p, 4, 40) == NULL);
	oldest = lru_pool_oldest(&p);
	REQUIRE(oldest != NULL);
	CHECK(oldest->key == 1);
	lru_pool_remove(&p, oldest);
	CHECK(put(&p, 4, 40) != NULL);
	CHECK(get(&p, 1) == NULL && get(&p, 4)->value == 40);
	lru_pool_destroy(&p);
}

TEST(touch_moves_to_most_recent)
{
	struct lru_pool p;

	REQUIRE(pool_init(&p, 3) == 0);
	put(&p, 1, 0);
	put(&p, 2, 0);
	put(&p, 3, 0);
	lru_pool_touch(&p, get(&p, 1));
	CHECK(((struct item *)lru_pool_oldest(&p))->key == 2);
	lru_pool_touch(&p, get(&p, 2));
	CHECK(((struct item *)lru_pool_oldest(&p))->key == 3);
	lru_pool_destroy(&p);
}

TEST(recycled_entries_are_zeroed)
{
	struct lru_pool p;
	struct item *a;

	REQUIRE(pool_init(&p, 1) == 0);
	a = put(&p, 5, 99);
	lru_pool_remove(&p, a);
	a = put(&p, 6, 0);
	REQUIRE(a != NULL);
	CHECK(a->value == 0 && a->key == 6);
	lru_pool_destroy(&p);
}

/* Slots are handed out from the front and freed ones reused first, so a large table that holds
 * few entries touches only its first pages: the rest never enter the agent's RSS. */
TEST(slots_are_used_from_the_front_and_reused_first)
{
	struct lru_pool p;
	struct item *a, *b, *c;

	CHECK(pool_init(&p, 100000) == 0);
	a = put(&p, 1, 1);
	b = put(&p, 2, 2);
	CHECK((unsigned char *)a == p.slots && (unsigned char *)b == p.slots + sizeof(*a));
	CHECK(p.fresh == 2);
	lru_pool_remove(&p, a);
	c = put(&p, 3, 3);
	CHECK(c == a && p.fresh == 2);
	lru_pool_destroy(&p);
}

TEST(many_keys_cycle_through_a_small_pool)
{
	struct lru_pool p;
	size_t found = 0;

	REQUIRE(pool_init(&p, 16) == 0);
	for (uint64_t k = 0; k < 1000; k++) {
		if (lru_pool_full(&p))
			lru_pool_remove(&p, lru_pool_oldest(&p));
		REQUIRE(put(&p, k, (uint32_t)k) != NULL);
	}
	for (uint64_t k = 0; k < 1000; k++)
		found += get(&p, k) != NULL;
	CHECK(found == 16 && p.size == 16);
	CHECK(get(&p, 999)->value == 999 && get(&p, 983) == NULL && get(&p, 984) != NULL);
	lru_pool_destroy(&p);
}

int main(void)
{
	RUN(zero_capacity_is_refused);
	RUN(insert_find_remove);
	RUN(full_pool_refuses_until_caller_evicts);
	RUN(touch_moves_to_most_recent);
	RUN(recycled_entries_are_zeroed);
	RUN(slots_are_used_from_the_front_and_reused_first);
	RUN(many_keys_cycle_through_a_small_pool);
	return test_summary();
}
