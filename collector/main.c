/*
 * ghostwatch-collector: the fleet's central collector. `run` consumes agent batches from NATS
 * JetStream and writes NDJSON plus a fleet view; `report` prints the fleet view.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "consumer.h"
#include "fleet_html.h"
#include "fleet_kv.h"
#include "fleet_report.h"
#include "read.h"
#include "roster.h"

#ifndef GW_VERSION
#define GW_VERSION "dev"
#endif

/* Reads the whole bucket into v: 0, or an exit code. */
static int report_load(struct fleet_view *v, const struct nats_conn_opts *no, const char *bucket,
		       struct gw_log *log)
{
	natsConnection *nc = NULL;
	kvStore *kv = NULL;
	jsCtx *js = NULL;
	uint64_t skipped = 0;
	jsOptions jo;
	char err[512];
	int rc = 1;

	if (nats_conn_open(&nc, no, err, sizeof(err)) != NATS_OK) {
		gw_err(log, "nats %s: %s", no->servers, err);
		return 1;
	}
	jsOptions_Init(&jo);
	jo.Wait = 5000;
	if (natsConnection_JetStream(&js, nc, &jo) != NATS_OK)
		gw_err(log, "JetStream: %s", nats_GetLastError(NULL));
	else if (fleet_kv_open(&kv, js, bucket, 1, false, log) == 0)
		/* a cluster that just lost a node may time a watch out: read it all again */
		for (int attempt = 0; rc && attempt < 3; attempt++) {
			fleet_view_free(v);
			rc = fleet_kv_load(kv, v, &skipped, log) ? 1 : 0;
		}
	if (skipped)
		gw_warn(log, "%" PRIu64 " values in %s are not a collector's: skipped", skipped,
			bucket);
	kvStore_Destroy(kv);
	jsCtx_Destroy(js);
	natsConnection_Close(nc);
	natsConnection_Destroy(nc);
	return rc;
}

/* The page written beside FILE and renamed over it, so a reader never sees half of it. */
static int write_html(struct fleet_view *v, const char *path, uint64_t now_ns,
		      const struct roster_opts *ro)
{
	char tmp[4096];
	FILE *f;
	int rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return 1;
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "ghostwatch-collector report: %s: %s\n", tmp, strerror(errno));
		return 1;
	}
	rc = fleet_html_write(v, f, now_ns, ro);
	if (fclose(f) || rc || rename(tmp, path)) {
		fprintf(stderr, "ghostwatch-collector report: writing %s: %s\n", path,
			strerror(errno));
		unlink(tmp);
		return 1;
	}
	return 0;
}

/* `report --json`: the fleet view's object with the roster as one more member. */
static void report_json(struct fleet_view *v, uint64_t now_ns, const struct roster_opts *ro)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	if (!m)
		return;
	fleet_report_json(v, m);
	fclose(m);
	while (len && text[len - 1] == '\n')
		len--;
	if (len && text[len - 1] == '}')
		len--;
	fwrite(text, 1, len, stdout);
	fputc(',', stdout);
	roster_report_json(v, stdout, now_ns, ro);
	fputs("}\n", stdout);
	free(text);
}

static int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "ca", required_argument, NULL, OPT_CA },
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "bucket", required_argument, NULL, OPT_BUCKET },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "json", no_argument, NULL, 'j' },
		{ "html", required_argument, NULL, 'H' },
		{ "silent-days", required_argument, NULL, OPT_SILENT_DAYS },
		{ "enrolled", required_argument, NULL, OPT_ENROLLED },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *html = NULL;
	struct collector_opts co;
	struct roster_opts ro = { .silent_days = ROSTER_SILENT_DAYS };
	struct fleet_view v;
	enum gw_log_level level;
	struct timespec ts;
	uint64_t now_ns;
	bool json = false;
	int c, rc;

	collector_opts_default(&co);
	co.nats.name = "ghostwatch-collector report";
	co.nats.retry_forever = false;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SERVER: co.nats.servers = optarg; break;
		case OPT_CA: co.nats.ca_file = optarg; break;
		case OPT_CERT: co.nats.cert_file = optarg; break;
		case OPT_KEY: co.nats.key_file = optarg; break;
		case OPT_BUCKET:
			if (!cli_bucket_name_valid(optarg))
				return cli_bad_value("bucket", optarg, "not a bucket name");
			co.bucket = optarg;
			break;
		case OPT_LOG_LEVEL:
			if (!gw_log_level_parse(optarg, &level))
				return cli_bad_value("log-level", optarg,
						 "not one of debug, info, warn, error");
			gw_log_set_level(&co.log, level);
			break;
		case 'j': json = true; break;
		case 'H': html = optarg; break;
		case OPT_SILENT_DAYS: {
			char *end;
			unsigned long d = strtoul(optarg, &end, 10);

			if (*end || !d || d > 3650)
				return cli_bad_value("silent-days", optarg, "not a number of days (1-3650)");
			ro.silent_days = (uint32_t)d;
			break;
		}
		case OPT_ENROLLED: ro.enrolled_dir = optarg; break;
		case 'h':
			cli_usage(stdout);
			return 0;
		default:
			cli_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ghostwatch-collector report: unexpected argument '%s' (the fleet "
				"view is in the bucket now: give --ca, --cert, --key)\n", argv[optind]);
		return 2;
	}
	if (!co.nats.ca_file || !co.nats.cert_file || !co.nats.key_file) {
		fprintf(stderr, "ghostwatch-collector report: --ca, --cert and --key are required\n");
		return 2;
	}
	fleet_view_init(&v);
	rc = report_load(&v, &co.nats, co.bucket, &co.log);
	if (!rc) {
		clock_gettime(CLOCK_REALTIME, &ts);
		now_ns = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
		if (html) {
			rc = write_html(&v, html, now_ns, &ro);
		} else if (json) {
			report_json(&v, now_ns, &ro);
		} else {
			fleet_report_table(&v, stdout, now_ns);
			roster_report_table(&v, stdout, now_ns, &ro);
		}
		if (fflush(stdout))
			rc = 1;
	}
	fleet_view_free(&v);
	nats_Close();
	return rc;
}

static int cmd_read(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "ca", required_argument, NULL, OPT_CA },
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "stream", required_argument, NULL, OPT_STREAM },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "host", required_argument, NULL, 'H' },
		{ "since", required_argument, NULL, 'S' },
		{ "seq", required_argument, NULL, 'q' },
		{ "limit", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct collector_opts co;
	struct read_opts o = { 0 };
	enum gw_log_level level;
	struct timespec ts;
	uint64_t v;
	int c, rc;

	collector_opts_default(&co);
	o.nats = co.nats;
	o.nats.name = "ghostwatch-collector read";
	o.nats.retry_forever = false;
	o.stream = co.stream;
	o.limits = co.limits;
	o.log = co.log;
	clock_gettime(CLOCK_REALTIME, &ts);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SERVER: o.nats.servers = optarg; break;
		case OPT_CA: o.nats.ca_file = optarg; break;
		case OPT_CERT: o.nats.cert_file = optarg; break;
		case OPT_KEY: o.nats.key_file = optarg; break;
		case OPT_STREAM: o.stream = optarg; break;
		case OPT_LOG_LEVEL:
			if (!gw_log_level_parse(optarg, &level))
				return cli_bad_value("log-level", optarg,
						 "not one of debug, info, warn, error");
			gw_log_set_level(&o.log, level);
			break;
		case 'H':
			if (!host_id_valid(optarg, strlen(optarg)))
				return cli_bad_value("host", optarg, "not a host id (A-Z a-z 0-9 - _)");
			o.host = optarg;
			break;
		case 'S':
			if (!read_parse_since(optarg, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
					      &o.since_unix_ns))
				return cli_bad_value("since", optarg, "not 2026-12-07T04:00:00Z "
						 "nor an age like 90s, 30m, 2h, 7d");
			break;
		case 'q':
		case 'l':
			if (!cli_parse_size(optarg, &v) || v == 0)
				return cli_bad_value(c == 'q' ? "seq" : "limit", optarg,
						 "not a positive number");
			*(c == 'q' ? &o.from_seq : &o.limit) = v;
			break;
		case 'h':
			cli_usage(stdout);
			return 0;
		default:
			cli_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ghostwatch-collector read: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	if (!o.nats.ca_file || !o.nats.cert_file || !o.nats.key_file) {
		fprintf(stderr, "ghostwatch-collector read: --ca, --cert and --key are required\n");
		return 2;
	}
	if (o.from_seq && o.since_unix_ns) {
		fprintf(stderr, "ghostwatch-collector read: --since or --seq, not both\n");
		return 2;
	}
	rc = collector_read(&o, stdout);
	nats_Close();
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		cli_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cli_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("ghostwatch-collector %s\n", GW_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "report") == 0)
		return cmd_report(argc - 1, argv + 1);
	if (strcmp(argv[1], "read") == 0)
		return cmd_read(argc - 1, argv + 1);
	if (strcmp(argv[1], "run") == 0) {
		struct collector_opts o;
		int rc;

		collector_opts_default(&o);
		rc = cli_parse_run(argc - 1, argv + 1, &o);
		if (rc == 0) {
			rc = collector_run(&o);
			nats_Close();	/* the library's threads and globals: a clean exit under ASan */
		}
		else if (rc < 0)
			rc = 0;
		return rc;
	}
	fprintf(stderr, "ghostwatch-collector: unknown command '%s'\n", argv[1]);
	cli_usage(stderr);
	return 2;
}
