/* ops_status.c - `ghostwatch status`. See ops_status.h. */
#include "ops_status.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/listen_addr.h"

#define PREFIX "ghostwatch_agent_"
#define STATUS_MAX_BODY (4u << 20)
#define STATUS_TIMEOUT_MS 3000

/* GET path over a fresh connection: the status code and the body (malloc'd), or -errno. */
static int http_get(const struct listen_addr *la, const char *path, char **body)
{
	size_t len = 0, cap = 64 << 10;
	char *buf = malloc(cap + 1), *sep;
	int fd = listen_addr_connect(la, STATUS_TIMEOUT_MS), status;
	char req[128];
	ssize_t n;

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return fd < 0 ? fd : -ENOMEM;
	}
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
	if (write(fd, req, (size_t)n) != n)
		goto io;
	while ((n = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)n;
		if (len == cap) {
			char *p = cap >= STATUS_MAX_BODY ? NULL : realloc(buf, cap * 2 + 1);

			if (!p)
				goto io;
			buf = p;
			cap *= 2;
		}
	}
	if (n < 0)
		goto io;
	close(fd);
	buf[len] = '\0';
	sep = strstr(buf, "\r\n\r\n");
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1 || !sep) {
		free(buf);
		return -EPROTO;
	}
	memmove(buf, sep + 4, len - (size_t)(sep + 4 - buf) + 1);
	*body = buf;
	return status;
io:
	n = errno ? -errno : -EIO;
	close(fd);
	free(buf);
	return (int)n;
}

/* The value of the sample `name{labels}` (labels "" for none) in text; false if absent. */
static bool sample(const char *text, const char *name, const char *labels, double *v)
{
	size_t nl = strlen(name), ll = strlen(labels);

	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		const char *p = l;

		if (strncmp(p, PREFIX, strlen(PREFIX)))
			continue;
		p += strlen(PREFIX);
		if (strncmp(p, name, nl))
			continue;
		p += nl;
		if (ll) {
			if (*p != '{' || strncmp(p + 1, labels, ll) || p[1 + ll] != '}')
				continue;
			p += ll + 2;
		}
		if (*p != ' ')
			continue;
		*v = strtod(p + 1, NULL);
		return true;
	}
	return false;
}

/* Each sample of a family with one label: "label=value" pairs, skipping zeros unless all. */
static void list(FILE *out, const char *text, const char *name, bool zeros)
{
	size_t nl = strlen(name);
	int shown = 0;

	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		const char *p = l, *q, *end;
		double v;

		if (strncmp(p, PREFIX, strlen(PREFIX)) || strncmp(p + strlen(PREFIX), name, nl))
			continue;
		p += strlen(PREFIX) + nl;
		if (*p != '{' || !(q = strchr(p, '"')) || !(end = strstr(q + 1, "\"} ")))
			continue;
		v = strtod(end + 3, NULL);
		if (!zeros && v == 0)
			continue;
		/* label values here are the agent's own names: no escapes to undo */
		fprintf(out, " %.*s=%.0f", (int)(end - q - 1), q + 1, v);
		shown++;
	}
	if (!shown)
		fputs(" none", out);
	fputc('\n', out);
}

/* "hooks:  17 live; not live: input_cadence=none" */
static void hooks(FILE *out, const char *text)
{
	const char *key = PREFIX "hook_live{signal=\"";
	int live = 0, down = 0;

	for (const char *l = strstr(text, key); l; l = strstr(l + 1, key)) {
		const char *end = strstr(l, "\"} ");

		if (end && end[3] == '1')
			live++;
	}
	fprintf(out, "hooks:  %d live; not live:", live);
	for (const char *l = strstr(text, key); l; l = strstr(l + 1, key)) {
		const char *sig = l + strlen(key), *sig_end = strchr(sig, '"'), *hook, *end;

		if (!sig_end || strncmp(sig_end, "\",hook=\"", 8))
			continue;
		hook = sig_end + 8;
		end = strstr(hook, "\"} ");
		if (!end || end[3] == '1')
			continue;
		down++;
		fprintf(out, " %.*s=%.*s", (int)(sig_end - sig), sig, (int)(end - hook), hook);
	}
	fputs(down ? "\n" : " none\n", out);
}

static void when(FILE *out, const char *what, double unix_s, double now_s)
{
	char buf[64];
	time_t t = (time_t)unix_s;
	struct tm tm;

	if (unix_s <= 0) {
		fprintf(out, "%s never", what);
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(out, "%s %s (%.0f s ago)", what, buf, now_s > unix_s ? now_s - unix_s : 0);
}

void ops_status_print(FILE *out, const char *m, const char *health)
{
	static const char info[] = PREFIX "info{version=\"";
	const char *ver = strstr(m, info);
	double v, up = 0;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	sample(m, "uptime_seconds", "", &up);
	ver = ver ? ver + sizeof(info) - 1 : "?";
	fprintf(out, "ghostwatch %.*s, up %.0f s, health: %s", (int)strcspn(ver, "\""), ver, up,
		health);
	if (!strchr(health, '\n'))
		fputc('\n', out);
	hooks(out, m);
	fputs("events: ", out);
	list(out, m, "events_total", false);
	fputs("drops:  ", out);
	list(out, m, "drops_total", false);
	if (sample(m, "spool_backlog_batches", "", &v)) {
		double bytes = 0, age = 0, ack = 0, conn = 0, rec = 0;

		sample(m, "spool_backlog_bytes", "", &bytes);
		sample(m, "spool_oldest_unacked_age_seconds", "", &age);
		sample(m, "last_ack_timestamp_seconds", "", &ack);
		sample(m, "collector_connected", "", &conn);
		sample(m, "reconnects_total", "", &rec);
		fprintf(out, "spool:  %.0f batches unacked (%.0f bytes), oldest %.0f s old\n", v,
			bytes, age);
		fprintf(out, "collector: %s, reconnects %.0f, ",
			conn ? "connected" : "NOT connected", rec);
		when(out, "last ack", ack, (double)now.tv_sec);
		fputc('\n', out);
	} else {
		fputs("spool:  none (not the fleet daemon)\n", out);
	}
	if (sample(m, "fraud_score", "", &v))
		fprintf(out, "fraud score: %.0f\n", v);
	fputs("findings:", out);
	list(out, m, "findings_total", false);
}

int ops_status_main(const char *config_path, FILE *out)
{
	char err[GW_CONFIG_ERR_LEN], *health = NULL, *metrics = NULL;
	struct gw_config *cfg = gw_config_load(config_path, err, sizeof(err));
	struct listen_addr la;
	int hs, ms;

	if (!cfg) {
		fprintf(stderr, "ghostwatch: status: %s\n", err);
		return 2;
	}
	if (!cfg->metrics_listen[0] ||
	    listen_addr_parse(cfg->metrics_listen, &la, err, sizeof(err))) {
		fprintf(stderr, "ghostwatch: status: %s sets no metrics.listen: the agent has no "
				"endpoint to ask (see ghostwatch.yaml(5))\n", config_path);
		gw_config_free(cfg);
		return 2;
	}
	hs = http_get(&la, "/healthz", &health);
	ms = hs < 0 ? hs : http_get(&la, "/metrics", &metrics);
	if (hs < 0 || ms < 0 || ms != 200) {
		fprintf(stderr, "ghostwatch: status: no answer from the agent at %s: %s\n",
			cfg->metrics_listen, hs < 0 || ms < 0 ? strerror(-(hs < 0 ? hs : ms)) :
			(metrics ? metrics : "?"));
		free(health);
		free(metrics);
		gw_config_free(cfg);
		return 1;
	}
	ops_status_print(out, metrics, health);
	free(health);
	free(metrics);
	gw_config_free(cfg);
	return hs == 200 ? 0 : 1;
}
