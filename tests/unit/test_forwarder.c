/*
 * Tests for agent/forwarder.c against a real nats-server (TLS with client certificates, JetStream)
 * on a free 127.0.0.1 port, started and stopped here. Certificates come from openssl in a temp dir.
 * Checks: batches arrive in order with Nats-Msg-Id host:seq, decoded intact; an outage loses
 * nothing and duplicates nothing; a forwarder restart continues the seq; a client certificate
 * from another CA is refused; every queue drop is reported in a later batch's SpoolState.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "fleet/batch.h"
#include "core/config.h"
#include "fleet/forwarder.h"
#include "common/log.h"
#include "testing.h"

#define STREAM "GHOSTWATCH"

static char tmp[] = "/tmp/gw_fwd_XXXXXX";
static int port;
static pid_t server_pid;
static struct gw_log test_log;
static char err[512];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || getsockname(fd, (struct sockaddr *)&a, &len))
		abort();
	p = ntohs(a.sin_port);
	close(fd);
	return p;
}

static int make_pki(void)
{
	return sh("set -e; cd %s; exec >pki.log 2>&1\n"
		  "mk_ca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		  "-days 2 -subj \"/CN=$1\" -keyout $1.key -out $1.crt; }\n"
		  "mk_cert() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		  "-subj \"/CN=$2\" -keyout $1.key -out $1.csr\n"
		  "  printf 'subjectAltName=%%s\\nextendedKeyUsage=%%s\\n' \"$4\" \"$5\" > $1.ext\n"
		  "  openssl x509 -req -in $1.csr -CA $3.crt -CAkey $3.key -CAcreateserial -days 2 "
		  "-extfile $1.ext -out $1.crt; }\n"
		  "mk_ca ca; mk_ca otherca\n"
		  "mk_cert server localhost ca IP:127.0.0.1,DNS:localhost serverAuth\n"
		  "mk_cert agent testhost ca DNS:testhost clientAuth\n"
		  "mk_cert rogue testhost otherca DNS:testhost clientAuth\n",
		  tmp);
}

static int start_server(void)
{
	char conf[512];
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/nats.conf", tmp);
	f = fopen(conf, "w");
	if (!f)
		return -1;
	fprintf(f,
		"listen: 127.0.0.1:%d\n"
		"jetstream { store_dir: \"%s/js\" }\n"
		"tls { cert_file: \"%s/server.crt\"\n key_file: \"%s/server.key\"\n"
		" ca_file: \"%s/ca.crt\"\n verify: true\n timeout: 5 }\n",
		port, tmp, tmp, tmp, tmp);
	fclose(f);
	fflush(stdout);
	server_pid = fork();
	if (server_pid == 0) {
		char log[512];

		snprintf(log, sizeof(log), "%s/nats.log", tmp);
		if (!freopen(log, "a", stderr) || !freopen(log, "a", stdout))
			_exit(126);
		execlp("nats-server", "nats-server", "-c", conf, (char *)NULL);
		_exit(127);
	}
	/* ready when the port accepts */
	for (int i = 0; i < 200; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

		close(fd);
		if (ok)
			return 0;
		usleep(20000);
	}
	return -1;
}

static void stop_server(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
	}
	server_pid = 0;
}

/* A plain cnats client with the agent's certificate, for creating and reading the stream. */
static natsConnection *client_nc;
static jsCtx *client_js;

static int client_open(void)
{
	natsOptions *o;
	char url[64], path[3][512];

	snprintf(url, sizeof(url), "tls://127.0.0.1:%d", port);
	snprintf(path[0], sizeof(path[0]), "%s/ca.crt", tmp);
	snprintf(path[1], sizeof(path[1]), "%s/agent.crt", tmp);
	snprintf(path[2], sizeof(path[2]), "%s/agent.key", tmp);
	if (natsOptions_Create(&o) || natsOptions_SetURL(o, url) || natsOptions_SetSecure(o, true) ||
	    natsOptions_LoadCATrustedCertificates(o, path[0]) ||
	    natsOptions_LoadCertificatesChain(o, path[1], path[2]) ||
	    natsConnection_Connect(&client_nc, o) || natsConnection_JetStream(&client_js, client_nc, NULL)) {
		printf("# client: %s\n", nats_GetLastError(NULL));
		natsOptions_Destroy(o);
		return -1;
	}
	natsOptions_Destroy(o);
	return 0;
}

static void client_close(void)
{
	jsCtx_Destroy(client_js);
	natsConnection_Destroy(client_nc);
	client_js = NULL;
	client_nc = NULL;
}

static int add_stream(void)
{
	jsStreamConfig sc;
	const char *subjects[] = { "ghostwatch.v1.telemetry.>" };
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;

	jsStreamConfig_Init(&sc);
	sc.Name = STREAM;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.Storage = js_FileStorage;
	sc.Duplicates = 120LL * 1000000000LL;
	if (js_AddStream(&si, client_js, &sc, NULL, &jerr)) {
		printf("# add stream: %s (%d)\n", nats_GetLastError(NULL), (int)jerr);
		return -1;
	}
	jsStreamInfo_Destroy(si);
	return 0;
}

static uint64_t stream_msgs(void)
{
	jsStreamInfo *si = NULL;
	uint64_t n;

	if (js_GetStreamInfo(&si, client_js, STREAM, NULL, NULL))
		return UINT64_MAX;
	n = si->State.Msgs;
	jsStreamInfo_Destroy(si);
	return n;
}

struct stream_check {
	uint64_t msgs;
	uint64_t first_seq, last_seq;
	bool contiguous; /* batch seqs increase by exactly one */
	bool ids_match;	 /* Nats-Msg-Id == host:nonce:seq, subject == prefix.host */
	uint64_t events;
	uint64_t queue_dropped_batches, queue_dropped_events;
};

/* id is <host>:<16 lowercase hex digits, the spool's nonce>:<seq> */
static bool msg_id_is(const char *id, const char *host, uint64_t seq)
{
	char tail[32];
	size_t hlen = strlen(host), tlen;

	tlen = (size_t)snprintf(tail, sizeof(tail), ":%llu", (unsigned long long)seq);
	if (strncmp(id, host, hlen) || id[hlen] != ':' || strlen(id) != hlen + 17 + tlen ||
	    strcmp(id + hlen + 17, tail))
		return false;
	for (size_t i = hlen + 1; i < hlen + 17; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return true;
}

static void check_stream(struct stream_check *c, const char *host_id)
{
	char want_subject[256];

	memset(c, 0, sizeof(*c));
	c->contiguous = c->ids_match = true;
	snprintf(want_subject, sizeof(want_subject), "ghostwatch.v1.telemetry.%s", host_id);
	c->msgs = stream_msgs();
	for (uint64_t i = 1; i <= c->msgs; i++) {
		natsMsg *m = NULL;
		const char *id = NULL;
		Ghostwatch__V1__Batch *b;

		if (js_GetMsg(&m, client_js, STREAM, i, NULL, NULL)) {
			c->contiguous = false;
			continue;
		}
		b = gw_batch_decode((const uint8_t *)natsMsg_GetData(m), natsMsg_GetDataLength(m),
				    GW_BATCH_MAX_INFLATED, err, sizeof(err));
		if (!b) {
			printf("# message %llu: %s\n", (unsigned long long)i, err);
			c->ids_match = false;
			natsMsg_Destroy(m);
			continue;
		}
		natsMsgHeader_Get(m, "Nats-Msg-Id", &id);
		if (!id || !msg_id_is(id, host_id, b->seq) || strcmp(natsMsg_GetSubject(m), want_subject) ||
		    !b->host || strcmp(b->host->cert_identity, "testhost"))
			c->ids_match = false;
		if (i == 1)
			c->first_seq = b->seq;
		else if (b->seq != c->last_seq + 1)
			c->contiguous = false;
		c->last_seq = b->seq;
		c->events += b->n_events;
		if (b->spool) {
			c->queue_dropped_batches += b->spool->queue_dropped_batches;
			c->queue_dropped_events += b->spool->queue_dropped_events;
		}
		ghostwatch__v1__batch__free_unpacked(b, NULL);
		natsMsg_Destroy(m);
	}
}

static struct gw_config *agent_config(const char *cert_name, uint32_t queue_batches)
{
	char text[2048];
	struct gw_config *cfg;

	snprintf(text, sizeof(text),
		 "collector:\n  urls: [tls://127.0.0.1:%d]\n  publish_timeout_ms: 1000\n"
		 "  reconnect_min_ms: 50\n  reconnect_max_ms: 500\n  connect_timeout_ms: 1000\n"
		 "tls:\n  cert: %s/%s.crt\n  key: %s/%s.key\n  ca: %s/ca.crt\n"
		 "host_id: testhost\n"
		 "spool:\n  dir: %s/spool-%s\n  max_bytes: 8MiB\n  segment_bytes: 256KiB\n"
		 "batch:\n  queue_batches: %u\n",
		 port, tmp, cert_name, tmp, cert_name, tmp, tmp, cert_name, queue_batches);
	cfg = gw_config_parse("test.yaml", text, strlen(text), err, sizeof(err));
	if (!cfg)
		printf("# config: %s\n", err);
	return cfg;
}

static struct gw_forwarder *start_forwarder(const struct gw_config *cfg)
{
	struct gw_host_identity host;
	struct gw_forwarder *f;

	if (gw_host_identity_load(&host, cfg->host_id, cfg->tls_cert, err, sizeof(err))) {
		printf("# host: %s\n", err);
		return NULL;
	}
	f = gw_forwarder_start(cfg, &host, &test_log, NULL, err, sizeof(err));
	if (!f)
		printf("# forwarder: %s\n", err);
	return f;
}

/* A draft of n small stats events. */
static struct gw_batch_draft *draft(unsigned n)
{
	static uint64_t event_id;
	struct gw_batch_builder b;
	Ghostwatch__V1__AgentStats st = GHOSTWATCH__V1__AGENT_STATS__INIT;
	Ghostwatch__V1__Event ev = GHOSTWATCH__V1__EVENT__INIT;
	struct gw_batch_draft *d;

	gw_batch_builder_init(&b, 100000, 1);
	ev.kind_case = GHOSTWATCH__V1__EVENT__KIND_STATS;
	ev.stats = &st;
	for (unsigned i = 0; i < n; i++) {
		ev.event_id = ++event_id;
		st.uptime_ns = event_id;
		if (gw_batch_add(&b, &ev))
			abort();
	}
	d = gw_batch_cut(&b, 2, NULL);
	gw_batch_builder_free(&b);
	return d;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

TEST(publish_outage_restart)
{
	struct gw_config *cfg = agent_config("agent", 64);
	struct gw_forwarder *f;
	struct gw_forwarder_stats st;
	struct stream_check c;
	double t0;

	REQUIRE(cfg);
	f = start_forwarder(cfg);
	REQUIRE(f);

	/* 1. plain delivery */
	for (int i = 0; i < 20; i++)
		CHECK(gw_forwarder_submit(f, draft(5)) == 0);
	CHECK(gw_forwarder_wait_drained(f, 15000));
	check_stream(&c, "testhost");
	CHECK(c.msgs == 20 && c.first_seq == 1 && c.last_seq == 20);
	CHECK(c.contiguous && c.ids_match);
	CHECK(c.events == 100);

	/* 2. outage: the server goes away for a while, batches keep coming */
	client_close();
	stop_server();
	for (int i = 0; i < 10; i++) {
		CHECK(gw_forwarder_submit(f, draft(3)) == 0);
		usleep(200000);
	}
	gw_forwarder_get_stats(f, &st);
	CHECK(st.spool.unacked_batches == 10);
	CHECK(st.publish_errors > 0 || st.disconnects > 0);
	REQUIRE(start_server() == 0);
	t0 = now_s();
	CHECK(gw_forwarder_wait_drained(f, 30000));
	printf("# outage: drained 10 spooled batches %.2f s after the server came back\n",
	       now_s() - t0);
	REQUIRE(client_open() == 0);
	check_stream(&c, "testhost");
	CHECK(c.msgs == 30 && c.last_seq == 30 && c.contiguous && c.ids_match);
	CHECK(c.events == 130);

	/* 3. agent restart with batches still in the spool (server down meanwhile) */
	client_close();
	stop_server();
	for (int i = 0; i < 5; i++)
		CHECK(gw_forwarder_submit(f, draft(1)) == 0);
	usleep(300000);
	gw_forwarder_stop(f, NULL);
	REQUIRE(start_server() == 0);
	f = start_forwarder(cfg);
	REQUIRE(f);
	CHECK(gw_forwarder_submit(f, draft(2)) == 0);
	CHECK(gw_forwarder_wait_drained(f, 30000));
	REQUIRE(client_open() == 0);
	check_stream(&c, "testhost");
	CHECK(c.msgs == 36 && c.last_seq == 36 && c.contiguous && c.ids_match);
	CHECK(c.events == 137);
	gw_forwarder_get_stats(f, &st);
	CHECK(st.queue_dropped_batches == 0);
	gw_forwarder_stop(f, NULL);
	gw_config_free(cfg);
}

TEST(certificate_from_another_ca_is_refused)
{
	struct gw_config *cfg = agent_config("rogue", 64);
	struct gw_forwarder *f;
	struct gw_forwarder_stats st;
	uint64_t before = stream_msgs();

	REQUIRE(cfg);
	f = start_forwarder(cfg);
	REQUIRE(f);
	CHECK(gw_forwarder_submit(f, draft(1)) == 0);
	CHECK(!gw_forwarder_wait_drained(f, 2000));
	gw_forwarder_get_stats(f, &st);
	CHECK(!st.connected && st.published == 0);
	CHECK(st.spool.unacked_batches == 1);
	CHECK(stream_msgs() == before);
	gw_forwarder_stop(f, NULL);
	gw_config_free(cfg);
}

TEST(queue_drops_are_reported_in_later_batches)
{
	struct gw_config *cfg = agent_config("agent", 1);
	struct gw_forwarder *f;
	struct gw_forwarder_stats st;
	struct stream_check c;
	uint64_t before;
	int dropped = 0;

	REQUIRE(cfg);
	/* a fresh stream so the sums only see this test's batches */
	js_DeleteStream(client_js, STREAM, NULL, NULL);
	REQUIRE(add_stream() == 0);
	before = stream_msgs();
	f = start_forwarder(cfg);
	REQUIRE(f);
	/* a queue of one against a writer that fdatasyncs: a burst overflows it */
	for (int i = 0; i < 200; i++)
		dropped += gw_forwarder_submit(f, draft(4)) == -ENOBUFS;
	usleep(300000);
	/* one more after the burst carries the last drops */
	CHECK(gw_forwarder_submit(f, draft(1)) == 0);
	CHECK(gw_forwarder_wait_drained(f, 30000));
	gw_forwarder_get_stats(f, &st);
	printf("# queue of 1: %d of 200 burst batches dropped\n", dropped);
	CHECK(st.queue_dropped_batches == (uint64_t)dropped);
	CHECK(st.queue_dropped_events == 4ull * dropped);
	check_stream(&c, "testhost");
	CHECK(before == 0);
	CHECK(c.msgs == 201 - (uint64_t)dropped);
	CHECK(c.queue_dropped_batches == (uint64_t)dropped);
	CHECK(c.queue_dropped_events == 4ull * dropped);
	CHECK(c.contiguous);
	gw_forwarder_stop(f, NULL);
	gw_config_free(cfg);
}

int main(void)
{
	if (system("command -v nats-server >/dev/null && command -v openssl >/dev/null") != 0) {
		printf("# SKIP: nats-server or openssl missing (run make deps): forwarder untested\n");
		printf("not ok 1 - nats-server available\n1..1\n# 0 passed, 1 failed\n");
		return 1;
	}
	gw_log_init(&test_log, GW_LOG_WARN);
	if (!mkdtemp(tmp) || make_pki() != 0) {
		printf("# cannot make the test PKI in %s (see pki.log)\n", tmp);
		return 1;
	}
	port = free_port();
	if (start_server() || client_open() || add_stream()) {
		printf("# cannot start nats-server (see %s/nats.log)\n", tmp);
		stop_server();
		return 1;
	}
	RUN(publish_outage_restart);
	RUN(certificate_from_another_ca_is_refused);
	RUN(queue_drops_are_reported_in_later_batches);
	client_close();
	stop_server();
	sh("rm -rf '%s'", tmp);
	return test_summary();
}
