/* fleet.c - the fleet daemon: config, batch sink, forwarder, SIGHUP reload. See fleet.h. */
#include "fleet.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/agent.h"
#include "batch.h"
#include "core/config.h"
#include "forwarder.h"
#include "tls_check.h"
#include "common/log.h"

#define EXIT_BAD_CONFIG 2

struct fleet {
	char *config_path;
	struct gw_config *cfg;
	struct gw_log log;
	struct gw_host_identity host;
	struct gw_forwarder *fwd;
	struct gw_batch_builder builder;
	uint64_t window_started_ns; /* CLOCK_BOOTTIME, for cutting */
	uint64_t batches;
	uint64_t filtered;	  /* events of switched-off signals, not batched (by design) */
	uint64_t oversize_drops;  /* one event larger than a batch may be */
	uint64_t nomem_drops;
	uint64_t reloads, reload_failures;
	uint64_t queue_full_logs;
	uint64_t started_ns, boot_time_ns; /* wall clock: this run's start, the host's boot */
	uint8_t *place; /* the last Place event, compact and serialized, for every batch header */
	size_t place_len;
};

static bool signal_enabled(const struct gw_config *cfg, int kind)
{
	if (kind >= 10 && kind <= 19)
		return cfg->signal_process;
	if (kind >= 20 && kind <= 29)
		return cfg->signal_network;
	if (kind >= 30 && kind <= 39)
		return cfg->signal_devices;
	if (kind >= 50 && kind <= 59)
		return cfg->signal_input;
	return true; /* findings, agent stats and anything newer */
}

/* Cuts the current window into a draft and queues it. with_stats: the arena is free to use. */
static void cut_batch(struct fleet *fl, struct gw_agent *a, bool reset_arena)
{
	const Ghostwatch__V1__AgentStats *stats = NULL;
	const Ghostwatch__V1__FraudScore *score;
	const Ghostwatch__V1__ActivityProfile *profile;
	struct gw_batch_draft *d;
	uint64_t now;
	gw_event_t *sev;

	if (reset_arena)
		gw_arena_reset(&a->arena);
	sev = agent_build_stats(a);
	if (sev)
		stats = sev->stats;
	now = gw_now_realtime_ns();
	score = agent_fraud_score(a, now);
	d = gw_batch_cut(&fl->builder, now, stats);
	fl->window_started_ns = gw_now_boottime_ns();
	if (!d) {
		fl->nomem_drops++;
		return;
	}
	if (score && gw_batch_draft_set_score(d, score))
		fl->nomem_drops++;
	profile = agent_activity_profile(a);
	if (profile && gw_batch_draft_set_profile(d, profile))
		fl->nomem_drops++;
	if (fl->place && gw_batch_draft_set_place(d, fl->place, fl->place_len))
		fl->nomem_drops++;
	fl->batches++;
	if (gw_forwarder_submit(fl->fwd, d) == -ENOBUFS && fl->queue_full_logs++ % 100 == 0)
		gw_warn(&fl->log, "batch queue full (spool writer stalled?): window dropped and "
				  "counted (%" PRIu64 " time(s))", fl->queue_full_logs);
}

static void fleet_emit(struct gw_agent *a, const gw_event_t *ev, void *ctx)
{
	struct fleet *fl = ctx;
	int rc;

	if (ev->kind_case == GHOSTWATCH__V1__EVENT__KIND_PLACE) {
		uint8_t *p;
		size_t len;

		if (gw_batch_compact_place(ev->place, &p, &len) == 0) {
			free(fl->place);
			fl->place = p;
			fl->place_len = len;
		} else {
			fl->nomem_drops++;
		}
	}
	if (!signal_enabled(fl->cfg, (int)ev->kind_case)) {
		fl->filtered++;
		return;
	}
	rc = gw_batch_add(&fl->builder, ev);
	if (rc == 1 && fl->fwd) {
		/* full: ev lives in the arena, so the stats for this cut must not reset it */
		cut_batch(fl, a, false);
		rc = gw_batch_add(&fl->builder, ev);
	}
	if (rc == -E2BIG)
		fl->oversize_drops++;
	else if (rc)
		fl->nomem_drops++; /* or a batch full at the start, before the forwarder runs */
}

static void fleet_flush(struct gw_agent *a, void *ctx)
{
	struct fleet *fl = ctx;
	uint64_t now = gw_now_boottime_ns();

	if (now - fl->window_started_ns >= (uint64_t)fl->cfg->window_seconds * 1000000000ULL)
		cut_batch(fl, a, true);
}

static int start_forwarder(struct fleet *fl, const struct gw_config *cfg,
			   const struct gw_forwarder_carry *carry)
{
	char err[GW_CONFIG_ERR_LEN];
	struct gw_host_identity host;

	if (gw_host_identity_load(&host, cfg->host_id, cfg->tls_cert, err, sizeof(err))) {
		gw_err(&fl->log, "%s: %s", cfg->path, err);
		return -1;
	}
	snprintf(host.employee_id, sizeof(host.employee_id), "%s", cfg->employee_id);
	snprintf(host.employee_timezone, sizeof(host.employee_timezone), "%s",
		 cfg->employee_timezone);
	host.agent_start_ns = fl->started_ns;
	host.boot_time_ns = fl->boot_time_ns;
	fl->fwd = gw_forwarder_start(cfg, &host, &fl->log, carry, err, sizeof(err));
	if (!fl->fwd) {
		gw_err(&fl->log, "%s: %s", cfg->path, err);
		return -1;
	}
	fl->host = host;
	if (strcmp(host.host_id, host.cert_identity) != 0)
		gw_warn(&fl->log,
			"host_id %s differs from the certificate CN %s: a fleet server that maps "
			"certificates to per-host subjects (verify_and_map) will refuse the publishes",
			host.host_id, host.cert_identity);
	gw_info(&fl->log,
		"fleet: host_id=%s hostname=%s cert CN=%s -> %s (%zu server(s)), subject %s.%s, "
		"window %us",
		host.host_id, host.hostname, host.cert_identity, cfg->collector_urls[0],
		cfg->n_collector_urls, cfg->subject_prefix, host.host_id, cfg->window_seconds);
	return 0;
}

static void fleet_reload(struct gw_agent *a, void *ctx)
{
	struct fleet *fl = ctx;
	char err[GW_CONFIG_ERR_LEN];
	struct gw_config *next = gw_config_load(fl->config_path, err, sizeof(err));
	struct gw_config *prev = fl->cfg;

	(void)a;
	if (!next) {
		fl->reload_failures++;
		gw_err(&fl->log, "reload refused, keeping the running config: %s", err);
		return;
	}
	if (gw_config_transport_changed(prev, next)) {
		struct gw_forwarder_carry carry;

		if (strcmp(prev->spool_dir, next->spool_dir) != 0)
			gw_warn(&fl->log, "reload: spool.dir moves to %s; batches still unsent in %s "
					  "go out when an agent runs with that directory again",
				next->spool_dir, prev->spool_dir);

		gw_forwarder_stop(fl->fwd, &carry);
		fl->fwd = NULL;
		if (start_forwarder(fl, next, &carry)) {
			fl->reload_failures++;
			gw_err(&fl->log, "reload: the new collector/TLS settings do not work; "
					 "keeping the running config");
			if (start_forwarder(fl, prev, &carry)) {
				gw_err(&fl->log, "reload: cannot restart the previous forwarder either; "
						 "stopping");
				a->stopping = true;
			}
			gw_config_free(next);
			return;
		}
	} else {
		gw_forwarder_reconfigure(fl->fwd, next);
	}
	if (prev->ringbuf_bytes != next->ringbuf_bytes)
		gw_warn(&fl->log, "reload: ringbuf_bytes takes effect at the next restart");
	if (strcmp(prev->metrics_listen, next->metrics_listen))
		gw_warn(&fl->log, "reload: metrics.listen takes effect at the next restart");
	gw_log_set_level(&fl->log, next->log_level);
	if (redact_set_patterns(&a->procs.redact, (const char *const *)next->redact_patterns,
				next->n_redact_patterns, err, sizeof(err)))
		gw_warn(&fl->log, "reload: keeping the previous redact patterns: %s", err);
	a->opt.stats_interval_s = next->stats_seconds;
	fl->builder.max_events = next->batch_max_events;
	fl->cfg = next;
	gw_config_free(prev);
	fl->reloads++;
	gw_info(&fl->log, "reloaded %s (window %us, log level %s, signals process=%d network=%d "
			  "devices=%d input=%d)",
		next->path, next->window_seconds, gw_log_level_name(next->log_level),
		next->signal_process, next->signal_network, next->signal_devices, next->signal_input);
}

/* The transport's state for the rest of the agent (the ops endpoint), on the loop's thread. */
static bool fleet_transport(struct gw_agent *a, void *ctx, struct gw_transport_stats *ts)
{
	struct fleet *fl = ctx;
	struct gw_forwarder_stats st;

	(void)a;
	if (!fl->fwd)
		return false;
	gw_forwarder_peek_stats(fl->fwd, &st);
	*ts = (struct gw_transport_stats){
		.connected = st.connected,
		.spool_bytes = st.spool.bytes,
		.spool_batches = st.spool.unacked_batches,
		.spool_events = st.spool.unacked_events,
		.oldest_unacked_ns = st.oldest_unacked_ns,
		.last_ack_ns = st.last_ack_ns,
		.reconnects = st.reconnects,
		.published = st.published,
		.publish_errors = st.publish_errors,
		.queue_dropped_batches = st.queue_dropped_batches,
		.spool_dropped_batches = st.spool.total_dropped_batches,
	};
	return true;
}

static void log_hooks(struct fleet *fl, const struct gw_agent *a)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "live hooks:");

	for (int i = 0; i < a->hooks.n_status && n > 0 && (size_t)n < sizeof(line); i++)
		n += snprintf(line + n, sizeof(line) - n, " %s=%s", a->hooks.status[i].signal,
			      a->hooks.status[i].hook);
	gw_info(&fl->log, "%s", line);
	for (int i = 0; i < a->hooks.n_status; i++)
		if (a->hooks.status[i].error[0])
			gw_info(&fl->log, "  %s: %s", a->hooks.status[i].signal,
				a->hooks.status[i].error);
}

static void log_summary(struct fleet *fl)
{
	struct gw_forwarder_stats st;

	gw_forwarder_get_stats(fl->fwd, &st);
	gw_info(&fl->log,
		"fleet summary: batches cut=%" PRIu64 " spooled=%" PRIu64 " published=%" PRIu64
		" (events %" PRIu64 ", %" PRIu64 " bytes, duplicates %" PRIu64 ", suspicious %" PRIu64
		") publish_errors=%" PRIu64
		" queue_dropped=%" PRIu64 " spool: waiting=%" PRIu64 " cap_dropped=%" PRIu64
		" oversize_dropped=%" PRIu64 " filtered=%" PRIu64,
		fl->batches, st.spooled, st.published, st.published_events, st.bytes_published,
		st.duplicates, st.suspicious_duplicates, st.publish_errors, st.queue_dropped_batches,
		st.spool.unacked_batches,
		st.spool.total_dropped_batches, fl->oversize_drops, fl->filtered);
}

int fleet_run(const char *config_path, bool check_only,
	      int (*compose)(struct gw_agent *a, const struct gw_config *cfg))
{
	char err[GW_CONFIG_ERR_LEN];
	struct gw_options opt;
	struct fleet fl = { 0 };
	struct gw_agent *a = NULL;
	sigset_t mask;
	int ret = 1;

	gw_log_init(&fl.log, GW_LOG_INFO);
	fl.started_ns = gw_now_realtime_ns();
	fl.boot_time_ns = fl.started_ns - gw_now_boottime_ns();
	fl.cfg = gw_config_load(config_path, err, sizeof(err));
	if (!fl.cfg) {
		gw_err(&fl.log, "bad config, not starting: %s", err);
		return EXIT_BAD_CONFIG;
	}
	gw_log_set_level(&fl.log, fl.cfg->log_level);
	if (check_only) {
		struct gw_host_identity host;

		if (gw_host_identity_load(&host, fl.cfg->host_id, fl.cfg->tls_cert, err,
					  sizeof(err))) {
			gw_err(&fl.log, "%s: %s", config_path, err);
			gw_config_free(fl.cfg);
			return EXIT_BAD_CONFIG;
		}
		if (tls_check_config(fl.cfg, &fl.log)) {
			gw_config_free(fl.cfg);
			return EXIT_BAD_CONFIG;
		}
		printf("%s: ok (host_id %s, certificate CN %s)\n", config_path, host.host_id,
		       host.cert_identity);
		gw_config_free(fl.cfg);
		return 0;
	}
	/* unusable TLS files are a config error: no restart fixes them */
	if (tls_check_config(fl.cfg, &fl.log)) {
		gw_config_free(fl.cfg);
		return EXIT_BAD_CONFIG;
	}
	/*
	 * The event loop reads SIGINT/SIGTERM/SIGHUP from a signalfd, which only works if no thread
	 * can take them: block them before the forwarder's (and cnats') threads inherit the mask.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	fl.config_path = strdup(config_path);
	if (!fl.config_path)
		goto out;

	gw_options_defaults(&opt);
	opt.hooks.ringbuf_bytes = fl.cfg->ringbuf_bytes;
	opt.stats_interval_s = fl.cfg->stats_seconds;
	opt.keep_privileges = fl.cfg->keep_privileges;
	a = calloc(1, sizeof(*a));
	if (!a || agent_init(a, &opt) || compose(a, fl.cfg)) {
		gw_err(&fl.log, "cannot initialise: %s", strerror(errno));
		goto out;
	}
	a->on_hangup = fleet_reload;
	a->hangup_ctx = &fl;
	a->transport = (struct gw_transport_source){ .get = fleet_transport, .ctx = &fl };
	gw_batch_builder_init(&fl.builder, fl.cfg->batch_max_events, gw_now_realtime_ns());
	fl.window_started_ns = gw_now_boottime_ns();
	agent_add_sink(a, (struct gw_sink){ .emit = fleet_emit, .flush = fleet_flush, .ctx = &fl });
	/* the forwarder's threads (and libnats') start after the agent has dropped its
	 * capabilities, which are per thread: they inherit the reduced sets */
	if (agent_start(a) || start_forwarder(&fl, fl.cfg, NULL))
		goto out;
	log_hooks(&fl, a);
	ret = agent_run(a) ? 1 : 0;
	/* the last partial window goes to the spool too */
	cut_batch(&fl, a, true);
	/* a stop by hand is reported in that window, and this agent may never start again to send
	 * it: give it a moment to reach the collector */
	if (a->stop.origin == GW_STOP_OTHER && !gw_forwarder_wait_drained(fl.fwd, 3000))
		gw_warn(&fl.log, "the final batch (it reports this stop) is still unsent: it goes "
				 "out from the spool at the next start");
	agent_print_summary(a, stderr);
out:
	if (fl.fwd) {
		log_summary(&fl);
		gw_forwarder_stop(fl.fwd, NULL);
	}
	if (a) {
		agent_destroy(a);
		free(a);
	}
	gw_batch_builder_free(&fl.builder);
	free(fl.place);
	gw_config_free(fl.cfg);
	free(fl.config_path);
	return ret;
}
