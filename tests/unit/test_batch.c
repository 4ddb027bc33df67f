/*
 * Unit tests for agent/batch.c: drafts, encode/decode round trip, hostile input to the decoder, the
 * host identity and certificate CN, and the bytes-per-event measurement on a mixed workload.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "fleet/batch.h"
#include "testing.h"
#include "workload.h"

static char err[256];

static void fill_stats(Ghostwatch__V1__AgentStats *st, Ghostwatch__V1__Counter *c,
		       Ghostwatch__V1__Counter **cp)
{
	static const char *names[] = { "exec", "exit", "fork", "kernel_exec", "kernel_exit",
				       "kernel_fork" };

	ghostwatch__v1__agent_stats__init(st);
	for (int i = 0; i < 6; i++) {
		ghostwatch__v1__counter__init(&c[i]);
		c[i].name = (char *)names[i];
		c[i].value = 1000 + i;
		cp[i] = &c[i];
	}
	st->events = cp;
	st->n_events = 3;
	st->drops = cp + 3;
	st->n_drops = 3;
	st->process_table_size = 412;
	st->uptime_ns = 86400ull * 1000000000ull;
}

static struct gw_host_identity test_host(void)
{
	struct gw_host_identity h = { 0 };

	snprintf(h.host_id, sizeof(h.host_id), "3d1219c7c4c5404aaa1f6d2a48adfda4");
	snprintf(h.machine_id, sizeof(h.machine_id), "3d1219c7c4c5404aaa1f6d2a48adfda4");
	snprintf(h.hostname, sizeof(h.hostname), "alice-laptop");
	snprintf(h.boot_id, sizeof(h.boot_id), "c77e613d-09f8-467d-9458-ac4c24e028d2");
	snprintf(h.agent_version, sizeof(h.agent_version), "0.1.0");
	snprintf(h.kernel_release, sizeof(h.kernel_release), "6.1.0-18-amd64");
	snprintf(h.cert_identity, sizeof(h.cert_identity), "3d1219c7c4c5404aaa1f6d2a48adfda4");
	return h;
}

/* Builds `lives` process lives into one batch, encodes it; returns compressed bytes per event. */
static double measure(unsigned lives, int level, size_t *raw_out, unsigned *events_out)
{
	struct workload w = { .next_pid = 40000, .next_event_id = 1, .now_ns = 1700000000ull * 1000000000ull,
			      .rng = 7 };
	struct gw_host_identity h = test_host();
	Ghostwatch__V1__HostIdentity hpb;
	Ghostwatch__V1__SpoolState spool = GHOSTWATCH__V1__SPOOL_STATE__INIT;
	Ghostwatch__V1__AgentStats st;
	Ghostwatch__V1__Counter c[6], *cp[6];
	struct gw_batch_builder b;
	struct gw_batch_draft *d;
	uint8_t *z;
	size_t z_len, raw;
	double per;

	gw_host_identity_to_pb(&h, &hpb);
	fill_stats(&st, c, cp);
	gw_batch_builder_init(&b, 1000000, w.now_ns);
	for (unsigned i = 0; i < lives; i++)
		if (add_process_life(&b, &w))
			break;
	d = gw_batch_cut(&b, w.now_ns, &st);
	if (!d || gw_batch_encode(d, &hpb, 42, &spool, level, &z, &z_len, &raw))
		abort();
	per = (double)z_len / d->n_events;
	if (raw_out)
		*raw_out = raw;
	if (events_out)
		*events_out = d->n_events;
	free(z);
	gw_batch_draft_free(d);
	gw_batch_builder_free(&b);
	return per;
}

/* ---- tests ----------------------------------------------------------------------------------- */

TEST(round_trip)
{
	struct workload w = { .next_pid = 100, .next_event_id = 1, .now_ns = 5, .rng = 1 };
	struct gw_host_identity h = test_host();
	Ghostwatch__V1__HostIdentity hpb;
	Ghostwatch__V1__SpoolState spool = GHOSTWATCH__V1__SPOOL_STATE__INIT;
	Ghostwatch__V1__AgentStats st;
	Ghostwatch__V1__Counter c[6], *cp[6];
	struct gw_batch_builder b;
	struct gw_batch_draft *d;
	Ghostwatch__V1__Batch *out;
	Ghostwatch__V1__FraudScore score = GHOSTWATCH__V1__FRAUD_SCORE__INIT;
	Ghostwatch__V1__Counter rmm = GHOSTWATCH__V1__COUNTER__INIT, kvm = GHOSTWATCH__V1__COUNTER__INIT;
	Ghostwatch__V1__Counter *points[2] = { &rmm, &kvm };
	uint8_t *z;
	size_t z_len;

	gw_host_identity_to_pb(&h, &hpb);
	fill_stats(&st, c, cp);
	rmm.name = "rmm";
	rmm.value = 24;
	kvm.name = "ipkvm";
	kvm.value = 25;
	score.score = 73;
	score.pillars = 2;
	score.multiplier_pct = 150;
	score.rmm_vendors = 2;
	score.n_points = 2;
	score.points = points;
	spool.dropped_batches = 3;
	spool.queue_dropped_events = 9;
	gw_batch_builder_init(&b, 100, 1111);
	for (int i = 0; i < 5; i++)
		REQUIRE(add_process_life(&b, &w) == 0);
	d = gw_batch_cut(&b, 2222, &st);
	REQUIRE(d);
	REQUIRE(gw_batch_draft_set_score(d, &score) == 0);
	CHECK(d->n_events == 15);
	CHECK(b.n_events == 0 && b.window_start_ns == 2222);
	REQUIRE(gw_batch_encode(d, &hpb, 77, &spool, Z_DEFAULT_COMPRESSION, &z, &z_len, NULL) == 0);
	out = gw_batch_decode(z, z_len, GW_BATCH_MAX_INFLATED, err, sizeof(err));
	REQUIRE(out);
	CHECK(out->seq == 77);
	CHECK(out->window_start_ns == 1111 && out->window_end_ns == 2222);
	REQUIRE(out->host);
	CHECK_STR(out->host->hostname, "alice-laptop");
	CHECK_STR(out->host->cert_identity, "3d1219c7c4c5404aaa1f6d2a48adfda4");
	REQUIRE(out->n_events == 15);
	CHECK(out->events[0]->kind_case == GHOSTWATCH__V1__EVENT__KIND_FORK);
	CHECK(out->events[1]->kind_case == GHOSTWATCH__V1__EVENT__KIND_EXEC);
	CHECK(out->events[1]->exec->process->pid == 100);
	CHECK(out->events[1]->exec->n_ancestors == 3);
	CHECK(out->events[14]->event_id == 15);
	REQUIRE(out->stats);
	CHECK(out->stats->n_drops == 3 && out->stats->process_table_size == 412);
	REQUIRE(out->spool);
	CHECK(out->spool->dropped_batches == 3 && out->spool->queue_dropped_events == 9);
	REQUIRE(out->fraud_score);
	CHECK(out->fraud_score->score == 73 && out->fraud_score->pillars == 2);
	CHECK(out->fraud_score->rmm_vendors == 2 && out->fraud_score->multiplier_pct == 150);
	REQUIRE(out->fraud_score->n_points == 2);
	CHECK_STR(out->fraud_score->points[1]->name, "ipkvm");
	CHECK(out->fraud_score->points[1]->value == 25);
	ghostwatch__v1__batch__free_unpacked(out, NULL);
	free(z);
	gw_batch_draft_free(d);
	gw_batch_builder_free(&b);
}

TEST(empty_window_still_makes_a_batch)
{
	struct gw_host_identity h = test_host();
	Ghostwatch__V1__HostIdentity hpb;
	struct gw_batch_builder b;
	struct gw_batch_draft *d;
	Ghostwatch__V1__Batch *out;
	uint8_t *z;
	size_t z_len;

	gw_host_identity_to_pb(&h, &hpb);
	gw_batch_builder_init(&b, 10, 1);
	d = gw_batch_cut(&b, 2, NULL);
	REQUIRE(d);
	REQUIRE(gw_batch_encode(d, &hpb, 1, NULL, 6, &z, &z_len, NULL) == 0);
	out = gw_batch_decode(z, z_len, GW_BATCH_MAX_INFLATED, err, sizeof(err));
	REQUIRE(out);
	CHECK(out->n_events == 0 && out->seq == 1 && !out->stats && !out->spool);
	ghostwatch__v1__batch__free_unpacked(out, NULL);
	free(z);
	gw_batch_draft_free(d);
	gw_batch_builder_free(&b);
}

TEST(draft_fills_at_max_events_and_max_bytes)
{
	struct workload w = { .next_pid = 100, .next_event_id = 1, .rng = 1 };
	struct gw_batch_builder b;
	Ghostwatch__V1__Event ev = GHOSTWATCH__V1__EVENT__INIT;
	Ghostwatch__V1__ProcessExec exec = GHOSTWATCH__V1__PROCESS_EXEC__INIT;
	Ghostwatch__V1__Process p;
	static char big[GW_BATCH_MAX_RAW_BYTES];
	char *argv[1] = { big };
	int rc = 0, n = 0;

	gw_batch_builder_init(&b, 6, 0);
	CHECK(add_process_life(&b, &w) == 0);
	CHECK(add_process_life(&b, &w) == 0);
	CHECK(add_process_life(&b, &w) == 1);
	CHECK(b.n_events == 6);
	gw_batch_builder_free(&b);

	/* an event bigger than a batch can ever be */
	memset(big, 'a', sizeof(big) - 1);
	fill_process(&p, 1, 0, "x", "/x", argv, 1, "exec");
	exec.process = &p;
	ev.kind_case = GHOSTWATCH__V1__EVENT__KIND_EXEC;
	ev.exec = &exec;
	gw_batch_builder_init(&b, 1000000, 0);
	CHECK(gw_batch_add(&b, &ev) == -E2BIG);

	/* 100 KiB events: the draft says full before reaching the raw-bytes limit */
	big[100 << 10] = '\0';
	while ((rc = gw_batch_add(&b, &ev)) == 0)
		n++;
	CHECK(rc == 1);
	CHECK(n >= 6 && b.len <= GW_BATCH_MAX_RAW_BYTES);
	gw_batch_builder_free(&b);
}

TEST(decoder_rejects_hostile_input)
{
	static uint8_t zeros[8 << 20];
	uint8_t *bomb, junk[64];
	uLongf bomb_len = compressBound(sizeof(zeros));
	Ghostwatch__V1__Batch *out;
	uLongf junk_len = sizeof(junk);

	/* zlib bomb: 8 MiB of zeros in a few KiB, against a 1 MiB limit */
	bomb = malloc(bomb_len);
	REQUIRE(bomb);
	REQUIRE(compress2(bomb, &bomb_len, zeros, sizeof(zeros), 9) == Z_OK);
	out = gw_batch_decode(bomb, bomb_len, 1 << 20, err, sizeof(err));
	CHECK(!out && strstr(err, "inflates beyond"));
	/* truncated stream */
	out = gw_batch_decode(bomb, bomb_len / 2, 16 << 20, err, sizeof(err));
	CHECK(!out && strstr(err, "truncated"));
	free(bomb);
	/* not zlib at all */
	out = gw_batch_decode((const uint8_t *)"hello world", 11, 1 << 20, err, sizeof(err));
	CHECK(!out && strstr(err, "bad zlib"));
	out = gw_batch_decode((const uint8_t *)"", 0, 1 << 20, err, sizeof(err));
	CHECK(!out);
	/* valid zlib, invalid protobuf (a field with wire type 7) */
	REQUIRE(compress2(junk, &junk_len, (const Bytef *)"\x0f\x0f\x0f", 3, 6) == Z_OK);
	out = gw_batch_decode(junk, junk_len, 1 << 20, err, sizeof(err));
	CHECK(!out && strstr(err, "protobuf"));
	/* trailing bytes after a valid stream */
	junk_len = sizeof(junk) - 4;
	REQUIRE(compress2(junk, &junk_len, (const Bytef *)"\x10\x01", 2, 6) == Z_OK);
	memcpy(junk + junk_len, "JUNK", 4);
	out = gw_batch_decode(junk, junk_len + 4, 1 << 20, err, sizeof(err));
	CHECK(!out && strstr(err, "trailing"));
	out = gw_batch_decode(junk, junk_len, 1 << 20, err, sizeof(err));
	CHECK(out && out->seq == 1);
	ghostwatch__v1__batch__free_unpacked(out, NULL);
}

TEST(certificate_cn_and_host_identity)
{
	char dir[] = "/tmp/gw_batch_XXXXXX", cmd[1024], cert[300], cn[256];
	struct gw_host_identity h;

	REQUIRE(mkdtemp(dir));
	snprintf(cert, sizeof(cert), "%s/agent.crt", dir);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
		 "-subj '/O=ghostwatch/CN=host-abc123' -keyout %s/agent.key -out %s "
		 ">/dev/null 2>&1",
		 dir, cert);
	REQUIRE(system(cmd) == 0);
	CHECK(gw_cert_subject_cn(cert, cn, sizeof(cn), err, sizeof(err)) == 0);
	CHECK_STR(cn, "host-abc123");

	CHECK(gw_host_identity_load(&h, "", cert, err, sizeof(err)) == 0);
	CHECK_STR(h.cert_identity, "host-abc123");
	CHECK(strlen(h.host_id) == 32 && strcmp(h.host_id, h.machine_id) == 0);
	CHECK(h.hostname[0] && h.kernel_release[0] && h.boot_id[0] && h.agent_version[0]);
	CHECK(gw_host_identity_load(&h, "rack7-node3", cert, err, sizeof(err)) == 0);
	CHECK_STR(h.host_id, "rack7-node3");

	CHECK(gw_cert_subject_cn("/nonexistent.crt", cn, sizeof(cn), err, sizeof(err)) == -1);
	CHECK(strstr(err, "/nonexistent.crt") != NULL);
	CHECK(gw_cert_subject_cn("/etc/hostname", cn, sizeof(cn), err, sizeof(err)) == -1);
	CHECK(strstr(err, "not a PEM") != NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

/*
 * The target: <= 60 bytes per event on the wire for a mixed workload, after compression.
 * Events here are full-fidelity: every exec carries argv, exe, cwd and three ancestors; every exit
 * repeats the process identity (so the collector can show a lone exit), forks carry the child.
 */
TEST(bytes_per_event_mixed_workload)
{
	static const unsigned sizes[] = { 10, 100, 500, 2000 };
	size_t raw;
	unsigned events;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double z6 = measure(sizes[i], 6, &raw, &events);
		double z9 = measure(sizes[i], 9, NULL, NULL);
		double z1 = measure(sizes[i], 1, NULL, NULL);

		printf("# %5u events/batch: raw %6.1f B/event, zlib-1 %5.1f, zlib-6 %5.1f, zlib-9 %5.1f "
		       "B/event\n",
		       events, (double)raw / events, z1, z6, z9);
		if (sizes[i] >= 100)
			CHECK(z6 <= 60.0);
	}
}

int main(void)
{
	RUN(round_trip);
	RUN(empty_window_still_makes_a_batch);
	RUN(draft_fills_at_max_events_and_max_bytes);
	RUN(decoder_rejects_hostile_input);
	RUN(certificate_cn_and_host_identity);
	RUN(bytes_per_event_mixed_workload);
	return test_summary();
}
