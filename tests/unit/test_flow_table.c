/* Unit tests for agent/flow_table.c: aggregation, window flush, per-process flush, eviction. */
#include "testing.h"

#include <netinet/in.h>

#include "net/flow_table.h"

#define S 1000000000ull

struct emitted {
	struct flow flows[64];
	enum flow_flush_reason why[64];
	size_t n;
};

static void collect(const struct flow *f, enum flow_flush_reason why, void *ctx)
{
	struct emitted *e = ctx;

	if (e->n < 64) {
		e->flows[e->n] = *f;
		e->why[e->n] = why;
	}
	e->n++;
}

static struct flow_key key(uint64_t proc, uint8_t last_octet, uint16_t port)
{
	struct flow_key k;
	struct gw_ip ip;
	uint8_t raw[4] = { 10, 231, 0, last_octet };

	gw_ip_from_v4(&ip, raw);
	flow_key_init(&k, proc, IPPROTO_TCP, FLOW_OUTBOUND, &ip, port);
	return k;
}

TEST(aggregates_connections_failures_bytes_rtt)
{
	struct emitted out = { 0 };
	struct flow_table *t = flow_table_new(16, 10 * S, collect, &out, 0);
	struct flow_key k = key(42, 1, 443);

	REQUIRE(t);
	flow_table_add(t, &k, &(struct flow_sample){ .pid = 7, .connections = 1, .dns_name = "x.test" }, 1 * S);
	flow_table_add(t, &k, &(struct flow_sample){ .bytes_sent = 1000, .bytes_received = 50, .rtt_us = 100 }, 2 * S);
	flow_table_add(t, &k, &(struct flow_sample){ .connections = 1 }, 3 * S);
	flow_table_add(t, &k, &(struct flow_sample){ .failure = FLOW_FAIL_REFUSED }, 3 * S);
	flow_table_add(t, &k, &(struct flow_sample){ .connections = 1, .bytes_sent = 24, .rtt_us = 300 }, 4 * S);
	flow_table_add(t, &k, &(struct flow_sample){ .failure = FLOW_FAIL_RESET }, 4 * S);
	CHECK(flow_table_tick(t, 9 * S) == 0);
	CHECK(flow_table_tick(t, 10 * S) == 1);
	REQUIRE(out.n == 1);
	const struct flow *f = &out.flows[0];

	CHECK(out.why[0] == FLOW_FLUSH_WINDOW);
	CHECK(f->pid == 7);
	CHECK(f->connections == 3);
	CHECK(f->failures[FLOW_FAIL_REFUSED] == 1);
	CHECK(f->failures[FLOW_FAIL_RESET] == 1);
	CHECK(f->failures[FLOW_FAIL_TIMEOUT] == 0);
	CHECK(f->bytes_sent == 1024);
	CHECK(f->bytes_received == 50);
	CHECK(f->rtt_min_us == 100);
	CHECK(f->rtt_max_us == 300);
	CHECK(flow_rtt_avg_us(f) == 200);
	CHECK(f->first_seen_ns == 1 * S);
	CHECK(f->last_seen_ns == 4 * S);
	CHECK_STR(f->dns_name, "x.test");
	/* a new window starts empty */
	CHECK(flow_table_tick(t, 25 * S) == 0);
	flow_table_free(t);
}

/* What the kernel folded (struct gw_tcp_fold) arrives summed: counts add, RTT extremes combine. */
TEST(presummed_samples_combine_with_single_ones)
{
	struct emitted out = { 0 };
	struct flow_table *t = flow_table_new(16, 10 * S, collect, &out, 0);
	struct flow_key k = key(42, 1, 443);

	REQUIRE(t);
	flow_table_add(t, &k, &(struct flow_sample){ .connections = 1, .rtt_us = 200 }, 1 * S);
	flow_table_add(t, &k, &(struct flow_sample){
		.connections = 40,
		.failures = { [FLOW_FAIL_REFUSED] = 3, [FLOW_FAIL_TIMEOUT] = 2 },
		.bytes_sent = 4000, .bytes_received = 9,
		.rtt_min_us = 50, .rtt_max_us = 900, .rtt_sum_us = 3800, .rtt_samples = 10,
	}, 2 * S);
	flow_table_add(t, &k, &(struct flow_sample){ .failure = FLOW_FAIL_REFUSED }, 3 * S);
	CHECK(flow_table_flush_all(t, FLOW_FLUSH_SHUTDOWN, 4 * S) == 1);
	REQUIRE(out.n == 1);
	const struct flow *f = &out.flows[0];

	CHECK(f->connections == 41);
	CHECK(f->failures[FLOW_FAIL_REFUSED] == 4);
	CHECK(f->failures[FLOW_FAIL_TIMEOUT] == 2);
	CHECK(f->failures[FLOW_FAIL_RESET] == 0);
	CHECK(f->bytes_sent == 4000 && f->bytes_received == 9);
	CHECK(f->rtt_samples == 11);
	CHECK(f->rtt_min_us == 50 && f->rtt_max_us == 900);
	CHECK(flow_rtt_avg_us(f) == 4000 / 11);
	CHECK(f->last_seen_ns == 3 * S);
	flow_table_free(t);
}

TEST(distinct_keys_are_distinct_flows)
{
	struct emitted out = { 0 };
	struct flow_table *t = flow_table_new(16, 10 * S, collect, &out, 0);
	struct flow_key a = key(1, 1, 80), b = key(1, 1, 81), c = key(2, 1, 80), d = key(1, 2, 80);
	struct flow_key in = a;
	struct flow_table_stats st;

	REQUIRE(t);
	in.direction = FLOW_INBOUND;
	const struct flow_key *keys[] = { &a, &b, &c, &d, &in, &a };

	for (size_t i = 0; i < 6; i++)
		flow_table_add(t, keys[i], &(struct flow_sample){ .connections = 1 }, S);
	flow_table_get_stats(t, &st);
	CHECK(st.size == 5);
	CHECK(flow_table_flush_all(t, FLOW_FLUSH_SHUTDOWN, 2 * S) == 5);
	CHECK(out.n == 5);
	flow_table_free(t);
}

TEST(process_exit_flushes_only_that_process)
{
	struct emitted out = { 0 };
	struct flow_table *t = flow_table_new(16, 10 * S, collect, &out, 0);
	struct flow_key a1 = key(1, 1, 80), a2 = key(1, 2, 80), b1 = key(2, 1, 80);
	struct flow_table_stats st;

	REQUIRE(t);
	flow_table_add(t, &a1, &(struct flow_sample){ .connections = 1 }, S);
	flow_table_add(t, &b1, &(struct flow_sample){ .connections = 1 }, S);
	flow_table_add(t, &a2, &(struct flow_sample){ .connections = 1 }, S);
	CHECK(flow_table_flush_process(t, 1) == 2);
	CHECK(flow_table_flush_process(t, 1) == 0);
	CHECK(flow_table_flush_process(t, 99) == 0);
	REQUIRE(out.n == 2);
	CHECK(out.why[0] == FLOW_FLUSH_PROCESS_EXIT);
	CHECK(out.flows[0].key.process_id == 1 && out.flows[1].key.process_id == 1);
	flow_table_get_stats(t, &st);
	CHECK(st.size == 1);
	/* the process can come back (pid reuse is a new process_id, but the table must not care) */
	flow_table_add(t, &a1, &(struct flow_sample){ .connections = 1 }, 2 * S);
	CHECK(flow_table_flush_process(t, 1) == 1);
	flow_table_free(t);
}

TEST(full_table_evicts_lru_and_emits_it)
{
	struct emitted out = { 0 };
	struct flow_table *t = flow_table_new(2, 10 * S, collect, &out, 0);
	struct flow_key a = key(1, 1, 1), b = key(1, 1, 2), c = key(2, 1, 3);
	struct flow_table_stats st;

	REQUIRE(t);
	flow_table_add(t, &a, &(struct flow_sample){ .connections = 1 }, 1);
	flow_table_add(t, &b, &(struct flow_sample){ .connections = 1 }, 2);
	flow_table_add(t, &a, &(struct flow_sample){ .connections = 1 }, 3); /* b is now LRU */
	flow_table_add(t, &c, &(struct flow_sample){ .connections = 1 }, 4);
	REQUIRE(out.n == 1);
	CHECK(out.why[0] == FLOW_FLUSH_EVICTED);
	CHECK(out.flows[0].key.port == 2);
	flow_table_get_stats(t, &st);
	CHECK(st.evictions == 1);
	CHECK(st.size == 2);
	/* heavy churn stays bounded and every flow is emitted exactly once */
	for (uint32_t i = 0; i < 5000; i++) {
		struct flow_key k = key(i % 7, (uint8_t)i, (uint16_t)i);

		flow_table_add(t, &k, &(struct flow_sample){ .connections = 1 }, 10 + i);
	}
	flow_table_flush_all(t, FLOW_FLUSH_SHUTDOWN, 20 * S);
	flow_table_get_stats(t, &st);
	CHECK(st.size == 0);
	CHECK(st.flows_created == st.flows_emitted);
	CHECK(out.n == st.flows_emitted);
	flow_table_free(t);
}

TEST(first_identified_protocol_and_server_name_stay)
{
	struct emitted out = { 0 };
	struct flow_table *t = flow_table_new(16, 10 * S, collect, &out, 0);
	struct flow_key k = key(42, 2, 443);

	REQUIRE(t);
	flow_table_add(t, &k, &(struct flow_sample){ .pid = 7, .connections = 1 }, 1 * S);
	flow_table_add(t, &k, &(struct flow_sample){ .app_protocol = "tls",
		       .server_name = "relay.rustdesk.com", .dns_name = "relay.rustdesk.com" }, 2 * S);
	flow_table_add(t, &k, &(struct flow_sample){ .app_protocol = "http", .server_name = "" },
		       3 * S);
	CHECK(flow_table_tick(t, 10 * S) == 1);
	REQUIRE(out.n == 1);
	CHECK(strcmp(out.flows[0].app_protocol, "tls") == 0);
	CHECK(strcmp(out.flows[0].server_name, "relay.rustdesk.com") == 0);
	CHECK(strcmp(out.flows[0].dns_name, "relay.rustdesk.com") == 0);
	CHECK(out.flows[0].connections == 1);
	flow_table_free(t);
}

TEST(names)
{
	CHECK_STR(flow_failure_name(FLOW_FAIL_TIMEOUT), "timeout");
	CHECK_STR(flow_flush_reason_name(FLOW_FLUSH_PROCESS_EXIT), "process_exit");
}

int main(void)
{
	RUN(aggregates_connections_failures_bytes_rtt);
	RUN(presummed_samples_combine_with_single_ones);
	RUN(distinct_keys_are_distinct_flows);
	RUN(process_exit_flushes_only_that_process);
	RUN(full_table_evicts_lru_and_emits_it);
	RUN(first_identified_protocol_and_server_name_stay);
	RUN(names);
	return test_summary();
}
