/* Unit tests for agent/net/dns_cache.c: TTL floor, cap and expiry, LRU eviction, v4/v6 keys, names
 * kept per uid, the shared resolvers' layer. */
#include "testing.h"

#include <stdio.h>
#include <string.h>

#include "net/dns_cache.h"

#define S 1000000000ull
#define U 1000 /* an unprivileged uid */
#define ROOT 0

static struct gw_ip v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct gw_ip ip;
	uint8_t raw[4] = { a, b, c, d };

	gw_ip_from_v4(&ip, raw);
	return ip;
}

TEST(put_get_and_ttl_floor)
{
	struct dns_cache *c = dns_cache_new(16, 60, 86400);
	struct gw_ip ip = v4(10, 0, 0, 1);
	struct dns_cache_stats st;

	REQUIRE(c);
	dns_cache_put(c, U, &ip, "a.test", 0, 100 * S); /* TTL 0 -> kept for the 60 s floor */
	CHECK_STR(dns_cache_get(c, U, &ip, 159 * S), "a.test");
	CHECK(dns_cache_get(c, U, &ip, 160 * S) == NULL);
	dns_cache_put(c, U, &ip, "b.test", 3600, 200 * S); /* long TTL wins over the floor */
	CHECK_STR(dns_cache_get(c, U, &ip, 3000 * S), "b.test");
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
	struct dns_cache *c = dns_cache_new(8, 0, 3600);
	struct gw_ip ip = v4(10, 0, 0, 2);
	struct dns_cache_stats st;

	REQUIRE(c);
	dns_cache_put(c, U, &ip, "first.test", 10, 0);
	dns_cache_put(c, U, &ip, "second.test", 10, 1);
	CHECK_STR(dns_cache_get(c, U, &ip, 2), "second.test");
	dns_cache_get_stats(c, &st);
	CHECK(st.updates == 1);
	CHECK(st.size == 1);
	dns_cache_free(c);
}

TEST(lru_eviction_is_counted)
{
	struct dns_cache *c = dns_cache_new(6, 300, 3600);
	struct gw_ip a = v4(1, 1, 1, 1), b = v4(2, 2, 2, 2), d = v4(3, 3, 3, 3), e = v4(4, 4, 4, 4);
	struct dns_cache_stats st;

	REQUIRE(c);
	dns_cache_put(c, U, &a, "a", 300, 0);
	dns_cache_put(c, U, &b, "b", 300, 0);
	dns_cache_put(c, U, &d, "d", 300, 0);
	CHECK_STR(dns_cache_get(c, U, &a, 1), "a"); /* a is now most recent; b is the LRU */
	dns_cache_put(c, U, &e, "e", 300, 2);
	CHECK(dns_cache_get(c, U, &b, 3) == NULL);
	CHECK_STR(dns_cache_get(c, U, &a, 3), "a");
	CHECK_STR(dns_cache_get(c, U, &d, 3), "d");
	CHECK_STR(dns_cache_get(c, U, &e, 3), "e");
	dns_cache_get_stats(c, &st);
	CHECK(st.evictions == 1);
	CHECK(st.size == 3);
	dns_cache_free(c);
}

TEST(v6_and_mapped_keys)
{
	struct dns_cache *c = dns_cache_new(8, 300, 3600);
	struct gw_ip v6 = { { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } };
	struct gw_ip mapped = { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 9 } };
	struct gw_ip plain = v4(10, 0, 0, 9);

	REQUIRE(c);
	dns_cache_put(c, U, &v6, "six.test", 300, 0);
	dns_cache_put(c, U, &plain, "four.test", 300, 0);
	CHECK_STR(dns_cache_get(c, U, &v6, 1), "six.test");
	CHECK_STR(dns_cache_get(c, U, &mapped, 1), "four.test"); /* dual-stack socket to a v4 peer */
	{
		struct gw_ip lo4 = v4(127, 0, 0, 53), lo6 = { { [15] = 1 } };

		CHECK(gw_ip_is_loopback(&lo4) && gw_ip_is_loopback(&lo6));
		CHECK(!gw_ip_is_loopback(&plain) && !gw_ip_is_loopback(&v6));
	}
	dns_cache_free(c);
}

TEST(put_response_and_churn)
{
	struct dns_cache *c = dns_cache_new(32, 1, 3600);
	struct dns_response r = { 0 };
	struct dns_cache_stats st;

	REQUIRE(c);
	snprintf(r.qname, sizeof(r.qname), "relay.example-rmm.test");
	r.n_addrs = 2;
	r.addrs[0].ip = v4(10, 231, 1, 2);
	r.addrs[1].ip = v4(10, 231, 1, 3);
	dns_cache_put_response(c, U, &r, 0);
	CHECK_STR(dns_cache_get(c, U, &r.addrs[1].ip, 0), "relay.example-rmm.test");
	/* churn far beyond capacity: size stays bounded */
	for (uint32_t i = 0; i < 10000; i++) {
		struct gw_ip ip = v4(192, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i);

		dns_cache_put(c, U, &ip, "churn.test", 1, (uint64_t)i * S / 100);
	}
	dns_cache_get_stats(c, &st);
	CHECK(st.size == 16);
	CHECK(st.evictions + st.expired == 10000 + 2 - 16);
	dns_cache_free(c);
}

#define RESOLVED 101 /* a resolver service's account (systemd-resolve) */

/* The attack: an unprivileged user's own resolver maps the RMM relay to a benign name. */
TEST(uids_are_isolated)
{
	struct dns_cache *c = dns_cache_new(16, 60, 3600);
	struct gw_ip relay = v4(10, 231, 1, 2);
	struct dns_cache_stats st;

	REQUIRE(c);
	REQUIRE(dns_cache_add_shared_uid(c, ROOT) == 0);
	dns_cache_put(c, ROOT, &relay, "relay.example-rmm.test", 300, 0);
	dns_cache_put(c, U, &relay, "updates.benign.test", 300, 1 * S);
	CHECK_STR(dns_cache_get(c, ROOT, &relay, 2 * S), "relay.example-rmm.test");
	CHECK_STR(dns_cache_get(c, U, &relay, 2 * S), "updates.benign.test");
	/* a third uid with no answer of its own gets root's, never the other user's */
	CHECK_STR(dns_cache_get(c, U + 1, &relay, 2 * S), "relay.example-rmm.test");
	/* the user repeating the answer changes nothing for others */
	for (int i = 0; i < 10; i++)
		dns_cache_put(c, U, &relay, "updates.benign.test", 300, (3 + i) * S);
	CHECK_STR(dns_cache_get(c, ROOT, &relay, 20 * S), "relay.example-rmm.test");
	dns_cache_get_stats(c, &st);
	CHECK(st.overrides_refused == 11);
	CHECK(st.shared_hits == 1);
	CHECK(st.size == 2);
	dns_cache_free(c);
}

/* The user's answer first, root's after: root's connection still gets root's name. */
TEST(order_does_not_matter)
{
	struct dns_cache *c = dns_cache_new(16, 60, 3600);
	struct gw_ip relay = v4(10, 231, 1, 3);
	struct dns_cache_stats st;

	REQUIRE(c);
	REQUIRE(dns_cache_add_shared_uid(c, ROOT) == 0);
	dns_cache_put(c, U, &relay, "updates.benign.test", 300, 0);
	CHECK(dns_cache_get(c, ROOT, &relay, 1 * S) == NULL); /* no user answer names root's */
	dns_cache_put(c, ROOT, &relay, "relay.example-rmm.test", 300, 2 * S);
	CHECK_STR(dns_cache_get(c, ROOT, &relay, 3 * S), "relay.example-rmm.test");
	CHECK_STR(dns_cache_get(c, U, &relay, 3 * S), "updates.benign.test");
	dns_cache_get_stats(c, &st);
	CHECK(st.overrides_refused == 0); /* root contradicted no shared uid */
	dns_cache_free(c);
}

/* Clients without a socket answer of their own (nss-resolve, nscd) get the resolver's name; root's
 * comes before it, and a uid's own name before both. */
TEST(shared_resolver_rule)
{
	struct dns_cache *c = dns_cache_new(16, 60, 3600);
	struct gw_ip a = v4(10, 0, 1, 1), b = v4(10, 0, 1, 2);

	REQUIRE(c);
	REQUIRE(dns_cache_add_shared_uid(c, ROOT) == 0);
	REQUIRE(dns_cache_add_shared_uid(c, RESOLVED) == 0);
	REQUIRE(dns_cache_add_shared_uid(c, RESOLVED) == 0); /* twice: a no-op */
	CHECK(dns_cache_uid_is_shared(c, RESOLVED) && !dns_cache_uid_is_shared(c, U));
	dns_cache_put(c, RESOLVED, &a, "a.resolved.test", 300, 0);
	CHECK_STR(dns_cache_get(c, U, &a, 1 * S), "a.resolved.test");
	CHECK_STR(dns_cache_get(c, ROOT, &a, 1 * S), "a.resolved.test");
	/* the user made the resolver look up a name of theirs for b after root's own lookup */
	dns_cache_put(c, ROOT, &b, "b.root.test", 300, 0);
	dns_cache_put(c, RESOLVED, &b, "b.attacker.test", 300, 1 * S);
	CHECK_STR(dns_cache_get(c, ROOT, &b, 2 * S), "b.root.test");
	CHECK_STR(dns_cache_get(c, U, &b, 2 * S), "b.root.test");
	CHECK_STR(dns_cache_get(c, RESOLVED, &b, 2 * S), "b.attacker.test");
	dns_cache_put(c, U, &b, "b.own.test", 300, 3 * S);
	CHECK_STR(dns_cache_get(c, U, &b, 4 * S), "b.own.test");
	/* shared names expire like any other */
	CHECK(dns_cache_get(c, U, &a, 301 * S) == NULL);
	for (uint32_t i = DNS_CACHE_SHARED_MAX - 2; i > 0; i--)
		CHECK(dns_cache_add_shared_uid(c, 200 + i) == 0);
	CHECK(dns_cache_add_shared_uid(c, 300) == -1);
	dns_cache_free(c);
}

TEST(ttl_cap)
{
	struct dns_cache *c = dns_cache_new(16, 60, 3600);
	struct dns_cache *low = dns_cache_new(16, 300, 30);
	struct gw_ip ip = v4(10, 0, 2, 1), ip2 = v4(10, 0, 2, 2);
	struct dns_cache_stats st;

	REQUIRE(c && low);
	dns_cache_put(c, U, &ip, "long.test", 7 * 86400, 0); /* claims a week */
	CHECK_STR(dns_cache_get(c, U, &ip, 3599 * S), "long.test");
	CHECK(dns_cache_get(c, U, &ip, 3600 * S) == NULL);
	dns_cache_put(c, U, &ip2, "short.test", 1, 0); /* the floor still holds under the cap */
	CHECK_STR(dns_cache_get(c, U, &ip2, 59 * S), "short.test");
	dns_cache_get_stats(c, &st);
	CHECK(st.ttl_capped == 1);
	/* a cap below the floor wins */
	dns_cache_put(low, U, &ip, "low.test", 0, 0);
	CHECK_STR(dns_cache_get(low, U, &ip, 29 * S), "low.test");
	CHECK(dns_cache_get(low, U, &ip, 30 * S) == NULL);
	CHECK(dns_cache_new(16, 60, 0) == NULL && dns_cache_new(1, 60, 60) == NULL);
	dns_cache_free(c);
	dns_cache_free(low);
}

/* An unprivileged user's flood of answers pushes out only unprivileged users' names. */
TEST(user_flood_keeps_shared_names)
{
	struct dns_cache *c = dns_cache_new(8, 300, 3600);
	struct dns_cache_stats st;

	REQUIRE(c);
	REQUIRE(dns_cache_add_shared_uid(c, ROOT) == 0);
	for (uint8_t i = 0; i < 4; i++) {
		struct gw_ip ip = v4(10, 1, 0, i);

		dns_cache_put(c, ROOT, &ip, "root.test", 300, 0);
	}
	for (uint32_t i = 0; i < 1000; i++) {
		struct gw_ip ip = v4(10, 2, (uint8_t)(i >> 8), (uint8_t)i);

		dns_cache_put(c, U, &ip, "flood.test", 300, 1 * S);
	}
	for (uint8_t i = 0; i < 4; i++) {
		struct gw_ip ip = v4(10, 1, 0, i);

		CHECK_STR(dns_cache_get(c, ROOT, &ip, 2 * S), "root.test");
	}
	dns_cache_get_stats(c, &st);
	CHECK(st.user_evictions == 1000 - 4);
	CHECK(st.evictions == st.user_evictions);
	CHECK(st.size == 8);
	/* root's own pool full: root's oldest goes, counted but not as a user eviction */
	{
		struct gw_ip ip = v4(10, 1, 1, 1);

		dns_cache_put(c, ROOT, &ip, "root2.test", 300, 3 * S);
	}
	dns_cache_get_stats(c, &st);
	CHECK(st.evictions == st.user_evictions + 1);
	dns_cache_free(c);
}

/* One unprivileged uid's flood leaves another's names: past half the pool it evicts its own. */
TEST(user_flood_keeps_other_users_names)
{
	struct dns_cache *c = dns_cache_new(16, 300, 3600); /* a user pool of 8, shares of 4 */
	struct dns_cache_stats st;

	REQUIRE(c);
	REQUIRE(dns_cache_add_shared_uid(c, ROOT) == 0);
	for (uint8_t i = 0; i < 4; i++) {
		struct gw_ip ip = v4(10, 3, 0, i);

		dns_cache_put(c, U + 1, &ip, "victim.test", 300, 0);
	}
	for (uint32_t i = 0; i < 1000; i++) {
		struct gw_ip ip = v4(10, 4, (uint8_t)(i >> 8), (uint8_t)i);

		dns_cache_put(c, U, &ip, "flood.test", 300, 1 * S);
	}
	for (uint8_t i = 0; i < 4; i++) {
		struct gw_ip ip = v4(10, 3, 0, i);

		CHECK_STR(dns_cache_get(c, U + 1, &ip, 2 * S), "victim.test");
	}
	for (uint32_t i = 996; i < 1000; i++) {
		struct gw_ip ip = v4(10, 4, (uint8_t)(i >> 8), (uint8_t)i);

		CHECK_STR(dns_cache_get(c, U, &ip, 2 * S), "flood.test");
	}
	dns_cache_get_stats(c, &st);
	CHECK(st.share_evictions == 1000 - 4);
	CHECK(st.user_evictions == st.share_evictions);
	CHECK(st.size == 8);
	dns_cache_free(c);
}

/* Alone, a uid fills the whole pool; its touched names outlive its untouched ones. */
TEST(single_user_fills_the_pool)
{
	struct dns_cache *c = dns_cache_new(16, 300, 3600);
	struct gw_ip first = v4(10, 5, 0, 0), second = v4(10, 5, 0, 1);
	struct dns_cache_stats st;

	REQUIRE(c);
	for (uint8_t i = 0; i < 8; i++) {
		struct gw_ip ip = v4(10, 5, 0, i);

		dns_cache_put(c, U, &ip, "mine.test", 300, 0);
	}
	dns_cache_get_stats(c, &st);
	CHECK(st.size == 8 && st.evictions == 0);
	CHECK_STR(dns_cache_get(c, U, &first, 1 * S), "mine.test"); /* now the most recent */
	{
		struct gw_ip ip = v4(10, 5, 1, 0);

		dns_cache_put(c, U, &ip, "mine.test", 300, 2 * S);
	}
	CHECK_STR(dns_cache_get(c, U, &first, 3 * S), "mine.test");
	CHECK(dns_cache_get(c, U, &second, 3 * S) == NULL);
	/* expiry removes entries from their uid's share too: a new uid gets room again */
	for (uint8_t i = 0; i < 8; i++) {
		struct gw_ip ip = v4(10, 6, 0, i);

		dns_cache_put(c, U + 1, &ip, "later.test", 300, 400 * S);
	}
	for (uint8_t i = 0; i < 8; i++) {
		struct gw_ip ip = v4(10, 6, 0, i);

		CHECK_STR(dns_cache_get(c, U + 1, &ip, 401 * S), "later.test");
	}
	dns_cache_get_stats(c, &st);
	CHECK(st.evictions == 1); /* the rest were stale when pushed out */
	dns_cache_free(c);
}

/* Many uids, expiry, updates and lookups mixed: the pools stay bounded and every name read back
 * is the one its uid (or a shared uid) put last. */
TEST(churn_of_many_uids)
{
	struct dns_cache *c = dns_cache_new(64, 1, 60);
	struct dns_cache_stats st;
	uint32_t seed = 12345;

	REQUIRE(c);
	REQUIRE(dns_cache_add_shared_uid(c, ROOT) == 0);
	for (uint32_t i = 0; i < 50000; i++) {
		uint32_t uid, r;
		struct gw_ip ip;
		char name[32];
		const char *got;

		seed = seed * 1103515245 + 12345;
		r = seed >> 8;
		uid = r % 5 ? U + r % 7 : ROOT;
		ip = v4(10, 7, 0, (uint8_t)(r >> 8) % 40);
		snprintf(name, sizeof(name), "u%u.test", uid);
		if (r & 0x10000) {
			dns_cache_put(c, uid, &ip, name, (r >> 17) % 90, (uint64_t)i * S / 100);
		} else {
			got = dns_cache_get(c, uid, &ip, (uint64_t)i * S / 100);
			CHECK(!got || !strcmp(got, name) || !strcmp(got, "u0.test"));
		}
	}
	dns_cache_get_stats(c, &st);
	CHECK(st.size <= 64);
	CHECK(st.share_evictions <= st.user_evictions && st.user_evictions <= st.evictions);
	dns_cache_free(c);
}

int main(void)
{
	RUN(put_get_and_ttl_floor);
	RUN(update_keeps_one_entry);
	RUN(lru_eviction_is_counted);
	RUN(v6_and_mapped_keys);
	RUN(put_response_and_churn);
	RUN(uids_are_isolated);
	RUN(order_does_not_matter);
	RUN(shared_resolver_rule);
	RUN(ttl_cap);
	RUN(user_flood_keeps_shared_names);
	RUN(user_flood_keeps_other_users_names);
	RUN(single_user_fills_the_pool);
	RUN(churn_of_many_uids);
	return test_summary();
}
