/*
 * The ops endpoint (agent/ops/): the Prometheus text of a known snapshot, exactly; names and
 * sample lines valid per the text format; the hooks verdict; the HTTP side over a real unix
 * socket; `ghostwatch status`'s reading of the text; the endpoint addresses and the config key;
 * the ages of unacknowledged batches (agent/fleet/unacked_ages.c) and the forwarder's stats for the
 * event loop, which must not wait for the spool lock.
 */
#include "testing.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/config.h"
#include "core/listen_addr.h"
#include "fleet/forwarder_internal.h"
#include "fleet/unacked_ages.h"
#include "ops/ops_http.h"
#include "ops/ops_render.h"
#include "ops/ops_status.h"

#define COUNTER(name, value) \
	{ PROTOBUF_C_MESSAGE_INIT(&ghostwatch__v1__counter__descriptor), (name), (value) }
#define HOOK(signal, hook, error)                                                          \
	{ PROTOBUF_C_MESSAGE_INIT(&ghostwatch__v1__hook_status__descriptor), (signal), (hook),   \
	  (error) }

static Ghostwatch__V1__Counter c_exec = COUNTER("exec", 42);
static Ghostwatch__V1__Counter c_drop = COUNTER("dns", 3);
static Ghostwatch__V1__Counter c_evict = COUNTER("proc_live", 0);
static Ghostwatch__V1__HookStatus h_exec = HOOK("exec", "tp_btf/sched_process_exec", "");
static Ghostwatch__V1__HookStatus h_exit = HOOK("exit", "none", "refused");
static Ghostwatch__V1__HookStatus h_exit_live = HOOK("exit", "raw_tp/sched_process_exit", "");
static Ghostwatch__V1__HookStatus h_odd = HOOK("dns", "a\"b\\c", "");

static void known_stats(Ghostwatch__V1__AgentStats *st, Ghostwatch__V1__Counter **ev,
			Ghostwatch__V1__Counter **dr, Ghostwatch__V1__Counter **evi,
			Ghostwatch__V1__HookStatus **hooks)
{
	ghostwatch__v1__agent_stats__init(st);
	ev[0] = &c_exec;
	dr[0] = &c_drop;
	evi[0] = &c_evict;
	hooks[0] = &h_exec;
	hooks[1] = &h_exit;
	hooks[2] = &h_odd;
	st->events = ev;
	st->n_events = 1;
	st->drops = dr;
	st->n_drops = 1;
	st->evictions = evi;
	st->n_evictions = 1;
	st->hooks = hooks;
	st->n_hooks = 3;
	st->bpf_programs = 7;
	st->process_table_size = 120;
	st->uptime_ns = 61500000000ull;
}

static char *render_text(const struct ops_snapshot *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (!out)
		return NULL;
	ops_render(out, s);
	fclose(out);
	return text;
}

static const char expected[] =
	"# HELP ghostwatch_agent_info The agent's version, always 1.\n"
	"# TYPE ghostwatch_agent_info gauge\n"
	"ghostwatch_agent_info{version=\"1.2.3\"} 1\n"
	"# HELP ghostwatch_agent_events_total Records received per type and the domains' event "
	"counters (AgentStats.events).\n"
	"# TYPE ghostwatch_agent_events_total counter\n"
	"ghostwatch_agent_events_total{kind=\"exec\"} 42\n"
	"# HELP ghostwatch_agent_drops_total Records and events lost, per category "
	"(AgentStats.drops).\n"
	"# TYPE ghostwatch_agent_drops_total counter\n"
	"ghostwatch_agent_drops_total{category=\"dns\"} 3\n"
	"# HELP ghostwatch_agent_evictions_total Table entries evicted to stay within bounds "
	"(AgentStats.evictions).\n"
	"# TYPE ghostwatch_agent_evictions_total counter\n"
	"ghostwatch_agent_evictions_total{category=\"proc_live\"} 0\n"
	"# HELP ghostwatch_agent_hook_live 1 when the signal's hook is attached, 0 when none loads "
	"here or it is off.\n"
	"# TYPE ghostwatch_agent_hook_live gauge\n"
	"ghostwatch_agent_hook_live{signal=\"exec\",hook=\"tp_btf/sched_process_exec\"} 1\n"
	"ghostwatch_agent_hook_live{signal=\"exit\",hook=\"none\"} 0\n"
	"ghostwatch_agent_hook_live{signal=\"dns\",hook=\"a\\\"b\\\\c\"} 1\n"
	"# HELP ghostwatch_agent_bpf_programs BPF programs loaded.\n"
	"# TYPE ghostwatch_agent_bpf_programs gauge\n"
	"ghostwatch_agent_bpf_programs 7\n"
	"# HELP ghostwatch_agent_process_table_size Processes in the process table.\n"
	"# TYPE ghostwatch_agent_process_table_size gauge\n"
	"ghostwatch_agent_process_table_size 120\n"
	"# HELP ghostwatch_agent_uptime_seconds Seconds since the agent started.\n"
	"# TYPE ghostwatch_agent_uptime_seconds gauge\n"
	"ghostwatch_agent_uptime_seconds 61.500\n"
	"# HELP ghostwatch_agent_emitted_events_total Events the agent emitted, per kind.\n"
	"# TYPE ghostwatch_agent_emitted_events_total counter\n"
	"ghostwatch_agent_emitted_events_total{kind=\"exec\"} 40\n"
	"ghostwatch_agent_emitted_events_total{kind=\"finding\"} 2\n"
	"# HELP ghostwatch_agent_findings_total Findings raised, per category.\n"
	"# TYPE ghostwatch_agent_findings_total counter\n"
	"ghostwatch_agent_findings_total{category=\"rmm\"} 2\n"
	"ghostwatch_agent_findings_total{category=\"tunnel\"} 0\n"
	"ghostwatch_agent_findings_total{category=\"vpn\"} 0\n"
	"ghostwatch_agent_findings_total{category=\"ipkvm\"} 0\n"
	"ghostwatch_agent_findings_total{category=\"jiggler\"} 0\n"
	"ghostwatch_agent_findings_total{category=\"behaviour\"} 0\n"
	"ghostwatch_agent_findings_total{category=\"exfil\"} 0\n"
	"ghostwatch_agent_findings_total{category=\"tamper\"} 0\n"
	"ghostwatch_agent_findings_total{category=\"combination\"} 0\n"
	"ghostwatch_agent_findings_total{category=\"other\"} 1\n"
	"# HELP ghostwatch_agent_fraud_score The host's fraud score (0-100).\n"
	"# TYPE ghostwatch_agent_fraud_score gauge\n"
	"ghostwatch_agent_fraud_score 35\n"
	"# HELP ghostwatch_agent_collector_connected 1 while connected to the collector's NATS.\n"
	"# TYPE ghostwatch_agent_collector_connected gauge\n"
	"ghostwatch_agent_collector_connected 1\n"
	"# HELP ghostwatch_agent_spool_backlog_bytes Bytes of the spool's segments on disk.\n"
	"# TYPE ghostwatch_agent_spool_backlog_bytes gauge\n"
	"ghostwatch_agent_spool_backlog_bytes 4096\n"
	"# HELP ghostwatch_agent_spool_backlog_batches Batches in the spool not yet acknowledged.\n"
	"# TYPE ghostwatch_agent_spool_backlog_batches gauge\n"
	"ghostwatch_agent_spool_backlog_batches 3\n"
	"# HELP ghostwatch_agent_spool_backlog_events Events in those batches.\n"
	"# TYPE ghostwatch_agent_spool_backlog_events gauge\n"
	"ghostwatch_agent_spool_backlog_events 300\n"
	"# HELP ghostwatch_agent_spool_oldest_unacked_age_seconds Seconds since the oldest "
	"unacknowledged batch was spooled (0: none; batches an earlier run left count from this "
	"run's start).\n"
	"# TYPE ghostwatch_agent_spool_oldest_unacked_age_seconds gauge\n"
	"ghostwatch_agent_spool_oldest_unacked_age_seconds 12.250\n"
	"# HELP ghostwatch_agent_last_ack_timestamp_seconds Unix time of the collector's last "
	"acknowledgement (0: none yet).\n"
	"# TYPE ghostwatch_agent_last_ack_timestamp_seconds gauge\n"
	"ghostwatch_agent_last_ack_timestamp_seconds 1700000095.000\n"
	"# HELP ghostwatch_agent_reconnects_total Reconnections to the collector.\n"
	"# TYPE ghostwatch_agent_reconnects_total counter\n"
	"ghostwatch_agent_reconnects_total 2\n"
	"# HELP ghostwatch_agent_published_batches_total Batches the collector acknowledged.\n"
	"# TYPE ghostwatch_agent_published_batches_total counter\n"
	"ghostwatch_agent_published_batches_total 17\n"
	"# HELP ghostwatch_agent_publish_errors_total Publishes that failed (retried).\n"
	"# TYPE ghostwatch_agent_publish_errors_total counter\n"
	"ghostwatch_agent_publish_errors_total 1\n"
	"# HELP ghostwatch_agent_queue_dropped_batches_total Batches dropped because the spool "
	"writer fell behind.\n"
	"# TYPE ghostwatch_agent_queue_dropped_batches_total counter\n"
	"ghostwatch_agent_queue_dropped_batches_total 0\n"
	"# HELP ghostwatch_agent_spool_dropped_batches_total Unsent batches dropped by the spool's "
	"size cap or lost to corruption.\n"
	"# TYPE ghostwatch_agent_spool_dropped_batches_total counter\n"
	"ghostwatch_agent_spool_dropped_batches_total 5\n";

/* The known snapshot; st and its lists must outlive s. */
static void known_snapshot(struct ops_snapshot *s, Ghostwatch__V1__AgentStats *st,
			   struct gw_transport_stats *t)
{
	memset(s, 0, sizeof(*s));
	s->version = "1.2.3";
	s->now_ns = 1700000100000000000ull;
	s->stats = st;
	s->has_score = true;
	s->score = 35;
	s->findings[ops_category_of("rmm")] = 2;
	s->findings[ops_category_of("something new")] = 1;
	s->emitted[GHOSTWATCH__V1__EVENT__KIND_EXEC] = 40;
	s->emitted[GHOSTWATCH__V1__EVENT__KIND_FINDING] = 2;
	*t = (struct gw_transport_stats){
		.connected = true, .spool_bytes = 4096, .spool_batches = 3, .spool_events = 300,
		.oldest_unacked_ns = 1700000087750000000ull, .last_ack_ns = 1700000095000000000ull,
		.reconnects = 2, .published = 17, .publish_errors = 1, .spool_dropped_batches = 5,
	};
	s->transport = t;
}

TEST(render_known_snapshot_exactly)
{
	Ghostwatch__V1__Counter *ev[1], *dr[1], *evi[1];
	Ghostwatch__V1__HookStatus *hooks[3];
	Ghostwatch__V1__AgentStats st;
	struct gw_transport_stats t;
	struct ops_snapshot s;
	char *text;

	known_stats(&st, ev, dr, evi, hooks);
	known_snapshot(&s, &st, &t);
	text = render_text(&s);
	REQUIRE(text);
	CHECK_STR(text, expected);
	free(text);
}

static bool name_char(char c, bool first)
{
	return isalpha((unsigned char)c) || c == '_' || c == ':' ||
	       (!first && isdigit((unsigned char)c));
}

/* Length of a metric name at p (0: not one). */
static size_t metric_name(const char *p)
{
	size_t n = 0;

	while (name_char(p[n], n == 0))
		n++;
	return n;
}

/*
 * One line of the text format: "# HELP name text", "# TYPE name counter|gauge", or
 * name[{label="value",...}] float. Every sample's family must have had HELP and TYPE before.
 */
static bool valid_line(const char *l, char *family, size_t family_len)
{
	size_t n;
	char *end;

	if (!strncmp(l, "# HELP ", 7) || !strncmp(l, "# TYPE ", 7)) {
		bool type = l[2] == 'T';

		n = metric_name(l + 7);
		if (!n || l[7 + n] != ' ' || n >= family_len)
			return false;
		if (type && strcmp(l + 8 + n, "counter") && strcmp(l + 8 + n, "gauge"))
			return false;
		if (!type) {
			memcpy(family, l + 7, n);
			family[n] = '\0';
		}
		return !type || !strncmp(family, l + 7, n);
	}
	n = metric_name(l);
	if (!n || strncmp(l, family, strlen(family)) || n != strlen(family))
		return false;
	l += n;
	if (*l == '{') {
		do {
			l++;
			n = metric_name(l);
			if (!n || isdigit((unsigned char)*l) || l[n] != '=' || l[n + 1] != '"')
				return false;
			for (l += n + 2; *l != '"'; l++) {
				if (!*l || *l == '\n')
					return false;
				if (*l == '\\' && !strchr("\\\"n", *++l))
					return false;
			}
			l++;
		} while (*l == ',');
		if (*l++ != '}')
			return false;
	}
	if (*l++ != ' ')
		return false;
	errno = 0;
	strtod(l, &end);
	return end != l && !*end && !errno;
}

TEST(render_lines_are_valid_prometheus_text)
{
	Ghostwatch__V1__Counter *ev[1], *dr[1], *evi[1];
	Ghostwatch__V1__HookStatus *hooks[3];
	Ghostwatch__V1__AgentStats st;
	struct gw_transport_stats t;
	struct ops_snapshot s;
	char family[128] = "", *text, *save = NULL;
	int lines = 0;

	known_stats(&st, ev, dr, evi, hooks);
	known_snapshot(&s, &st, &t);
	s.transport = NULL; /* debug: no transport families */
	text = render_text(&s);
	REQUIRE(text);
	CHECK(text[strlen(text) - 1] == '\n');
	CHECK(!strstr(text, "spool_"));
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save), lines++)
		if (!valid_line(l, family, sizeof(family))) {
			printf("#   invalid line: %s\n", l);
			CHECK(0);
		}
	CHECK(lines > 30);
	free(text);
	/* the checker itself refuses what the format does not allow */
	strcpy(family, "ghostwatch_agent_x");
	CHECK(!valid_line("ghostwatch_agent_x{a=\"b\"} x", family, sizeof(family)));
	CHECK(!valid_line("ghostwatch_agent_x{1a=\"b\"} 1", family, sizeof(family)));
	CHECK(!valid_line("ghostwatch_agent_y 1", family, sizeof(family)));
	CHECK(!valid_line("ghostwatch_agent_x{a=\"b\\q\"} 1", family, sizeof(family)));
	CHECK(valid_line("ghostwatch_agent_x{a=\"b\",c=\"\"} 1.5", family, sizeof(family)));
}

TEST(hooks_verdict_names_the_missing_required_hooks)
{
	Ghostwatch__V1__Counter *ev[1], *dr[1], *evi[1];
	Ghostwatch__V1__HookStatus *hooks[3];
	Ghostwatch__V1__AgentStats st;
	char why[128];

	known_stats(&st, ev, dr, evi, hooks);
	ops_hooks_verdict(&st, why, sizeof(why));
	CHECK_STR(why, "hooks not attached: exit");
	st.n_hooks = 0;
	ops_hooks_verdict(&st, why, sizeof(why));
	CHECK_STR(why, "hooks not attached: exec, exit");
	hooks[1] = &h_exit_live;
	st.n_hooks = 3;
	ops_hooks_verdict(&st, why, sizeof(why));
	CHECK_STR(why, "");
	CHECK(!ops_hook_live("off"));
	CHECK(!ops_hook_live(""));
	CHECK(ops_hook_live("uevent"));
}

/* "STATUS\r\n...\r\n\r\nBODY" of GET path at the socket. */
static int get(const struct listen_addr *la, const char *path, char *buf, size_t len)
{
	int fd = listen_addr_connect(la, 2000), status = -1;
	char req[128];
	size_t got = 0;
	ssize_t n;

	if (fd < 0)
		return fd;
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
	if (write(fd, req, (size_t)n) == n)
		while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
			got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	sscanf(buf, "HTTP/1.%*d %d", &status);
	return status;
}

TEST(http_serves_the_handed_over_copy_on_a_unix_socket)
{
	char dir[] = "/tmp/gw-ops-test-XXXXXX", addr[128], err[256], buf[4096];
	struct listen_addr la;
	struct ops_http *h;
	const char *body;
	int stale;

	REQUIRE(mkdtemp(dir));
	snprintf(addr, sizeof(addr), "unix:%s/m.sock", dir);
	REQUIRE(listen_addr_parse(addr, &la, err, sizeof(err)) == 0);
	/* a socket file nobody answers on (an agent that was killed) is replaced */
	stale = socket(AF_UNIX, SOCK_STREAM, 0);
	REQUIRE(stale >= 0 && bind(stale, (const struct sockaddr *)&la.ss, la.len) == 0);
	close(stale);
	h = ops_http_start(&la, addr, err, sizeof(err));
	REQUIRE(h);
	/* one that answers belongs to a running agent and stays */
	CHECK(!ops_http_start(&la, addr, err, sizeof(err)));
	CHECK(strstr(err, "Address already in use"));
	CHECK(get(&la, "/metrics", buf, sizeof(buf)) == 503);
	CHECK(get(&la, "/healthz", buf, sizeof(buf)) == 503);
	CHECK(strstr(buf, "degraded: starting"));
	ops_http_publish(h, strdup("ghostwatch_agent_x 1\n"), 21, "");
	CHECK(get(&la, "/metrics", buf, sizeof(buf)) == 200);
	body = strstr(buf, "\r\n\r\n");
	CHECK(body && !strcmp(body + 4, "ghostwatch_agent_x 1\n"));
	CHECK(strstr(buf, "text/plain; version=0.0.4"));
	CHECK(get(&la, "/healthz", buf, sizeof(buf)) == 200);
	CHECK(strstr(buf, "\r\n\r\nok\n"));
	ops_http_publish(h, strdup("ghostwatch_agent_x 2\n"), 21, "hooks not attached: exec");
	CHECK(get(&la, "/healthz", buf, sizeof(buf)) == 503);
	CHECK(strstr(buf, "degraded: hooks not attached: exec"));
	CHECK(get(&la, "/metrics", buf, sizeof(buf)) == 200);
	CHECK(strstr(buf, "ghostwatch_agent_x 2\n"));
	CHECK(get(&la, "/other", buf, sizeof(buf)) == 404);
	ops_http_stop(h);
	snprintf(buf, sizeof(buf), "%s/m.sock", dir);
	CHECK(access(buf, F_OK) != 0); /* the socket is removed at stop */
	rmdir(dir);
}

TEST(status_prints_the_numbers_of_the_text)
{
	Ghostwatch__V1__Counter *ev[1], *dr[1], *evi[1];
	Ghostwatch__V1__HookStatus *hooks[3];
	Ghostwatch__V1__AgentStats st;
	struct gw_transport_stats t;
	struct ops_snapshot s;
	char *text, *printed = NULL;
	size_t len = 0;
	FILE *out;

	known_stats(&st, ev, dr, evi, hooks);
	known_snapshot(&s, &st, &t);
	text = render_text(&s);
	out = open_memstream(&printed, &len);
	REQUIRE(text && out);
	ops_status_print(out, text, "degraded: hooks not attached: exit\n");
	fclose(out);
	CHECK(strstr(printed, "ghostwatch 1.2.3, up 62 s, health: degraded: hooks not attached: "
			      "exit\n"));
	CHECK(strstr(printed, "hooks:  2 live; not live: exit=none\n"));
	CHECK(strstr(printed, "events:  exec=42\n"));
	CHECK(strstr(printed, "drops:   dns=3\n"));
	CHECK(strstr(printed, "spool:  3 batches unacked (4096 bytes), oldest 12 s old\n"));
	CHECK(strstr(printed, "collector: connected, reconnects 2, last ack "
			      "2023-11-14 22:14:55 UTC"));
	CHECK(strstr(printed, "fraud score: 35\n"));
	CHECK(strstr(printed, "findings: rmm=2 other=1\n"));
	free(printed);
	free(text);
}

TEST(listen_addresses_are_loopback_or_unix)
{
	struct listen_addr la;
	char err[256];

	CHECK(listen_addr_parse("127.0.0.1:9465", &la, err, sizeof(err)) == 0 &&
	      la.ss.ss_family == AF_INET);
	CHECK(listen_addr_parse("[::1]:9465", &la, err, sizeof(err)) == 0 &&
	      la.ss.ss_family == AF_INET6);
	CHECK(listen_addr_parse("unix:/run/ghostwatch/metrics.sock", &la, err, sizeof(err)) == 0 &&
	      la.ss.ss_family == AF_UNIX);
	CHECK(listen_addr_parse("0.0.0.0:9465", &la, err, sizeof(err)) == -1);
	CHECK(strstr(err, "only a loopback address"));
	CHECK(listen_addr_parse("10.1.2.3:9465", &la, err, sizeof(err)) == -1);
	CHECK(listen_addr_parse("[::]:9465", &la, err, sizeof(err)) == -1);
	CHECK(listen_addr_parse("127.0.0.1:0", &la, err, sizeof(err)) == -1);
	CHECK(listen_addr_parse("127.0.0.1:70000", &la, err, sizeof(err)) == -1);
	CHECK(listen_addr_parse("localhost:9465", &la, err, sizeof(err)) == -1);
	CHECK(listen_addr_parse("unix:relative.sock", &la, err, sizeof(err)) == -1);
	CHECK(strstr(err, "absolute"));
}

TEST(config_key_metrics_listen)
{
	static const char good[] = "metrics:\n  listen: \"unix:/run/ghostwatch/metrics.sock\"\n";
	static const char bad[] = "host_id: a\nmetrics:\n  listen: \"0.0.0.0:9465\"\n";
	struct gw_config *cfg;
	char err[GW_CONFIG_ERR_LEN];

	cfg = gw_config_parse("t.yaml", "", 0, err, sizeof(err));
	REQUIRE(cfg);
	CHECK_STR(cfg->metrics_listen, ""); /* off unless configured */
	gw_config_free(cfg);
	cfg = gw_config_parse("t.yaml", good, sizeof(good) - 1, err, sizeof(err));
	REQUIRE(cfg);
	CHECK_STR(cfg->metrics_listen, "unix:/run/ghostwatch/metrics.sock");
	gw_config_free(cfg);
	cfg = gw_config_parse("t.yaml", bad, sizeof(bad) - 1, err, sizeof(err));
	CHECK(!cfg);
	CHECK(strstr(err, "t.yaml:3: metrics.listen:"));
	gw_config_free(cfg);
}

TEST(unacked_ages_follow_acks_in_seq_order)
{
	struct unacked_ages *u = calloc(1, sizeof(*u));

	REQUIRE(u);
	CHECK(unacked_ages_oldest(u) == 0);
	unacked_ages_push(u, 5, 100);
	unacked_ages_push(u, 6, 200);
	unacked_ages_push(u, 7, 300);
	CHECK(unacked_ages_oldest(u) == 100);
	unacked_ages_ack(u, 5);
	CHECK(unacked_ages_oldest(u) == 200);
	unacked_ages_ack(u, 7);
	CHECK(unacked_ages_oldest(u) == 0);
	/* full: the newest run covers the rest and keeps its (older) time */
	for (uint64_t s = 10; s < 10 + UNACKED_AGES_MAX + 5; s++)
		unacked_ages_push(u, s, s * 10);
	unacked_ages_ack(u, 10 + UNACKED_AGES_MAX - 2);
	CHECK(unacked_ages_oldest(u) == (10 + UNACKED_AGES_MAX - 1) * 10);
	unacked_ages_ack(u, 10 + UNACKED_AGES_MAX + 3);
	CHECK(unacked_ages_oldest(u) == (10 + UNACKED_AGES_MAX - 1) * 10);
	unacked_ages_ack(u, 10 + UNACKED_AGES_MAX + 4);
	CHECK(unacked_ages_oldest(u) == 0);
	free(u);
}

TEST(peek_stats_never_waits_for_the_spool_lock)
{
	struct gw_spool_limits lim = { .max_bytes = 1 << 20, .segment_bytes = 64 << 10 };
	struct gw_forwarder *f = calloc(1, sizeof(*f));
	char dir[] = "/tmp/gw-ops-spool-XXXXXX", err[256], cmd[64];
	struct gw_forwarder_stats st;
	uint64_t seq;

	REQUIRE(f && mkdtemp(dir));
	f->spool = gw_spool_open(dir, &lim, err, sizeof(err));
	REQUIRE(f->spool);
	pthread_mutex_init(&f->qlock, NULL);
	pthread_mutex_init(&f->slock, NULL);
	seq = gw_spool_next_seq(f->spool);
	REQUIRE(gw_spool_append(f->spool, seq, 10, "batch", 5, 0, 0) == 0);
	unacked_ages_push(&f->ages, seq, 1234);
	gw_forwarder_peek_stats(f, &st);
	CHECK(st.spool.unacked_batches == 1 && st.spool.unacked_events == 10);
	CHECK(st.oldest_unacked_ns == 1234 && st.last_ack_ns == 0);
	/* the writer holds the lock across a slow fdatasync: the last read comes back at once */
	pthread_mutex_lock(&f->slock);
	f->last_ack_ns = 999;
	gw_forwarder_peek_stats(f, &st);
	CHECK(st.spool.unacked_batches == 1 && st.oldest_unacked_ns == 1234 && st.last_ack_ns == 0);
	pthread_mutex_unlock(&f->slock);
	gw_forwarder_peek_stats(f, &st);
	CHECK(st.last_ack_ns == 999);
	gw_spool_close(f->spool);
	pthread_mutex_destroy(&f->qlock);
	pthread_mutex_destroy(&f->slock);
	free(f);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	RUN(render_known_snapshot_exactly);
	RUN(render_lines_are_valid_prometheus_text);
	RUN(hooks_verdict_names_the_missing_required_hooks);
	RUN(http_serves_the_handed_over_copy_on_a_unix_socket);
	RUN(status_prints_the_numbers_of_the_text);
	RUN(listen_addresses_are_loopback_or_unix);
	RUN(config_key_metrics_listen);
	RUN(unacked_ages_follow_acks_in_seq_order);
	RUN(peek_stats_never_waits_for_the_spool_lock);
	return test_summary();
}
