/* Unit tests for agent/dns_pending.c (and dns_parse_query): only answers to asked questions count. */
#include "testing.h"

#include <stdio.h>
#include <string.h>

#include "net/dns_pending.h"

#define S 1000000000ull

static struct gw_ip server(uint8_t last)
{
	struct gw_ip ip;
	uint8_t raw[4] = { 10, 231, 0, last };

	gw_ip_from_v4(&ip, raw);
	return ip;
}

static struct dns_query query(uint16_t id, const char *name)
{
	struct dns_query q = { .id = id, .qtype = DNS_TYPE_A };

	snprintf(q.qname, sizeof(q.qname), "%s", name);
	return q;
}

static struct dns_response answer(uint16_t id, const char *name)
{
	struct dns_response r = { .id = id };

	snprintf(r.qname, sizeof(r.qname), "%s", name);
	return r;
}

TEST(matches_only_the_asked_question)
{
	struct dns_pending *p = dns_pending_new(8);
	struct gw_ip s1 = server(1), s2 = server(2);
	struct dns_query q = query(0x1234, "relay.example-rmm.test");
	struct dns_response good = answer(0x1234, "relay.example-rmm.test");
	struct dns_response wrong_id = answer(0x1235, "relay.example-rmm.test");
	struct dns_response wrong_name = answer(0x1234, "update.example.test");
	struct dns_pending_stats st;

	REQUIRE(p);
	dns_pending_add(p, &s1, 40000, &q, 0);
	CHECK(!dns_pending_match(p, &s1, 40000, &wrong_id, S));
	CHECK(!dns_pending_match(p, &s1, 40000, &wrong_name, S));
	CHECK(!dns_pending_match(p, &s2, 40000, &good, S));	/* another server */
	CHECK(!dns_pending_match(p, &s1, 40001, &good, S));	/* another local port */
	CHECK(dns_pending_match(p, &s1, 40000, &good, S));
	CHECK(!dns_pending_match(p, &s1, 40000, &good, S));	/* answered once */
	dns_pending_get_stats(p, &st);
	CHECK(st.matched == 1 && st.unsolicited == 5 && st.size == 0);
	dns_pending_free(p);
}

TEST(questions_expire_and_are_bounded)
{
	struct dns_pending *p = dns_pending_new(4);
	struct gw_ip s1 = server(1);
	struct dns_query q = query(1, "a.test");
	struct dns_response a = answer(1, "a.test");
	struct dns_pending_stats st;

	REQUIRE(p);
	dns_pending_add(p, &s1, 1, &q, 0);
	CHECK(!dns_pending_match(p, &s1, 1, &a, (DNS_PENDING_TTL_S + 1) * S));
	for (uint16_t i = 0; i < 10; i++) {
		struct dns_query qi = query(i, "b.test");

		dns_pending_add(p, &s1, 2, &qi, S);
	}
	dns_pending_get_stats(p, &st);
	CHECK(st.size == 4);
	CHECK(st.evictions == 6);
	CHECK(st.expired == 1);
	dns_pending_free(p);
}

TEST(parse_query)
{
	uint8_t msg[64] = { 0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
			    5, 'R', 'e', 'l', 'a', 'y', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1 };
	uint8_t tcp[66];
	struct dns_query q;

	REQUIRE(dns_parse_query(msg, 28, &q) == DNS_OK);
	CHECK(q.id == 0xabcd && q.qtype == DNS_TYPE_A);
	CHECK_STR(q.qname, "relay.test");
	CHECK(dns_parse_query(msg, 20, &q) == DNS_ERR_TRUNCATED);
	tcp[0] = 0;
	tcp[1] = 28;
	memcpy(tcp + 2, msg, 28);
	CHECK(dns_parse_tcp_query(tcp, 30, &q) == DNS_OK);
	msg[2] = 0x81; /* a response is not a query */
	CHECK(dns_parse_query(msg, 28, &q) == DNS_ERR_NOT_RESPONSE);
}

int main(void)
{
	RUN(matches_only_the_asked_question);
	RUN(questions_expire_and_are_bounded);
	RUN(parse_query);
	return test_summary();
}
