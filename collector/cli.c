/* cli.c - the collector's command line. See cli.h. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "nats_monitor.h"

void cli_usage(FILE *f)
{
	fprintf(f,
		"usage: ghostwatch-collector run --out-dir DIR --ca FILE --cert FILE --key FILE [options]\n"
		"       ghostwatch-collector report --ca FILE --cert FILE --key FILE [--server URL]\n"
		"                            [--bucket NAME] [--json | --html FILE]\n"
		"                            [--silent-days N] [--enrolled DIR]\n"
		"       ghostwatch-collector read --ca FILE --cert FILE --key FILE [--server URL]\n"
		"                            [--host ID] [--since TIME|AGE | --seq N] [--limit N]\n"
		"       ghostwatch-collector --help | --version\n"
		"\n"
		"run: consume agent batches from the JetStream stream through a durable pull consumer\n"
		"(shared by every collector given the same --durable), validate them, write one NDJSON\n"
		"line per event to DIR/NAME.ndjson (rotated by size), keep the fleet view in the bucket.\n"
		"  --server URL[,URL...]   nats-server URLs (default tls://127.0.0.1:4222)\n"
		"  --ca FILE               fleet CA certificate (PEM)\n"
		"  --cert FILE --key FILE  the collector's client certificate and key\n"
		"  --stream NAME           stream (default GHOSTWATCH; created if missing)\n"
		"  --replicas N            stream replicas when creating it (1 or 3; default 1)\n"
		"  --max-age SECONDS       stream retention (default 604800 = 7 days)\n"
		"  --max-stream-bytes N    stream size cap (default 10G; K/M/G suffixes)\n"
		"  --duplicate-window S    JetStream de-duplication window on Nats-Msg-Id (default 120)\n"
		"  --durable NAME          durable consumer (default ghostwatch-collector)\n"
		"  --out-dir DIR           NDJSON output directory (required)\n"
		"  --out-name NAME         live file name without .ndjson (default events)\n"
		"  --max-file-bytes N      rotate the live file past N bytes (default 64M)\n"
		"  --keep N                keep N rotated files (default 0 = all)\n"
		"  --bucket NAME           the fleet view's JetStream key-value bucket, one value per\n"
		"                          host, shared by every collector (default GHOSTWATCH_FLEET;\n"
		"                          created with --replicas if missing)\n"
		"  --fetch N               messages per fetch (default 128)\n"
		"  --ack-wait SECONDS      redeliver an unacked message after this (default 30)\n"
		"  --max-deliver N         the Nth delivery of a message never settled is terminated\n"
		"                          unread and counted as a dead letter (default 5)\n"
		"  --max-msgs-per-host N   stream cap per host subject when creating it: a flooding host\n"
		"                          evicts only its own oldest batches (default 50000)\n"
		"  --fetch-max-bytes N     compressed bytes per fetched group (default 64M)\n"
		"  --max-batch-bytes N     reject compressed batches larger than this (default 4M)\n"
		"  --max-inflated-bytes N  reject batches that inflate past this (default 32M)\n"
		"  --max-events N          reject batches with more events (default 200000)\n"
		"  --max-decode-bytes N    memory the decoded batches of one fetched group may hold,\n"
		"                          allocator overhead included (default 256M)\n"
		"  --idle-exit SECONDS     exit after this long without messages (benchmarks)\n"
		"  --stats-interval S      log counters every S seconds (default 30, 0 = never)\n"
		"  --metrics ADDR:PORT     serve Prometheus text on /metrics and a health check on\n"
		"                          /healthz (e.g. 127.0.0.1:9464; default off)\n"
		"  --log-level LEVEL       debug, info, warn, error (default info)\n"
		"  --nats-monitor URL      nats-server monitoring (http://127.0.0.1:8222): its client\n"
		"                          list shows hosts of different employees sharing an address\n"
		"  --nats-monitor-interval S  how often to read it (default 60)\n"
		"  --silenced-after S      an agent restarted on the same boot this long after its last\n"
		"                          window is GW-FLEET-SILENCED (default 120)\n"
		"read: print the stored batches back as NDJSON (the lines run writes; a message run would\n"
		"reject as {\"type\":\"rejected\",\"stream_seq\":..,\"reason\":..}) through an ephemeral\n"
		"consumer that acks nothing: the durable consumer is not touched. --host one host only,\n"
		"--since 2026-12-07T04:00:00Z or an age (90s, 30m, 2h, 7d), --seq from a stream sequence\n"
		"(e.g. a dead letter's), --limit at most N messages; --stream and --log-level as for run.\n"
		"report: print the fleet view from the bucket every collector keeps it in (--server,\n"
		"--ca, --cert, --key and --bucket as for run; the collector's certificate). --json for\n"
		"machines; --html FILE writes one self-contained page (hosts by score, laptop farms,\n"
		"places, devices, losses, activity heat-maps).\n"
		"  --silent-days N         an employee none of whose hosts reported for N days is\n"
		"                          silent (default 7)\n"
		"  --enrolled DIR          issued agent certificates (*.pem, *.crt; CN = host id): the\n"
		"                          hosts among them that never reported are listed\n");
}

bool cli_parse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v, mul = 1;

	errno = 0;
	if (!*s || *s == '-')
		return false;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	if (*end == 'K' || *end == 'k')
		mul = 1ull << 10;
	else if (*end == 'M' || *end == 'm')
		mul = 1ull << 20;
	else if (*end == 'G' || *end == 'g')
		mul = 1ull << 30;
	else if (*end)
		return false;
	if (mul > 1 && end[1])
		return false;
	if (v > UINT64_MAX / mul)
		return false;
	*out = v * mul;
	return true;
}



static const struct option run_opts[] = {
	{ "server", required_argument, NULL, OPT_SERVER },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "stream", required_argument, NULL, OPT_STREAM },
	{ "replicas", required_argument, NULL, OPT_REPLICAS },
	{ "max-age", required_argument, NULL, OPT_MAX_AGE },
	{ "max-stream-bytes", required_argument, NULL, OPT_MAX_STREAM_BYTES },
	{ "duplicate-window", required_argument, NULL, OPT_DUP_WINDOW },
	{ "durable", required_argument, NULL, OPT_DURABLE },
	{ "out-dir", required_argument, NULL, OPT_OUT_DIR },
	{ "out-name", required_argument, NULL, OPT_OUT_NAME },
	{ "max-file-bytes", required_argument, NULL, OPT_MAX_FILE_BYTES },
	{ "keep", required_argument, NULL, OPT_KEEP },
	{ "bucket", required_argument, NULL, OPT_BUCKET },
	{ "fetch", required_argument, NULL, OPT_FETCH },
	{ "ack-wait", required_argument, NULL, OPT_ACK_WAIT },
	{ "max-batch-bytes", required_argument, NULL, OPT_MAX_BATCH },
	{ "max-inflated-bytes", required_argument, NULL, OPT_MAX_INFLATED },
	{ "max-events", required_argument, NULL, OPT_MAX_EVENTS },
	{ "max-decode-bytes", required_argument, NULL, OPT_MAX_DECODE },
	{ "idle-exit", required_argument, NULL, OPT_IDLE_EXIT },
	{ "stats-interval", required_argument, NULL, OPT_STATS_INTERVAL },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "max-deliver", required_argument, NULL, OPT_MAX_DELIVER },
	{ "max-msgs-per-host", required_argument, NULL, OPT_MAX_PER_HOST },
	{ "fetch-max-bytes", required_argument, NULL, OPT_FETCH_MAX_BYTES },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "nats-monitor", required_argument, NULL, OPT_NATS_MONITOR },
	{ "nats-monitor-interval", required_argument, NULL, OPT_NATS_MONITOR_INTERVAL },
	{ "silenced-after", required_argument, NULL, OPT_SILENCED_AFTER },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

bool cli_bucket_name_valid(const char *s)
{
	size_t n = strlen(s);

	return n && n <= 64 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789-_") == n;
}

int cli_bad_value(const char *opt, const char *val, const char *why)
{
	fprintf(stderr, "ghostwatch-collector: --%s '%s': %s\n", opt, val, why);
	return 2;
}

int cli_parse_run(int argc, char **argv, struct collector_opts *o)
{
	int c, idx = -1;
	uint64_t v = 0;
	enum gw_log_level level;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", run_opts, &idx)) != -1) {
		const char *name = idx >= 0 && c >= 256 ? run_opts[idx].name : "";
		bool size_ok = c >= 256 && optarg && cli_parse_size(optarg, &v);

		switch (c) {
		case OPT_SERVER: o->nats.servers = optarg; break;
		case OPT_CA: o->nats.ca_file = optarg; break;
		case OPT_CERT: o->nats.cert_file = optarg; break;
		case OPT_KEY: o->nats.key_file = optarg; break;
		case OPT_STREAM: o->stream = optarg; break;
		case OPT_DURABLE: o->durable = optarg; break;
		case OPT_OUT_DIR: o->out_dir = optarg; break;
		case OPT_OUT_NAME: o->out_name = optarg; break;
		case OPT_BUCKET:
			if (!cli_bucket_name_valid(optarg))
				return cli_bad_value(name, optarg, "not a bucket name (A-Z a-z 0-9 - _)");
			o->bucket = optarg;
			break;
		case OPT_METRICS: {
			struct sockaddr_storage ss;
			socklen_t sl;

			if (!gwc_metrics_parse_addr(optarg, &ss, &sl)) {
				fprintf(stderr, "ghostwatch-collector: --metrics %s: not ADDRESS:PORT "
						"(e.g. 127.0.0.1:9464)\n", optarg);
				return 2;
			}
			o->metrics_addr = optarg;
			break;
		}
		case OPT_LOG_LEVEL:
			if (!gw_log_level_parse(optarg, &level))
				return cli_bad_value(name, optarg, "not one of debug, info, warn, error");
			gw_log_set_level(&o->log, level);
			break;
		case OPT_NATS_MONITOR:
			if (!nats_monitor_url_valid(optarg))
				return cli_bad_value(name, optarg, "not http://HOST:PORT");
			o->nats_monitor = optarg;
			break;
		case OPT_NATS_MONITOR_INTERVAL:
			if (!size_ok || v == 0 || v > 86400)
				return cli_bad_value(name, optarg, "not a number of seconds");
			o->nats_monitor_interval_s = v;
			break;
		case OPT_REPLICAS:
			if (!size_ok || (v != 1 && v != 3 && v != 5))
				return cli_bad_value(name, optarg, "must be 1, 3 or 5");
			o->replicas = v;
			break;
		case OPT_SILENCED_AFTER:
			if (!size_ok || v == 0 || v > 100ull * 365 * 86400)
				return cli_bad_value(name, optarg, "not a number of seconds");
			o->tamper.silenced_after_ns = v * 1000000000ull;
			break;
		case OPT_MAX_AGE:
		case OPT_DUP_WINDOW:
		case OPT_ACK_WAIT:
			if (!size_ok || v == 0 || v > 100ull * 365 * 86400)
				return cli_bad_value(name, optarg, "not a number of seconds");
			if (c == OPT_MAX_AGE)
				o->max_age_ns = v * 1000000000ll;
			else if (c == OPT_DUP_WINDOW)
				o->duplicate_window_ns = v * 1000000000ll;
			else
				o->ack_wait_ns = v * 1000000000ll;
			break;
		case OPT_MAX_DELIVER:
			if (!size_ok || v < 2 || v > 1000)
				return cli_bad_value(name, optarg, "not a count from 2 to 1000");
			o->max_deliver = v;
			break;
		case OPT_MAX_PER_HOST:
		case OPT_FETCH_MAX_BYTES:
			if (!size_ok || v == 0 || v > (1ull << 40))
				return cli_bad_value(name, optarg, "not a positive size");
			if (c == OPT_MAX_PER_HOST)
				o->max_msgs_per_host = v;
			else
				o->fetch_max_bytes = v;
			break;
		case OPT_MAX_STREAM_BYTES:
		case OPT_MAX_FILE_BYTES:
		case OPT_MAX_BATCH:
		case OPT_MAX_INFLATED:
		case OPT_MAX_EVENTS:
		case OPT_MAX_DECODE:
			if (!size_ok || v == 0 || v > (1ull << 40))
				return cli_bad_value(name, optarg, "not a positive size");
			if (c == OPT_MAX_STREAM_BYTES)
				o->max_stream_bytes = v;
			else if (c == OPT_MAX_FILE_BYTES)
				o->max_file_bytes = v;
			else if (c == OPT_MAX_BATCH && v < (1u << 31))
				o->limits.max_compressed = v;
			else if (c == OPT_MAX_INFLATED)
				o->limits.max_inflated = v;
			else if (c == OPT_MAX_EVENTS)
				o->limits.max_events = v;
			else if (c == OPT_MAX_DECODE)
				o->limits.max_decode_memory = v;
			else
				return cli_bad_value(name, optarg, "too large");
			break;
		case OPT_KEEP:
		case OPT_FETCH:
		case OPT_IDLE_EXIT:
		case OPT_STATS_INTERVAL:
			if (!size_ok || v > 1000000 || (c == OPT_FETCH && v == 0))
				return cli_bad_value(name, optarg, "not a count in range");
			if (c == OPT_KEEP)
				o->keep_files = v;
			else if (c == OPT_FETCH)
				o->fetch_batch = v;
			else if (c == OPT_IDLE_EXIT)
				o->idle_exit_s = v;
			else
				o->stats_interval_s = v;
			break;
		case 'h':
			cli_usage(stdout);
			return -1;
		default:
			cli_usage(stderr);
			return 2;
		}
		idx = -1;
	}
	if (optind < argc) {
		fprintf(stderr, "ghostwatch-collector: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!o->out_dir || !o->nats.ca_file || !o->nats.cert_file || !o->nats.key_file) {
		fprintf(stderr, "ghostwatch-collector run: --out-dir, --ca, --cert and --key are "
				"required (see --help)\n");
		return 2;
	}
	return 0;
}
