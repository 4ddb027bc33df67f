/* consumer.c - the collector's main loop: setup, fetch, state saves, stats, teardown. */
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

#include "fleet_state.h"
#include "ndjson_writer.h"
#include "event_line.h"
#include "strbuf.h"

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
	o->out_name = "events";
	o->max_file_bytes = 64u << 20;
	o->fetch_batch = 128;
	o->ack_wait_ns = 30ll * 1000000000ll;
	o->max_deliver = 5;
	o->max_msgs_per_host = 50000;
	o->fetch_max_bytes = 64ll << 20;
	o->stats_interval_s = 30;
	batch_limits_default(&o->limits);
	gw_log_init_style(&o->log, GW_LOG_INFO, GW_LOG_STAMPED);
	tamper_opts_default(&o->tamper);
}

void consumer_save_state(struct collector *c, bool force)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC);
	int rc;

	if (!c->state_dirty || (!force && now - c->last_save_ns < 1000000000ull))
		return;
	rc = fleet_state_save(&c->view, c->o->state_path);
	if (rc < 0) {
		gw_err(&c->o->log, "saving state %s: %s", c->o->state_path, strerror(-rc));
		return;
	}
	c->state_dirty = false;
	c->last_save_ns = now;
}

static uint64_t rejected_total(const struct fleet_view *v)
{
	uint64_t n = 0;

	for (int r = 1; r < BATCH_VERDICT_COUNT; r++)
		n += v->rejected[r];
	return n;
}

static void log_stats(struct collector *c, const char *when)
{
	gw_info(&c->o->log,
		"%s: batches=%" PRIu64 " events=%" PRIu64 " repeats=%" PRIu64 " rejected=%" PRIu64
		" hosts=%u bytes_written=%" PRIu64 " rotations=%" PRIu64 " write_failures=%" PRIu64
		" busy_s=%.3f",
		when, c->view.batches, c->view.events, c->view.repeats, rejected_total(&c->view),
		HASH_COUNT(c->view.hosts), c->out.bytes_written, c->out.rotations, c->write_failures,
		(c->last_group_done_ns - c->first_group_ns) / 1e9);
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

	rc = fleet_state_load(&c->view, o->state_path);
	if (rc == -ENOENT) {
		gw_info(&o->log, "no state file %s yet: starting an empty fleet view",
			o->state_path);
	} else if (rc == -EINVAL) {
		/* A state file of an older collector, or a damaged one: the stream still holds every
		 * batch, so set it aside for a person to read and go on rather than refuse to run. */
		char aside[PATH_MAX];

		snprintf(aside, sizeof(aside), "%s.unreadable", o->state_path);
		if (rename(o->state_path, aside)) {
			gw_err(&o->log, "state file %s is not a state file this collector reads, and "
			       "moving it to %s failed: %s", o->state_path, aside, strerror(errno));
			return -1;
		}
		gw_warn(&o->log, "state file %s is not a state file this collector reads (older "
			"format or damaged): moved to %s; starting an empty fleet view",
			o->state_path, aside);
	} else if (rc < 0) {
		gw_err(&o->log, "state file %s: %s", o->state_path, strerror(-rc));
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
	c.state_dirty = true;	/* a state file from the start on, so `report` works */
	consumer_save_state(&c, true);
	if (consumer_stream_connect(&c, &stop) < 0)
		goto out;	/* stopped by a signal before nats-server was reachable */
	c.last_msg_ns = c.last_stats_ns = now_ns(CLOCK_MONOTONIC);

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
		consumer_save_state(&c, false);
		consumer_stream_publish_metrics(&c);
		if (o->stats_interval_s && now - c.last_stats_ns > o->stats_interval_s * 1000000000ull) {
			log_stats(&c, "stats");
			c.last_stats_ns = now;
		}
	}
	c.state_dirty = true;
	consumer_save_state(&c, true);
	log_stats(&c, "exit");
out:
	teardown(&c);
	free(p);
	return rc;
}
