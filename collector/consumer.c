/* consumer.c - the collector's main loop: setup, fetch, stats, teardown. */
#include "consumer_internal.h"

#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "ndjson_writer.h"
#include "event_line.h"
#include "strbuf.h"

/* How often the cached view takes in what other collectors wrote to the bucket (each batch's
 * host is read back anyway on a conflict; this is for fleet findings about hosts it never saw). */
#define FLEET_REFRESH_S 60

void collector_opts_default(struct collector_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->nats.servers = "tls://127.0.0.1:4222";
	o->nats.inbox_prefix = "_GW_INBOX.collector";
	o->nats.name = "ghostwatch-collector";
	o->nats.retry_forever = true;
	o->stream = "GHOSTWATCH";
	o->durable = "ghostwatch-collector";
	o->replicas = 1;
	o->max_age_ns = 7ll * 24 * 3600 * 1000000000ll;
	o->max_stream_bytes = 10ll << 30;
	o->duplicate_window_ns = 2ll * 60 * 1000000000ll;
	o->bucket = FLEET_KV_DEFAULT_BUCKET;
	o->out_name = "events";
	o->max_file_bytes = 64u << 20;
	o->fetch_batch = 128;
	o->ack_wait_ns = 30ll * 1000000000ll;
	o->max_deliver = 5;
	o->max_msgs_per_host = 50000;
	o->fetch_max_bytes = 64ll << 20;
	o->stats_interval_s = 30;
	o->nats_monitor_interval_s = 60;
	batch_limits_default(&o->limits);
	gw_log_init_style(&o->log, GW_LOG_INFO, GW_LOG_STAMPED);
	tamper_opts_default(&o->tamper);
}

static uint64_t rejected_total(const struct fleet_view *v)
{
	uint64_t n = 0;

	for (int r = 1; r < BATCH_VERDICT_COUNT; r++)
		n += v->rejected[r];
	return n;
}

/* batches= and events= are this collector's own (written and acked since it started); the
 * fleet_ figures are the whole fleet's as its view of the bucket has them. */
static void log_stats(struct collector *c, const char *when)
{
	gw_info(&c->o->log,
		"%s: batches=%" PRIu64 " events=%" PRIu64 " fleet_batches=%" PRIu64
		" fleet_repeats=%" PRIu64 " fleet_rejected=%" PRIu64 " hosts=%u bytes_written=%" PRIu64
		" rotations=%" PRIu64 " write_failures=%" PRIu64 " store_failures=%" PRIu64
		" bucket_conflicts=%" PRIu64 " fleet_findings_unpublished=%" PRIu64 " busy_s=%.3f",
		when, c->own_batches, c->own_events, c->view.batches, c->view.repeats,
		rejected_total(&c->view), HASH_COUNT(c->view.hosts), c->out.bytes_written,
		c->out.rotations, c->write_failures, c->store_failures, c->kv_conflicts,
		c->findings_unpublished, (c->last_group_done_ns - c->first_group_ns) / 1e9);
}

/* fopencookie write callback: stdio's buffer drains into the collector's line buffer. */
static ssize_t lines_write(void *cookie, const char *data, size_t len)
{
	struct strbuf *sb = cookie;

	strbuf_append(sb, data, len);
	return sb->failed ? 0 : (ssize_t)len;
}

bool consumer_stop_requested(struct collector *c)
{
	struct signalfd_siginfo si;

	while (read(c->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) {
			gw_info(&c->o->log, "signal %u: stopping", si.ssi_signo);
			return true;
		}
	}
	return false;
}

/* Hosts of different employees behind one address, from the server's client list. */
static void check_egress(struct collector *c)
{
	struct nats_client_addr *clients = NULL;
	struct fleet_alert *alerts;
	size_t n = 0;
	char err[256];

	if (nats_monitor_connz(c->o->nats_monitor, &clients, &n, err, sizeof(err))) {
		gw_warn(&c->o->log, "nats monitoring: %s", err);
		return;
	}
	alerts = calloc(FLEET_ALERTS_MAX, sizeof(*alerts));
	if (alerts)
		consumer_raise(c, alerts, fleet_detect_egress(&c->view, clients, n, alerts,
							      FLEET_ALERTS_MAX),
			       now_ns(CLOCK_REALTIME));
	free(alerts);
	free(clients);
}

static int setup(struct collector *c)
{
	struct collector_opts *o = c->o;
	sigset_t mask;
	int rc;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGPIPE);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	c->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (c->sig_fd < 0) {
		gw_err(&o->log, "signalfd: %s", strerror(errno));
		return -1;
	}

	c->lines_out = fopencookie(&c->lines, "w", (cookie_io_functions_t){ .write = lines_write });
	if (!c->lines_out || setvbuf(c->lines_out, NULL, _IOFBF, 1 << 16) != 0) {
		gw_err(&o->log, "line buffer: %s", strerror(errno));
		return -1;
	}

	rc = ndjson_writer_open(&c->out, o->out_dir, o->out_name, o->max_file_bytes, o->keep_files);
	if (rc < 0) {
		gw_err(&o->log, "opening output %s/%s.ndjson: %s", o->out_dir,
			o->out_name, strerror(-rc));
		return -1;
	}
	return 0;
}

static void teardown(struct collector *c)
{
	gwc_metrics_stop(c->metrics);
	consumer_stream_close(c);
	ndjson_writer_close(&c->out);
	fleet_view_free(&c->view);
	strbuf_free(&c->inflated);
	if (c->lines_out)
		fclose(c->lines_out);
	strbuf_free(&c->lines);
	if (c->sig_fd >= 0)
		close(c->sig_fd);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
}

int collector_run(struct collector_opts *o)
{
	struct collector c = { .o = o, .sig_fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER,
			       .cond = PTHREAD_COND_INITIALIZER };
	struct pending *p;
	bool stop = false;
	int rc = 0;

	fleet_view_init(&c.view);
	strbuf_init(&c.inflated, 0);
	strbuf_init(&c.lines, 0);
	c.out.fd = c.out.dir_fd = -1;
	p = calloc(o->fetch_batch, sizeof(*p));
	if (!p || setup(&c) < 0) {
		rc = 1;
		goto out;
	}
	if (o->metrics_addr) {
		char err[256];

		c.metrics = gwc_metrics_start(o->metrics_addr, &o->log, err, sizeof(err));
		if (!c.metrics) {
			gw_err(&o->log, "%s", err);
			rc = 1;
			goto out;
		}
	}
	if (consumer_stream_connect(&c, &stop) < 0)
		goto out;	/* stopped by a signal before nats-server was reachable */
	c.last_msg_ns = c.last_stats_ns = c.last_refresh_ns = now_ns(CLOCK_MONOTONIC);

	while (!stop && !(stop = consumer_stop_requested(&c))) {
		natsMsgList list = { 0 };
		jsFetchRequest req;
		natsStatus s;
		uint64_t now;

		jsFetchRequest_Init(&req);
		req.Batch = o->fetch_batch;
		req.MaxBytes = o->fetch_max_bytes;
		req.Expires = 1000ll * 1000000;
		s = natsSubscription_FetchRequest(&list, c.sub, &req);
		now = now_ns(CLOCK_MONOTONIC);
		if (s == NATS_OK && list.Count > 0) {
			if (!c.first_group_ns)
				c.first_group_ns = now;
			consumer_group_process(&c, &list, p, &stop);
			natsMsgList_Destroy(&list);
			c.last_msg_ns = now;
			c.last_group_done_ns = now_ns(CLOCK_MONOTONIC);
		} else if (s == NATS_TIMEOUT || (s == NATS_OK && list.Count == 0)) {
			natsMsgList_Destroy(&list);
			if (o->idle_exit_s && now - c.last_msg_ns > o->idle_exit_s * 1000000000ull) {
				gw_info(&o->log, "idle for %d s: exiting", o->idle_exit_s);
				break;
			}
		} else {
			natsMsgList_Destroy(&list);
			gw_warn(&o->log, "fetch: %s: %s; retrying", natsStatus_GetText(s),
				nats_GetLastError(NULL));
			usleep(500000);
		}
		consumer_stream_publish_metrics(&c);
		if (now - c.last_refresh_ns >= FLEET_REFRESH_S * 1000000000ull) {
			fleet_kv_refresh(c.kv, &c.view, &o->log);	/* other collectors' hosts */
			c.last_refresh_ns = now;
		}
		if (o->nats_monitor &&
		    now - c.last_egress_ns >= o->nats_monitor_interval_s * 1000000000ull) {
			check_egress(&c);
			c.last_egress_ns = now;
		}
		if (o->stats_interval_s && now - c.last_stats_ns > o->stats_interval_s * 1000000000ull) {
			log_stats(&c, "stats");
			c.last_stats_ns = now;
		}
	}
	log_stats(&c, "exit");
out:
	teardown(&c);
	free(p);
	return rc;
}
