/* Unit tests for collector/batch_decode.c: the Nats-Msg-Id forms, the unknown-field flood, and one
 * decode budget shared by a fetched group with the allocator's overhead counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "batch_decode.h"
#include "testing.h"

#define SUBJECT "ghostwatch.v1.telemetry.host-a"

/* A packed, compressed batch of host-a, seq, n_events empty execs, then `extra` raw bytes. */
static size_t make_batch(uint8_t *z, size_t zcap, uint64_t seq, size_t n_events,
			 const uint8_t *extra, size_t extra_len)
{
	Ghostwatch__V1__Batch b = GHOSTWATCH__V1__BATCH__INIT;
	Ghostwatch__V1__HostIdentity id = GHOSTWATCH__V1__HOST_IDENTITY__INIT;
	Ghostwatch__V1__Event *evs = calloc(n_events + 1, sizeof(*evs));
	Ghostwatch__V1__Event **evp = calloc(n_events + 1, sizeof(*evp));
	size_t n = 0, cap;
	uint8_t *raw;
	uLongf zlen = zcap;

	id.host_id = "host-a";
	b.host = &id;
	b.seq = seq;
	for (size_t i = 0; i < n_events; i++) {
		ghostwatch__v1__event__init(&evs[i]);
		evs[i].event_id = i + 1;
		evp[i] = &evs[i];
	}
	b.events = evp;
	b.n_events = n_events;
	cap = ghostwatch__v1__batch__get_packed_size(&b) + extra_len;
	raw = malloc(cap);
	n = ghostwatch__v1__batch__pack(&b, raw);
	if (extra_len)
		memcpy(raw + n, extra, extra_len);
	n += extra_len;
	if (compress2(z, &zlen, raw, n, 9) != Z_OK)
		abort();
	free(raw);
	free(evs);
	free(evp);
	return zlen;
}

TEST(msg_id_carries_host_nonce_and_seq)
{
	static uint8_t z[4096];
	size_t zlen = make_batch(z, sizeof(z), 7, 1, NULL, 0);
	struct batch_limits lim;
	Ghostwatch__V1__Batch *out;
	static const struct {
		const char *id;
		enum batch_verdict want;
	} cases[] = {
		{ "host-a:0123456789abcdef:7", BATCH_OK },
		{ "host-a:7", BATCH_OK },
		{ "host-a:0123456789abcdef:17", BATCH_BAD_MSG_ID },
		{ "host-b:0123456789abcdef:7", BATCH_BAD_MSG_ID },
		{ "host-a::7", BATCH_BAD_MSG_ID },
		{ "host-a:01.3:7", BATCH_BAD_MSG_ID },
		{ "host-a:0123456789abcdef0123456789abcdef0:7", BATCH_BAD_MSG_ID },
		{ "host-a:77", BATCH_BAD_MSG_ID },
	};

	batch_limits_default(&lim);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum batch_verdict v = batch_decode(NULL, z, zlen, SUBJECT, cases[i].id, true, &lim,
						    &out, NULL, NULL, 0);
		if (v != cases[i].want)
			printf("#   %s: %s\n", cases[i].id, batch_verdict_name(v));
		CHECK(v == cases[i].want);
		batch_free(out);
	}
}

TEST(a_flood_of_unknown_fields_is_refused_unread)
{
	size_t n_unknown = 3000000, zcap = 1 << 20;
	uint8_t *unknown = malloc(3 * n_unknown), *z = malloc(zcap);
	struct batch_limits lim;
	Ghostwatch__V1__Batch *out = NULL;
	char detail[200];
	size_t zlen;

	REQUIRE(unknown && z);
	for (size_t i = 0; i < n_unknown; i++)
		memcpy(unknown + 3 * i, "\xf8\x06\x00", 3);	/* field 111, varint 0 */
	zlen = make_batch(z, zcap, 1, 1, unknown, 3 * n_unknown);
	CHECK(zlen < 16 << 10);
	batch_limits_default(&lim);
	CHECK(batch_decode(NULL, z, zlen, SUBJECT, NULL, false, &lim, &out, NULL, detail,
			   sizeof(detail)) == BATCH_UNKNOWN_FIELD);
	CHECK(out == NULL);
	CHECK(strstr(detail, "3000000 fields") != NULL);
	CHECK_STR(batch_verdict_name(BATCH_UNKNOWN_FIELD), "unknown_field");

	/* a few, as from an agent a schema version apart, are tolerated */
	zlen = make_batch(z, zcap, 1, 2, unknown, 3 * 24);
	CHECK(batch_decode(NULL, z, zlen, SUBJECT, NULL, false, &lim, &out, NULL, NULL, 0) ==
	      BATCH_OK);
	batch_free(out);
	zlen = make_batch(z, zcap, 1, 2, unknown, 3 * 25);
	CHECK(batch_decode(NULL, z, zlen, SUBJECT, NULL, false, &lim, &out, NULL, NULL, 0) ==
	      BATCH_UNKNOWN_FIELD);
	free(unknown);
	free(z);
}

TEST(a_group_shares_one_budget_with_overhead_counted)
{
	static uint8_t z[1 << 16];
	size_t zlen = make_batch(z, sizeof(z), 1, 1000, NULL, 0);
	struct batch_limits lim;
	struct batch_budget budget;
	Ghostwatch__V1__Batch *held[8] = { 0 };
	size_t one, accepted = 0;

	batch_limits_default(&lim);
	batch_budget_init(&budget, 64 << 20);
	REQUIRE(batch_decode_in(&budget, NULL, z, zlen, SUBJECT, NULL, false, &lim, &held[0], NULL,
				NULL, 0) == BATCH_OK);
	one = budget.used;
	/* 1000 events of 1 allocation each at least, each costing more than its 8-byte pointer */
	CHECK(one > 1000 * 32);
	batch_free_in(&budget, held[0]);
	CHECK(budget.used == 0);

	/* room for three and a half: the fourth is refused while the three are held */
	batch_budget_init(&budget, one * 3 + one / 2);
	for (int i = 0; i < 4; i++) {
		enum batch_verdict v = batch_decode_in(&budget, NULL, z, zlen, SUBJECT, NULL, false,
						       &lim, &held[i], NULL, NULL, 0);
		if (v == BATCH_OK)
			accepted++;
		else
			CHECK(v == BATCH_DECODE_MEMORY);
	}
	CHECK(accepted == 3);
	CHECK(budget.used <= budget.limit);
	for (int i = 0; i < 4; i++)
		batch_free_in(&budget, held[i]);
	CHECK(budget.used == 0);
	/* freed: the next one fits again */
	CHECK(batch_decode_in(&budget, NULL, z, zlen, SUBJECT, NULL, false, &lim, &held[0], NULL,
			      NULL, 0) == BATCH_OK);
	batch_free_in(&budget, held[0]);
}

int main(void)
{
	RUN(msg_id_carries_host_nonce_and_seq);
	RUN(a_flood_of_unknown_fields_is_refused_unread);
	RUN(a_group_shares_one_budget_with_overhead_counted);
	return test_summary();
}
