/* Unit tests for agent/config.c: defaults, a full good file, and every way a file can be wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "testing.h"

static char err[GW_CONFIG_ERR_LEN];

static struct gw_config *parse(const char *text)
{
	return gw_config_parse("t.yaml", text, strlen(text), err, sizeof(err));
}

/* Parses text that must be rejected and checks the message starts with "t.yaml:<line>: ". */
static int rejected_at(const char *text, int line, const char *needle)
{
	struct gw_config *cfg = parse(text);
	char prefix[32];

	if (cfg) {
		gw_config_free(cfg);
		printf("#   accepted: %s\n", text);
		return 0;
	}
	snprintf(prefix, sizeof(prefix), "t.yaml:%d: ", line);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, needle)) {
		printf("#   wanted \"%s...%s\", got \"%s\"\n", prefix, needle, err);
		return 0;
	}
	return 1;
}

TEST(empty_file_gives_defaults)
{
	struct gw_config *cfg = parse("");

	REQUIRE(cfg);
	CHECK(cfg->n_collector_urls == 1);
	CHECK_STR(cfg->collector_urls[0], "tls://127.0.0.1:4222");
	CHECK_STR(cfg->subject_prefix, "ghostwatch.v1.telemetry");
	CHECK(cfg->window_seconds == 10);
	CHECK(cfg->spool_max_bytes == 256ull << 20);
	CHECK(cfg->signal_process && cfg->signal_network);
	CHECK(cfg->log_level == GW_LOG_INFO);
	CHECK_STR(cfg->host_id, "");
	gw_config_free(cfg);

	cfg = parse("# only a comment\n");
	CHECK(cfg);
	gw_config_free(cfg);
}

TEST(full_file)
{
	struct gw_config *cfg = parse("collector:\n"
				      "  urls:\n"
				      "    - tls://c1.example.com:4222\n"
				      "    - nats://[::1]:4223\n"
				      "  subject_prefix: acme.telemetry\n"
				      "  publish_timeout_ms: 2000\n"
				      "  reconnect_min_ms: 100\n"
				      "  reconnect_max_ms: 10000\n"
				      "tls:\n"
				      "  cert: /etc/gw/a.crt\n"
				      "  key: /etc/gw/a.key\n"
				      "  ca: /etc/gw/ca.crt\n"
				      "  server_name: collector\n"
				      "host_id: host-01\n"
				      "spool:\n"
				      "  dir: /var/spool/gw\n"
				      "  max_bytes: 1GiB\n"
				      "  segment_bytes: 4M\n"
				      "batch:\n"
				      "  window_seconds: 5\n"
				      "  max_events: 500\n"
				      "  queue_batches: 8\n"
				      "signals: {process: true, network: no, devices: off, input: false}\n"
				      "log_level: DEBUG\n"
				      "ringbuf_bytes: 1MiB\n"
				      "stats_seconds: 30\n");

	REQUIRE(cfg);
	CHECK(cfg->n_collector_urls == 2);
	CHECK_STR(cfg->collector_urls[1], "nats://[::1]:4223");
	CHECK_STR(cfg->subject_prefix, "acme.telemetry");
	CHECK(cfg->publish_timeout_ms == 2000);
	CHECK_STR(cfg->tls_key, "/etc/gw/a.key");
	CHECK_STR(cfg->tls_server_name, "collector");
	CHECK_STR(cfg->host_id, "host-01");
	CHECK(cfg->spool_max_bytes == 1ull << 30);
	CHECK(cfg->spool_segment_bytes == 4ull << 20);
	CHECK(cfg->window_seconds == 5 && cfg->batch_max_events == 500 && cfg->queue_batches == 8);
	CHECK(cfg->signal_process && !cfg->signal_network && !cfg->signal_devices &&
	      !cfg->signal_input);
	CHECK(cfg->log_level == GW_LOG_DEBUG);
	CHECK(cfg->ringbuf_bytes == 1u << 20);
	CHECK(cfg->stats_seconds == 30);
	gw_config_free(cfg);
}

TEST(single_url_scalar)
{
	struct gw_config *cfg = parse("collector:\n  urls: tls://10.0.0.1:4222\n");

	REQUIRE(cfg);
	CHECK(cfg->n_collector_urls == 1);
	CHECK_STR(cfg->collector_urls[0], "tls://10.0.0.1:4222");
	gw_config_free(cfg);
}

TEST(bad_files_name_the_line_and_reason)
{
	CHECK(rejected_at("log_level: info\nbogus: 1\n", 2, "unknown key \"bogus\""));
	CHECK(rejected_at("spool:\n  dir: /x\n  colour: red\n", 3, "unknown key \"spool.colour\""));
	CHECK(rejected_at("batch:\n  window_seconds: ten\n", 2, "expected a non-negative integer"));
	CHECK(rejected_at("batch:\n  window_seconds: 0\n", 2, "out of range [1, 3600]"));
	CHECK(rejected_at("batch:\n  window_seconds: -5\n", 2, "batch.window_seconds"));
	CHECK(rejected_at("batch:\n  window_seconds: \"5\"\n", 2, "quoted string"));
	CHECK(rejected_at("batch:\n  window_seconds: 99999999999999999999999\n", 2, "expected"));
	CHECK(rejected_at("batch:\n  window_seconds: [1, 2]\n", 2, "expected a scalar, got a list"));
	CHECK(rejected_at("signals:\n  process: maybe\n", 2, "expected true or false"));
	CHECK(rejected_at("log_level: loud\n", 1, "expected error, warn, info or debug"));
	CHECK(rejected_at("tls:\n  cert: relative/a.crt\n", 2, "absolute path"));
	CHECK(rejected_at("tls:\n  cert: \"\"\n", 2, "must not be empty"));
	CHECK(rejected_at("spool: /var/spool\n", 1, "spool: expected a mapping, got a scalar"));
	CHECK(rejected_at("spool:\n  max_bytes: 12 parsecs\n", 2, "size like"));
	CHECK(rejected_at("spool:\n  max_bytes: 1KiB\n", 2, "out of range"));
	CHECK(rejected_at("spool:\n  max_bytes: 99999999999T\n", 2, "size like"));
	CHECK(rejected_at("ringbuf_bytes: 12345\n", 1, "power of two"));
	CHECK(rejected_at("collector:\n  urls: http://x:80\n", 2, "tls:// or nats://"));
	CHECK(rejected_at("collector:\n  urls:\n    - tls://a:1\n    - tls://b\n", 4, "host and a port"));
	CHECK(rejected_at("collector:\n  urls:\n    - tls://a:99999\n", 3, "port must be"));
	CHECK(rejected_at("collector:\n  urls:\n    - tls://u:p@a:1\n", 3, "no credentials"));
	CHECK(rejected_at("collector:\n  urls: []\n", 2, "at least one URL"));
	CHECK(rejected_at("collector:\n  urls:\n    - [tls://a:1]\n", 3, "must be a scalar"));
	CHECK(rejected_at("collector:\n  subject_prefix: a.*.b\n", 2, "dot-separated"));
	CHECK(rejected_at("collector:\n  subject_prefix: a..b\n", 2, "dot-separated"));
	CHECK(rejected_at("host_id: my.host\n", 1, "host_id"));
	CHECK(rejected_at("log_level: info\nlog_level: debug\n", 2, "duplicate key (first on line 1)"));
	CHECK(rejected_at("- a\n- b\n", 1, "top level must be a mapping"));
	CHECK(rejected_at("batch:\n  window_seconds: 5\n   bad: indent\n", 3, "YAML syntax"));
	CHECK(rejected_at("log_level: [\n", 2, "YAML syntax"));
	CHECK(rejected_at("log_level: info\n---\nlog_level: debug\n", 2, "one YAML document"));
	CHECK(rejected_at("collector:\n  reconnect_min_ms: 5000\n  reconnect_max_ms: 1000\n", 2,
			  "above reconnect_max_ms"));
	CHECK(rejected_at("spool:\n  max_bytes: 8MiB\n  segment_bytes: 8MiB\n", 3, "at most half"));
	CHECK(rejected_at("? [a, b]\n: 1\n", 1, "keys must be plain strings"));
}

TEST(nul_byte_in_value_is_rejected)
{
	static const char text[] = "host_id: \"a\\0b\"\n";

	CHECK(rejected_at(text, 1, "NUL byte"));
}

TEST(load_from_file_and_missing_file)
{
	char path[] = "/tmp/gw_test_config_XXXXXX";
	int fd = mkstemp(path);
	struct gw_config *cfg;
	FILE *f;

	REQUIRE(fd >= 0);
	f = fdopen(fd, "w");
	fputs("batch:\n  window_seconds: 3\n", f);
	fclose(f);
	cfg = gw_config_load(path, err, sizeof(err));
	REQUIRE(cfg);
	CHECK(cfg->window_seconds == 3);
	CHECK_STR(cfg->path, path);
	gw_config_free(cfg);
	unlink(path);

	cfg = gw_config_load("/nonexistent/ghostwatch.yaml", err, sizeof(err));
	CHECK(!cfg);
	CHECK(strstr(err, "/nonexistent/ghostwatch.yaml:0: cannot open") == err);
}

TEST(employee_section)
{
	struct gw_config *cfg = parse("employee:\n"
				      "  id: e-1042\n"
				      "  timezone: America/New_York\n"
				      "  hours: \"09:00-18:00\"\n"
				      "  days: mon-fri\n"
				      "  offboarding: true\n");

	REQUIRE(cfg);
	CHECK_STR(cfg->employee_id, "e-1042");
	CHECK_STR(cfg->employee_timezone, "America/New_York");
	CHECK_STR(cfg->employee_hours, "09:00-18:00");
	CHECK_STR(cfg->employee_days, "mon-fri");
	CHECK(cfg->offboarding);
	gw_config_free(cfg);

	cfg = parse("");
	REQUIRE(cfg);
	CHECK_STR(cfg->employee_id, "");
	CHECK(!cfg->offboarding);
	gw_config_free(cfg);
	/* the id names the employee in NATS-keyed fleet state: a subject token */
	CHECK(rejected_at("employee:\n  id: a.b\n", 2, "employee.id"));
}

TEST(exfil_section)
{
	struct gw_config *cfg = parse("exfil:\n"
				      "  upload_bytes: 50MiB\n"
				      "  upload_window_seconds: 300\n"
				      "  removable_bytes: 0\n"
				      "  allowed_remotes: [git.company.example, 10.0.0.0/8, \"2001:db8::/32\","
				      " 192.0.2.7]\n");

	REQUIRE(cfg);
	CHECK(cfg->exfil_upload_bytes == 50ull << 20);
	CHECK(cfg->exfil_upload_window_seconds == 300);
	CHECK(cfg->exfil_removable_bytes == 0);
	CHECK(cfg->exfil_removable_window_seconds == 600);
	REQUIRE(cfg->n_exfil_allowed_remotes == 4);
	CHECK_STR(cfg->exfil_allowed_remotes[0], "git.company.example");
	CHECK_STR(cfg->exfil_allowed_remotes[2], "2001:db8::/32");
	gw_config_free(cfg);

	cfg = parse("");
	REQUIRE(cfg);
	CHECK(cfg->exfil_upload_bytes == 100ull << 20 && cfg->exfil_upload_window_seconds == 600);
	CHECK(cfg->n_exfil_allowed_remotes == 0);
	gw_config_free(cfg);
	CHECK(rejected_at("exfil:\n  allowed_remotes: [ok.example, 10.0.0.0/33]\n", 2,
			  "\"10.0.0.0/33\" has a bad prefix length"));
	CHECK(rejected_at("exfil:\n  allowed_remotes: [\"https://x.example/a\"]\n", 2,
			  "neither a host name"));
	CHECK(rejected_at("exfil:\n  allowed_remotes: x.example\n", 2, "expected a list"));
	CHECK(rejected_at("exfil:\n  upload_window_seconds: 1\n", 2, "out of range"));
}

TEST(latency_section)
{
	struct gw_config *cfg = parse("latency:\n"
				      "  window_s: 30\n"
				      "  far_rtt_ms: 150\n"
				      "  no_input_minutes: 0\n");

	REQUIRE(cfg);
	CHECK(cfg->latency_window_s == 30);
	CHECK(cfg->latency_far_rtt_ms == 150);
	CHECK(cfg->latency_no_input_minutes == 0);
	gw_config_free(cfg);

	cfg = parse("");
	REQUIRE(cfg);
	CHECK(cfg->latency_window_s == 60);
	CHECK(cfg->latency_far_rtt_ms == 100);
	CHECK(cfg->latency_no_input_minutes == 10);
	gw_config_free(cfg);
	CHECK(rejected_at("latency:\n  window_s: 0\n", 2, "latency.window_s"));
	CHECK(rejected_at("latency:\n  far_rtt_ms: 99999999\n", 2, "latency.far_rtt_ms"));
	CHECK(rejected_at("latency:\n  far_ms: 100\n", 2, "far_ms"));
}

TEST(transport_change_detection)
{
	struct gw_config *a = parse("batch:\n  window_seconds: 5\n");
	struct gw_config *b = parse("batch:\n  window_seconds: 9\nlog_level: debug\n");
	struct gw_config *c = parse("collector:\n  urls: tls://10.1.1.1:4222\n");
	struct gw_config *d = parse("spool:\n  dir: /srv/gw-spool\n");

	REQUIRE(a && b && c && d);
	CHECK(!gw_config_transport_changed(a, b));
	CHECK(gw_config_transport_changed(a, c));
	CHECK(gw_config_transport_changed(a, d));
	gw_config_free(d);
	gw_config_free(a);
	gw_config_free(b);
	gw_config_free(c);
}

TEST(place_section)
{
	struct gw_config *cfg = parse("");

	REQUIRE(cfg);
	CHECK_STR(cfg->place_mac_key_file, "/etc/ghostwatch/place.key");
	CHECK(cfg->place_mdns);
	gw_config_free(cfg);
	cfg = parse("place:\n  mac_key_file: /srv/fleet.key\n  mdns: false\n");
	REQUIRE(cfg);
	CHECK_STR(cfg->place_mac_key_file, "/srv/fleet.key");
	CHECK(!cfg->place_mdns);
	gw_config_free(cfg);
	CHECK(rejected_at("place:\n  mac_key_file: fleet.key\n", 2, "place.mac_key_file"));
	CHECK(rejected_at("place:\n  mdns: maybe\n", 2, "place.mdns"));
}

TEST(network_proto_id)
{
	struct gw_config *cfg = parse("");

	REQUIRE(cfg);
	CHECK(cfg->proto_id);
	gw_config_free(cfg);
	cfg = parse("network:\n  proto_id: false\n");
	REQUIRE(cfg);
	CHECK(!cfg->proto_id);
	gw_config_free(cfg);
	CHECK(rejected_at("network:\n  proto_id: maybe\n", 2, "network.proto_id"));
}

TEST(network_dns_max_ttl)
{
	struct gw_config *cfg = parse("");

	REQUIRE(cfg);
	CHECK(cfg->dns_max_ttl_seconds == 3600);
	gw_config_free(cfg);
	cfg = parse("network:\n  dns_max_ttl_seconds: 600\n");
	REQUIRE(cfg);
	CHECK(cfg->dns_max_ttl_seconds == 600);
	gw_config_free(cfg);
	CHECK(rejected_at("network:\n  dns_max_ttl_seconds: 0\n", 2, "network.dns_max_ttl_seconds"));
}

TEST(limits_section)
{
	struct gw_config *cfg = parse("");

	REQUIRE(cfg);
	CHECK(cfg->limits_uid_rate == 2000 && cfg->limits_uid_burst == 1000);
	CHECK(cfg->limits_uid_gate_percent == 25 && cfg->limits_reserved_percent == 25);
	CHECK(cfg->limits_proc_table_bytes == 16ull << 20);
	gw_config_free(cfg);
	cfg = parse("limits:\n"
		    "  uid_rate: 0\n"
		    "  uid_burst: 50\n"
		    "  uid_gate_percent: 0\n"
		    "  reserved_percent: 50\n"
		    "  proc_table_bytes: 64MiB\n");
	REQUIRE(cfg);
	CHECK(cfg->limits_uid_rate == 0 && cfg->limits_uid_burst == 50);
	CHECK(cfg->limits_uid_gate_percent == 0 && cfg->limits_reserved_percent == 50);
	CHECK(cfg->limits_proc_table_bytes == 64ull << 20);
	gw_config_free(cfg);
	CHECK(rejected_at("limits:\n  uid_burst: 0\n", 2, "limits.uid_burst"));
	CHECK(rejected_at("limits:\n  reserved_percent: 90\n", 2, "limits.reserved_percent"));
	CHECK(rejected_at("limits:\n  uid_gate_percent: 100\n", 2, "limits.uid_gate_percent"));
	CHECK(rejected_at("limits:\n  proc_table_bytes: 1KiB\n", 2, "limits.proc_table_bytes"));
}

TEST(privileges_keep)
{
	struct gw_config *cfg = parse("");

	REQUIRE(cfg);
	CHECK(!cfg->keep_privileges);
	gw_config_free(cfg);
	cfg = parse("privileges:\n  keep: true\n");
	REQUIRE(cfg);
	CHECK(cfg->keep_privileges);
	gw_config_free(cfg);
	CHECK(rejected_at("privileges:\n  keep: sometimes\n", 2, "privileges.keep"));
}

int main(void)
{
	RUN(empty_file_gives_defaults);
	RUN(full_file);
	RUN(single_url_scalar);
	RUN(bad_files_name_the_line_and_reason);
	RUN(nul_byte_in_value_is_rejected);
	RUN(load_from_file_and_missing_file);
	RUN(employee_section);
	RUN(latency_section);
	RUN(transport_change_detection);
	RUN(exfil_section);
	RUN(place_section);
	RUN(network_proto_id);
	RUN(network_dns_max_ttl);
	RUN(limits_section);
	RUN(privileges_keep);
	return test_summary();
}
