/* Unit tests for agent/dns_cache.c: TTL floor and expiry, LRU eviction, v4/v6 keys. */
#include "testing.h"

#include <stdio.h>

#include "net/dns_cache.h"

#define S 1000000000ull

static struct gw_ip v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct gw_ip ip;
	uint8_t raw[4] = { a, b, c, d };

	gw_ip_from_v4(&ip, raw);
	return ip;
}

TEST(put_get_and_ttl_floor)
{
	struct dns_cache *c = dns_cache_new(8, 60);
	struct gw_ip ip = v4(10, 0, 0, 1);
	struct dns_cache_stats st;

	REQUIRE(c);
	dns_cache_put(c, &ip, "a.test", 0, 100 * S); /* TTL 0 -> kept for the 60 s floor */
	CHECK_STR(dns_cache_get(c, &ip, 159 * S), "a.test");
	CHECK(dns_cache_get(c, &ip, 160 * S) == NULL);
	dns_cache_put(c, &ip, "b.test", 3600, 200 * S); /* long TTL wins over the floor */
	CHECK_STR(dns_cache_get(c, &ip, 3000 * S), "b.test");
	dns_cache_get_stats(c, &st);
	CHECK(st.inserts == 2); /* the expired entry was removed on lookup */
	CHECK(st.expired == 1);
	CHECK(st.hits == 2);
	CHECK(st.misses == 1);
	CHECK(st.size == 1);
	dns_cache_free(c);
}

TEST(update_keeps_one_entry)
{
	struct dns_cache *c = dns_cache_new(4, 0);
	struct gw_ip ip = v4(10, 0, 0, 2);
	struct dns_cache_stats st;

	REQUIRE(c);
	dns_cache_put(c, &ip, "first.test", 10, 0);
	dns_cache_put(c, &ip, "second.test", 10, 1);
	CHECK_STR(dns_cache_get(c, &ip, 2), "second.test");
	dns_cache_get_stats(c, &st);
	CHECK(st.updates == 1);
	CHECK(st.size == 1);
	dns_cache_free(c);
}

TEST(lru_eviction_is_counted)
{
	struct dns_cache *c = dns_cache_new(3, 300);
	struct gw_ip a = v4(1, 1, 1, 1), b = v4(2, 2, 2, 2), d = v4(3, 3, 3, 3), e = v4(4, 4, 4, 4);
	struct dns_cache_stats st;

	REQUIRE(c);
	dns_cache_put(c, &a, "a", 300, 0);
	dns_cache_put(c, &b, "b", 300, 0);
	dns_cache_put(c, &d, "d", 300, 0);
	CHECK_STR(dns_cache_get(c, &a, 1), "a"); /* a is now most recent; b is the LRU */
	dns_cache_put(c, &e, "e", 300, 2);
	CHECK(dns_cache_get(c, &b, 3) == NULL);
	CHECK_STR(dns_cache_get(c, &a, 3), "a");
	CHECK_STR(dns_cache_get(c, &d, 3), "d");
	CHECK_STR(dns_cache_get(c, &e, 3), "e");
	dns_cache_get_stats(c, &st);
	CHECK(st.evictions == 1);
	CHECK(st.size == 3);
	dns_cache_free(c);
}

TEST(v6_and_mapped_keys)
{
	struct dns_cache *c = dns_cache_new(4, 300);
	struct gw_ip v6 = { { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } };
	struct gw_ip mapped = { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 9 } };
	struct gw_ip plain = v4(10, 0, 0, 9);

	REQUIRE(c);
	dns_cache_put(c, &v6, "six.test", 300, 0);
	dns_cache_put(c, &plain, "four.test", 300, 0);
	CHECK_STR(dns_cache_get(c, &v6, 1), "six.test");
	CHECK_STR(dns_cache_get(c, &mapped, 1), "four.test"); /* dual-stack socket to a v4 peer */
	{
		struct gw_ip lo4 = v4(127, 0, 0, 53), lo6 = { { [15] = 1 } };

		CHECK(gw_ip_is_loopback(&lo4) && gw_ip_is_loopback(&lo6));
		CHECK(!gw_ip_is_loopback(&plain) && !gw_ip_is_loopback(&v6));
	}
	dns_cache_free(c);
}

TEST(put_response_and_churn)
{
	struct dns_cache *c = dns_cache_new(16, 1);
	struct dns_response r = { 0 };
	struct dns_cache_stats st;

	REQUIRE(c);
	snprintf(r.qname, sizeof(r.qname), "relay.example-rmm.test");
	r.n_addrs = 2;
	r.addrs[0].ip = v4(10, 231, 1, 2);
	r.addrs[1].ip = v4(10, 231, 1, 3);
	dns_cache_put_response(c, &r, 0);
	CHECK_STR(dns_cache_get(c, &r.addrs[1].ip, 0), "relay.example-rmm.test");
	/* churn far beyond capacity: size stays bounded */
	for (uint32_t i = 0; i < 10000; i++) {
		struct gw_ip ip = v4(192, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i);

		dns_cache_put(c, &ip, "churn.test", 1, (uint64_t)i * S / 100);
	}
	dns_cache_get_stats(c, &st);
	CHECK(st.size == 16);
	CHECK(st.evictions + st.expired == 10000 + 2 - 16);
	dns_cache_free(c);
}

int main(void)
{
	RUN(put_get_and_ttl_floor);
	RUN(update_keeps_one_entry);
	RUN(lru_eviction_is_counted);
	RUN(v6_and_mapped_keys);
	RUN(put_response_and_churn);
	return test_summary();
}
