/*
 * fleet_bench - measures the agent's fleet path without BPF in the way:
 *
 *   fleet_bench spool DIR
 *       spool append throughput for 4 KiB records (a compressed ~150-event batch) with an
 *       fdatasync per record, per 10 and per 100 records.
 *   fleet_bench forward CONFIG BATCHES EVENTS_PER_BATCH
 *       builds BATCHES batches of the synthetic process workload (tests/unit/workload.h), submits
 *       them to a forwarder configured by CONFIG (a ghostwatch.yaml pointing at a running
 *       nats-server with the GHOSTWATCH stream) and waits until every one has its PubAck.
 *       Prints batches/s, events/s, wire bytes per event and CPU per batch (this process: build,
 *       encode, compress, spool, publish).
 *
 * Output is one "key=value ..." line per measurement, for bench/fleet.py to collect.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "fleet/batch.h"
#include "core/config.h"
#include "fleet/forwarder.h"
#include "common/log.h"
#include "fleet/spool.h"
#include "workload.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static int bench_spool(const char *dir)
{
	static const unsigned groups[] = { 1, 10, 100 };
	static uint8_t rec[4096];
	char err[256];

	memset(rec, 0xab, sizeof(rec));
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		struct gw_spool_limits lim = { .max_bytes = 1ull << 30, .segment_bytes = 8u << 20 };
		unsigned n = groups[g] == 1 ? 2000 : 20000;
		char sub[512], cmd[600];
		struct gw_spool *s;
		double t0, dt;

		snprintf(sub, sizeof(sub), "%s/spool-%u", dir, groups[g]);
		s = gw_spool_open(sub, &lim, err, sizeof(err));
		if (!s) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		t0 = now_s();
		for (unsigned i = 0; i < n; i++) {
			if (gw_spool_append(s, gw_spool_next_seq(s), 150, rec, sizeof(rec), 0, 0))
				return 1;
			if ((i + 1) % groups[g] == 0 && gw_spool_sync(s))
				return 1;
		}
		gw_spool_sync(s);
		dt = now_s() - t0;
		printf("spool record_bytes=%zu sync_every=%u records=%u records_per_s=%.0f MiB_per_s=%.1f\n",
		       sizeof(rec), groups[g], n, n / dt, n * sizeof(rec) / dt / (1 << 20));
		/* read back and ack everything: the publisher's side of the spool */
		t0 = now_s();
		for (;;) {
			struct gw_spool_record r;
			int rc = gw_spool_peek(s, &r);

			if (rc <= 0)
				break;
			gw_spool_ack(s, &r);
			free(r.data);
		}
		dt = now_s() - t0;
		printf("spool_read sync_every=%u records=%u records_per_s=%.0f\n", groups[g], n, n / dt);
		gw_spool_close(s);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sub);
		if (system(cmd))
			return 1;
	}
	return 0;
}

static int bench_forward(const char *config, unsigned batches, unsigned lives_per_batch)
{
	char err[GW_CONFIG_ERR_LEN];
	struct gw_config *cfg = gw_config_load(config, err, sizeof(err));
	struct workload w = { .next_pid = 10000, .next_event_id = 1, .now_ns = 1, .rng = 3 };
	struct gw_host_identity host;
	struct gw_forwarder_stats st;
	struct gw_forwarder *f;
	struct gw_log log;
	double t0, c0, dt, dc, build_cpu = 0;
	uint64_t events = 0;

	if (!cfg) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	gw_log_init(&log, GW_LOG_WARN);
	if (gw_host_identity_load(&host, cfg->host_id, cfg->tls_cert, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	f = gw_forwarder_start(cfg, &host, &log, NULL, err, sizeof(err));
	if (!f) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	t0 = now_s();
	c0 = cpu_s();
	for (unsigned i = 0; i < batches; i++) {
		struct gw_batch_builder b;
		struct gw_batch_draft *d;
		double cb = cpu_s();

		gw_batch_builder_init(&b, 1000000, w.now_ns);
		for (unsigned k = 0; k < lives_per_batch; k++)
			add_process_life(&b, &w);
		d = gw_batch_cut(&b, w.now_ns, NULL);
		gw_batch_builder_free(&b);
		build_cpu += cpu_s() - cb;
		events += d->n_events;
		/* a full queue would drop: the benchmark waits instead, it measures throughput */
		while (1) {
			gw_forwarder_get_stats(f, &st);
			if (st.queue_depth < cfg->queue_batches)
				break;
			usleep(200);
		}
		if (gw_forwarder_submit(f, d))
			fprintf(stderr, "dropped a batch\n");
	}
	if (!gw_forwarder_wait_drained(f, 600000)) {
		fprintf(stderr, "not drained\n");
		return 1;
	}
	dt = now_s() - t0;
	dc = cpu_s() - c0;
	gw_forwarder_get_stats(f, &st);
	printf("forward batches=%u events_per_batch=%.0f batches_per_s=%.0f events_per_s=%.0f "
	       "wire_bytes_per_event=%.1f cpu_us_per_batch=%.0f cpu_us_per_batch_excl_build=%.0f "
	       "cpu_us_per_event=%.2f duplicates=%llu publish_errors=%llu\n",
	       batches, (double)events / batches, batches / dt, events / dt,
	       (double)st.bytes_published / st.published_events, dc * 1e6 / batches,
	       (dc - build_cpu) * 1e6 / batches, dc * 1e6 / events,
	       (unsigned long long)st.duplicates, (unsigned long long)st.publish_errors);
	gw_forwarder_stop(f, NULL);
	gw_config_free(cfg);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "spool"))
		return bench_spool(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "forward"))
		return bench_forward(argv[2], (unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]) / 3);
	fprintf(stderr, "usage: fleet_bench spool DIR | forward CONFIG BATCHES EVENTS_PER_BATCH\n");
	return 2;
}
