#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "common/http_reply.h"

#define PREFIX "ghostwatch_collector_"

struct gwc_metrics {
	struct mhd_api mhd;
	struct MHD_Daemon *daemon;
	struct gw_log *log;
	pthread_mutex_t lock;
	/* under lock: the latest snapshot and when it was handed over (monotonic) */
	char *text;
	size_t len;
	bool connected;
	uint64_t published_ns;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

bool gwc_metrics_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64], *end;
	const char *colon = strrchr(s, ':');
	unsigned long port;
	size_t n;

	if (!colon || colon == s)
		return false;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port == 0 || port > 65535)
		return false;
	n = colon - s;
	if (s[0] == '[') {
		if (n < 3 || s[n - 1] != ']')
			return false;
		s++;
		n -= 2;
	}
	if (n >= sizeof(host))
		return false;
	memcpy(host, s, n);
	host[n] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		*len = sizeof(*in);
		return true;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
		return true;
	}
	return false;
}

/* Label values are host ids (subject tokens) today; escaped anyway as the format asks. */
static void label_value(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s %s\n", name, help, name, type);
}

/* A family of one sample without labels. */
static void metric(FILE *out, const char *name, const char *type, const char *help, uint64_t v)
{
	family(out, name, type, help);
	fprintf(out, PREFIX "%s %" PRIu64 "\n", name, v);
}

static void host_sample(FILE *out, const char *name, const char *host, const char *value)
{
	fprintf(out, PREFIX "%s{host=\"", name);
	label_value(out, host);
	fprintf(out, "\"} %s\n", value);
}

static void render_hosts(FILE *out, struct fleet_view *v, uint64_t now_unix_ns)
{
	struct fleet_host *h, *tmp;
	char num[32];

	family(out, "host_last_seen_age_seconds", "gauge",
	       "Seconds since the host's last batch arrived.");
	HASH_ITER(hh, v->hosts, h, tmp) {
		if (!h->last_seen_ns)
			continue;
		snprintf(num, sizeof(num), "%.3f",
			 now_unix_ns > h->last_seen_ns ?
			 (double)(now_unix_ns - h->last_seen_ns) / 1e9 : 0.0);
		host_sample(out, "host_last_seen_age_seconds", h->id, num);
	}
	family(out, "host_batches_total", "counter", "Batches of the host written out.");
	HASH_ITER(hh, v->hosts, h, tmp) {
		snprintf(num, sizeof(num), "%" PRIu64, h->batches);
		host_sample(out, "host_batches_total", h->id, num);
	}
	family(out, "host_rejected_batches_total", "counter",
	       "Batches on the host's subject that were rejected.");
	HASH_ITER(hh, v->hosts, h, tmp) {
		snprintf(num, sizeof(num), "%" PRIu64, h->rejected);
		host_sample(out, "host_rejected_batches_total", h->id, num);
	}
	family(out, "host_gaps", "gauge", "Batch sequence numbers of the host that never arrived.");
	HASH_ITER(hh, v->hosts, h, tmp) {
		snprintf(num, sizeof(num), "%" PRIu64, fleet_host_gaps(h));
		host_sample(out, "host_gaps", h->id, num);
	}
	family(out, "host_fraud_score", "gauge", "The host's latest fraud score (0-100).");
	HASH_ITER(hh, v->hosts, h, tmp) {
		if (!h->has_score)
			continue;
		snprintf(num, sizeof(num), "%" PRIu32, h->fraud_score);
		host_sample(out, "host_fraud_score", h->id, num);
	}
}

void gwc_metrics_render(FILE *out, struct fleet_view *v, const struct gwc_metrics_state *s,
			uint64_t now_unix_ns)
{
	metric(out, "nats_connected", "gauge", "1 while connected to nats-server and bound.",
	       s->connected);
	metric(out, "nats_reconnects_total", "counter", "Reconnections to nats-server.",
	       s->reconnects);
	family(out, "last_ack_timestamp_seconds", "gauge",
	       "Unix time of the last batch acked (0: none yet).");
	fprintf(out, PREFIX "last_ack_timestamp_seconds %.3f\n",
		(double)s->last_ack_unix_ns / 1e9);
	metric(out, "write_failures_total", "counter", "NDJSON writes that failed (retried).",
	       s->write_failures);
	metric(out, "batches_total", "counter", "Batches written out.", v->batches);
	metric(out, "events_total", "counter", "Events written out.", v->events);
	metric(out, "repeated_batches_total", "counter", "Batches that arrived again.", v->repeats);
	metric(out, "bad_events_total", "counter",
	       "Events of accepted batches that did not decode.", v->bad_events);
	family(out, "rejected_batches_total", "counter", "Batches rejected, by reason.");
	for (int r = 0; r < BATCH_VERDICT_COUNT; r++)
		if (r != BATCH_OK && r != BATCH_DEAD_LETTER)
			fprintf(out, PREFIX "rejected_batches_total{reason=\"%s\"} %" PRIu64 "\n",
				batch_verdict_name(r), v->rejected[r]);
	metric(out, "dead_letters_total", "counter",
	       "Messages delivered max-deliver times without being settled, set aside unread.",
	       v->rejected[BATCH_DEAD_LETTER]);
	metric(out, "hosts", "gauge", "Hosts in the fleet view.", HASH_COUNT(v->hosts));
	render_hosts(out, v, now_unix_ns);
}

void gwc_metrics_publish(struct gwc_metrics *m, struct fleet_view *v,
			 const struct gwc_metrics_state *s)
{
	struct timespec ts;
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	/* once a second is enough for a scrape, and rendering a large fleet is not free */
	if (!m || (m->published_ns && s->connected == m->connected &&
		   mono_ns() - m->published_ns < 1000000000ull))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	out = open_memstream(&text, &len);
	if (!out)
		return;
	gwc_metrics_render(out, v, s, (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec);
	if (fclose(out)) {
		free(text);
		return;
	}
	pthread_mutex_lock(&m->lock);
	free(m->text);
	m->text = text;
	m->len = len;
	m->connected = s->connected;
	m->published_ns = mono_ns();
	pthread_mutex_unlock(&m->lock);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req_cls)
{
	struct gwc_metrics *m = cls;
	char *body = NULL;
	size_t len = 0;
	unsigned status = MHD_HTTP_OK;

	(void)version;
	(void)upload;
	(void)req_cls;
	if (*upload_size)
		return MHD_NO;	/* nothing here takes a body */
	pthread_mutex_lock(&m->lock);
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		len = asprintf(&body, "GET only\n");
	} else
	if (!strcmp(url, "/metrics")) {
		if (m->text) {
			body = malloc(m->len ? m->len : 1);
			if (body)
				memcpy(body, m->text, m->len);
			len = m->len;
		} else {
			status = MHD_HTTP_SERVICE_UNAVAILABLE;
			len = asprintf(&body, "starting\n");
		}
	} else if (!strcmp(url, "/healthz")) {
		const char *why = NULL;

		if (!m->published_ns)
			why = "starting";
		else if (mono_ns() - m->published_ns > GWC_METRICS_STALL_S * 1000000000ull)
			why = "consumer stalled (disk full or server hung?)";
		else if (!m->connected)
			why = "no NATS connection";
		status = why ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK;
		len = why ? asprintf(&body, "degraded: %s\n", why) : asprintf(&body, "ok\n");
	} else {
		status = MHD_HTTP_NOT_FOUND;
		len = asprintf(&body, "/metrics or /healthz\n");
	}
	pthread_mutex_unlock(&m->lock);
	if (!body || (ssize_t)len < 0)
		return MHD_NO;
	return http_reply(&m->mhd, conn, status, status == MHD_HTTP_OK && !strcmp(url, "/metrics") ?
		     "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8",
		     body, len);
}

struct gwc_metrics *gwc_metrics_start(const char *addr, struct gw_log *log, char *err,
				      size_t err_size)
{
	struct sockaddr_storage ss;
	struct gwc_metrics *m;
	socklen_t sl;
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD;

	if (!gwc_metrics_parse_addr(addr, &ss, &sl)) {
		snprintf(err, err_size, "--metrics %s: not ADDRESS:PORT (e.g. 127.0.0.1:9464)",
			 addr);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	if (mhd_api_load(&m->mhd, err, err_size)) {
		free(m);
		return NULL;
	}
	pthread_mutex_init(&m->lock, NULL);
	m->log = log;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	/* a scrape is small: few connections, short timeouts, nobody can hold the thread */
	m->daemon = m->mhd.start_daemon(flags, 0, NULL, NULL, on_request, m,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)5,
				     MHD_OPTION_END);
	if (!m->daemon) {
		snprintf(err, err_size, "--metrics %s: cannot listen%s%s", addr,
			 errno ? ": " : "", errno ? strerror(errno) : "");
		pthread_mutex_destroy(&m->lock);
		free(m);
		return NULL;
	}
	gw_info(log, "metrics on http://%s/metrics, health on /healthz", addr);
	return m;
}

uint64_t gwc_metrics_conn_reconnects(natsConnection *nc)
{
	natsStatistics *st = NULL;
	uint64_t n = 0;

	if (nc && natsStatistics_Create(&st) == NATS_OK &&
	    natsConnection_GetStats(nc, st) == NATS_OK)
		natsStatistics_GetCounts(st, NULL, NULL, NULL, NULL, &n);
	natsStatistics_Destroy(st);
	return n;
}

void gwc_metrics_stop(struct gwc_metrics *m)
{
	if (!m)
		return;
	m->mhd.stop_daemon(m->daemon);
	mhd_api_unload(&m->mhd);
	pthread_mutex_destroy(&m->lock);
	free(m->text);
	free(m);
}
