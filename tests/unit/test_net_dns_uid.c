/* Unit tests for net_ingest_dns (agent/net/net_records.c): answers land under the uid that read
 * them, and an answer whose uid may be a user namespace's never claims a shared uid. */
#include "testing.h"

#include <stdlib.h>

#include "net/network.h"

#define S 1000000000ull

/* relay.test A 10.0.0.1, TTL 300, answering its own question */
static const uint8_t answer[] = {
	0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
	5, 'r', 'e', 'l', 'a', 'y', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1,
	0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4, 10, 0, 0, 1,
};

static struct gw_net *net_new(void)
{
	struct gw_net *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->dns = dns_cache_new(16, 60, 3600);
	if (!n->dns || dns_cache_add_shared_uid(n->dns, 0)) {
		dns_cache_free(n->dns);
		free(n);
		return NULL;
	}
	n->hooks.dns_verify = GW_DNS_VERIFY_SOCKET;
	return n;
}

static void net_free(struct gw_net *n)
{
	dns_cache_free(n->dns);
	free(n);
}

static enum dns_result ingest(struct gw_net *n, uint32_t uid, bool asked, bool unsure)
{
	struct gw_ip server = { { [10] = 0xff, [11] = 0xff, 10, 0, 0, 53 } };

	return net_ingest_dns(n, answer, sizeof(answer), false, &server, 40000, asked, uid, unsure,
			      1 * S);
}

TEST(answers_land_under_their_uid)
{
	struct gw_net *n = net_new();
	struct gw_ip relay = { { [10] = 0xff, [11] = 0xff, 10, 0, 0, 1 } };

	REQUIRE(n);
	CHECK(ingest(n, 1000, true, false) == DNS_OK);
	CHECK_STR(dns_cache_get(n->dns, 1000, &relay, 2 * S), "relay.test");
	CHECK(dns_cache_get(n->dns, 0, &relay, 2 * S) == NULL);
	CHECK(dns_cache_get(n->dns, 1001, &relay, 2 * S) == NULL);
	CHECK(ingest(n, 0, true, false) == DNS_OK);
	CHECK_STR(dns_cache_get(n->dns, 1001, &relay, 2 * S), "relay.test");
	CHECK(n->counters[NET_DNS_ADDRESSES] == 2);
	/* not asked from that socket: not believed, under any uid */
	CHECK(ingest(n, 2000, false, false) == DNS_OK);
	CHECK(n->counters[NET_DNS_UNSOLICITED] == 1);
	net_free(n);
}

TEST(unsure_uid_cannot_claim_a_shared_one)
{
	struct gw_net *n = net_new();
	struct gw_ip relay = { { [10] = 0xff, [11] = 0xff, 10, 0, 0, 1 } };

	REQUIRE(n);
	n->hooks.dns_verify = GW_DNS_VERIFY_NONE;
	CHECK(ingest(n, 0, false, true) == DNS_OK);
	CHECK(n->counters[NET_DNS_UID_UNSURE] == 1);
	CHECK(dns_cache_get(n->dns, 0, &relay, 2 * S) == NULL);
	CHECK(dns_cache_get(n->dns, 1000, &relay, 2 * S) == NULL);
	/* an unprivileged uid names only that uid's connections anyway */
	CHECK(ingest(n, 1000, false, true) == DNS_OK);
	CHECK(n->counters[NET_DNS_UID_UNSURE] == 1);
	CHECK_STR(dns_cache_get(n->dns, 1000, &relay, 2 * S), "relay.test");
	CHECK(dns_cache_get(n->dns, 0, &relay, 2 * S) == NULL);
	net_free(n);
}

int main(void)
{
	RUN(answers_land_under_their_uid);
	RUN(unsure_uid_cannot_claim_a_shared_one);
	return test_summary();
}
