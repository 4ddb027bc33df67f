#include "agent.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "gw_events.h"
#include "privs.h"
#include "procfs.h"

#define ARENA_BYTES (256 << 10)

uint64_t gw_now_boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t gw_now_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void gw_options_defaults(struct gw_options *o)
{
	memset(o, 0, sizeof(*o));
	o->hooks.ringbuf_bytes = 4u << 20; /* as the fleet config: ~1 s of a 10k/s exec storm */
	o->hooks.wakeup_bytes = 256u << 10;
	o->hooks.trace_forks = true;
	o->hooks.process_flavour = GW_HOOK_AUTO;
	/* a share no healthy host reaches: off until the ring is a quarter full */
	o->hooks.uid_rate = 2000;
	o->hooks.uid_burst = 1000;
	o->hooks.uid_gate_pct = 25;
	o->hooks.reserve_pct = 25;
	o->tick_ms = 100;
	o->stats_interval_s = 60;
	o->proc_table_max = 65536;
	o->proc_table_bytes = 16ull << 20;
	o->proc_grace_s = 30;
	o->ancestors_max = 8;
	o->proc_root = "/proc";
}

int agent_init(struct gw_agent *a, const struct gw_options *opt)
{
	int err;

	memset(a, 0, sizeof(*a));
	a->opt = *opt;
	a->epoll_fd = a->timer_fd = a->signal_fd = -1;
	hooks_init(&a->hooks);
	netns_iter_init(&a->netns_iter);
	a->next_event_id = 1;
	a->started_ns = gw_now_boottime_ns();
	a->realtime_offset_ns = (int64_t)(gw_now_realtime_ns() - a->started_ns);
	err = gw_boot_init(&a->boot, NULL);
	if (err)
		return err;
	{
		char mountinfo[PATH_MAX];

		snprintf(mountinfo, sizeof(mountinfo), "%s/self/mountinfo", opt->proc_root);
		if (procfs_find_cgroup2_root(mountinfo, a->cgroup2_root, sizeof(a->cgroup2_root)))
			a->cgroup2_root[0] = '\0';
	}
	proc_table_init(&a->procs, opt->proc_table_max, (uint64_t)opt->proc_grace_s * 1000000000ULL);
	a->procs.max_bytes = opt->proc_table_bytes;
	uevents_init(&a->uevents);
	if (gw_arena_init(&a->arena, ARENA_BYTES))
		return -ENOMEM;
	return 0;
}

int agent_register(struct gw_agent *a, const struct gw_domain *d)
{
	struct gw_domain *slot;

	if (a->n_domains == GW_DOMAIN_MAX)
		return -ENOSPC;
	for (int i = 0; i < GW_DOMAIN_RECORD_TYPES && d->record_types[i]; i++)
		if (d->record_types[i] >= GW_RECORD_TYPE_MAX || a->by_record[d->record_types[i]])
			return -EEXIST;
	slot = &a->domains[a->n_domains++];
	*slot = *d;
	for (int i = 0; i < GW_DOMAIN_RECORD_TYPES && d->record_types[i]; i++)
		a->by_record[d->record_types[i]] = slot;
	return 0;
}

void *agent_domain_state(const struct gw_agent *a, const char *name)
{
	for (int i = 0; i < a->n_domains; i++)
		if (!strcmp(a->domains[i].name, name))
			return a->domains[i].state;
	return NULL;
}

void agent_publish(struct gw_agent *a, const struct gw_fact *f)
{
	for (int i = 0; i < a->n_domains; i++)
		if (a->domains[i].observe)
			a->domains[i].observe(a, a->domains[i].state, f);
}

Ghostwatch__V1__FraudScore *agent_fraud_score(struct gw_agent *a, uint64_t realtime_ns)
{
	return a->score.get ? a->score.get(a, a->score.ctx, realtime_ns) : NULL;
}

Ghostwatch__V1__ActivityProfile *agent_activity_profile(struct gw_agent *a)
{
	return a->profile.get ? a->profile.get(a, a->profile.ctx) : NULL;
}

int agent_add_sink(struct gw_agent *a, struct gw_sink sink)
{
	if (a->n_sinks == GW_MAX_SINKS)
		return -ENOSPC;
	a->sinks[a->n_sinks++] = sink;
	return 0;
}

void agent_emit(struct gw_agent *a, gw_event_t *ev)
{
	ev->event_id = a->next_event_id++;
	ev->time_ns = a->record_time_ns ? a->record_time_ns : gw_now_realtime_ns();
	for (int i = 0; i < a->n_sinks; i++)
		a->sinks[i].emit(a, ev, a->sinks[i].ctx);
	a->counters.emitted++;
}

static void record_begin(struct gw_agent *a, const struct gw_event_hdr *hdr)
{
	gw_arena_reset(&a->arena);
	a->record_time_ns = hdr->ktime_ns + (uint64_t)a->realtime_offset_ns;
}

static void record_end(struct gw_agent *a, const struct gw_event_hdr *hdr, int ret)
{
	a->record_time_ns = 0;
	if (ret)
		a->counters.bad_records++;
	else
		a->counters.records[hdr->type]++;
}

int agent_dispatch_record(struct gw_agent *a, const void *data, size_t size)
{
	const struct gw_event_hdr *hdr = data;
	struct gw_domain *d;

	if (size < sizeof(*hdr) || hdr->size > size || hdr->type >= GW_RECORD_TYPE_MAX) {
		a->counters.bad_records++;
		return 0;
	}
	d = a->by_record[hdr->type];
	record_begin(a, hdr);
	record_end(a, hdr, d && d->handle_record ? d->handle_record(a, d->state, data, hdr->size) : -1);
	return 0;
}

int agent_handle_own_record(struct gw_agent *a, const void *data, size_t size,
			    int (*handle)(struct gw_agent *a, void *state, const void *data,
					  size_t size),
			    void *state)
{
	const struct gw_event_hdr *hdr = data;
	int ret;

	if (size < sizeof(*hdr) || hdr->size > size || hdr->type >= GW_RECORD_TYPE_MAX) {
		a->counters.bad_records++;
		return -1;
	}
	record_begin(a, hdr);
	ret = handle(a, state, data, hdr->size);
	record_end(a, hdr, ret);
	return ret;
}

static int on_ring_record(void *ctx, void *data, size_t size)
{
	struct gw_agent *a = ctx;

	ring_audit_saw(&a->hooks.audit, size);
	return agent_dispatch_record(a, data, size);
}

static void flush_sinks(struct gw_agent *a)
{
	for (int i = 0; i < a->n_sinks; i++)
		if (a->sinks[i].flush)
			a->sinks[i].flush(a, a->sinks[i].ctx);
}

static void emit_stats(struct gw_agent *a)
{
	gw_event_t *ev;

	gw_arena_reset(&a->arena);
	ev = agent_build_stats(a);
	if (ev)
		agent_emit(a, ev);
}

void agent_tick(struct gw_agent *a, uint64_t now_ns)
{
	if (now_ns - a->last_evict_ns >= 1000000000ULL) {
		proc_table_evict_expired(&a->procs, now_ns);
		a->last_evict_ns = now_ns;
	}
	for (int i = 0; i < a->n_domains; i++)
		if (a->domains[i].tick)
			a->domains[i].tick(a, a->domains[i].state, now_ns);
	if (a->opt.stats_interval_s &&
	    now_ns - a->last_stats_ns >= (uint64_t)a->opt.stats_interval_s * 1000000000ULL) {
		emit_stats(a);
		a->last_stats_ns = now_ns;
	}
	if (a->opt.duration_s && now_ns - a->started_ns >= (uint64_t)a->opt.duration_s * 1000000000ULL)
		a->stopping = true;
}

/* Everything is attached: from here the agent reads untrusted input, with what privs.h keeps. */
static int drop_privileges(struct gw_agent *a)
{
	char why[256];
	bool bounded;
	int ret;

	if (a->opt.keep_privileges) {
		snprintf(a->privileges, sizeof(a->privileges), "all (kept on request)");
		fprintf(stderr, "ghostwatch: privileges: every capability kept (keep_privileges)\n");
		return 0;
	}
	ret = netns_iter_start(&a->netns_iter);
	if (ret)
		fprintf(stderr, "ghostwatch: namespace helper: %s (open connections in other network "
				"namespaces are counted at close only)\n", strerror(-ret));
	ret = privs_drop(PRIVS_AGENT, a->privileges, sizeof(a->privileges), &bounded, why,
			 sizeof(why));
	if (ret) {
		fprintf(stderr, "ghostwatch: cannot drop privileges: %s (a domain starts its threads "
				"in its started op, not in start; keep_privileges skips the drop)\n", why);
		return ret;
	}
	fprintf(stderr, "ghostwatch: privileges: kept %s%s, no_new_privs\n", a->privileges,
		bounded ? ", bounding set the same" :
			  "; bounding set left as it was (no CAP_SETPCAP)");
	return 0;
}

struct loader {
	struct gw_agent *a;
	struct gw_domain *d;
	int ret;
};

static void *loader_run(void *arg)
{
	struct loader *l = arg;

	l->ret = l->d->load(l->a, l->d->state);
	return NULL;
}

static int domain_start(struct gw_agent *a, int i, bool loaded)
{
	struct gw_domain *d = &a->domains[i];
	int ret = 0;

	a->hooks.rank = i;
	if (d->load && !loaded)
		ret = d->load(a, d->state);
	if (!ret && d->start)
		ret = d->start(a, d->state);
	return ret;
}

/* Waits for the loader thread, then starts its domain; ret: how the others' starts went. */
static int loader_join(struct gw_agent *a, struct loader *l, int i, int ret)
{
	pthread_join(a->hooks.loader, NULL);
	pthread_mutex_lock(&a->hooks.lock);
	a->hooks.loading = false;
	pthread_mutex_unlock(&a->hooks.lock);
	if (!ret)
		ret = l->ret;
	if (!ret)
		ret = domain_start(a, i, true);
	return ret;
}

int agent_start(struct gw_agent *a)
{
	struct loader l = { a, NULL, 0 };
	int ret, loader = -1;

	ret = procfs_seed(&a->procs, &a->boot, a->opt.proc_root, a->cgroup2_root);
	if (ret < 0)
		fprintf(stderr, "ghostwatch: reading %s: %s (continuing without a seed)\n",
			a->opt.proc_root, strerror(-ret));
	ret = 0;
	/*
	 * In the order registered: the first domain's object (process) holds the ring and the drop
	 * counters the others share (hooks_share_maps); records wait in the ring until it is read.
	 * After it, one domain's load may run on the loader thread meanwhile.
	 */
	for (int i = 0; !ret && i < a->n_domains; i++) {
		struct gw_domain *d = &a->domains[i];

		if (i > 0 && d->load && loader < 0) {
			l.d = d;
			pthread_mutex_lock(&a->hooks.lock);
			a->hooks.loader_rank = i;
			a->hooks.loading = !pthread_create(&a->hooks.loader, NULL, loader_run, &l);
			pthread_mutex_unlock(&a->hooks.lock);
			if (a->hooks.loading) {
				loader = i;
				continue;
			}
		}
		ret = domain_start(a, i, false);
	}
	if (loader >= 0)
		ret = loader_join(a, &l, loader, ret);
	if (ret)
		return ret;
	hooks_sort_status(&a->hooks);
	hook_chain_known_release(&a->hooks.known);
	if (a->hooks.events_fd < 0) {
		fprintf(stderr, "ghostwatch: no domain loaded the ring buffer\n");
		return -ENOENT;
	}
	ret = hooks_open_ring(&a->hooks, on_ring_record, a);
	if (ret) {
		fprintf(stderr, "ghostwatch: ring buffer: %s\n", strerror(-ret));
		return ret;
	}
	ret = drop_privileges(a);
	for (int i = 0; !ret && i < a->n_domains; i++)
		if (a->domains[i].started)
			ret = a->domains[i].started(a, a->domains[i].state);
	return ret;
}

/* No-op: the handler only exists so that a signal inherited as ignored (a daemon started with
 * `&` from a script ignores SIGINT) is delivered again; signalfd reads it. */
static void note_signal(int sig)
{
	(void)sig;
}

static int set_tick(struct gw_agent *a, uint32_t ms)
{
	struct itimerspec its = { 0 };

	its.it_interval.tv_sec = ms / 1000;
	its.it_interval.tv_nsec = (long)(ms % 1000) * 1000000L;
	its.it_value = its.it_interval;
	return timerfd_settime(a->timer_fd, 0, &its, NULL);
}

static void set_reader_idle(struct gw_agent *a, uint32_t idle)
{
	uint32_t key = 0;

	if (a->hooks.idle_fd >= 0)
		bpf_map_update_elem(a->hooks.idle_fd, &key, &idle, BPF_ANY);
}

static int setup_loop(struct gw_agent *a)
{
	struct sigaction sa = { .sa_handler = note_signal };
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	a->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	a->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	a->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (a->signal_fd < 0 || a->timer_fd < 0 || a->epoll_fd < 0)
		return -errno;
	if (set_tick(a, a->opt.tick_ms))
		return -errno;
	ev.data.fd = a->signal_fd;
	if (epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, a->signal_fd, &ev))
		return -errno;
	ev.data.fd = a->timer_fd;
	if (epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, a->timer_fd, &ev))
		return -errno;
	ev.data.fd = ring_buffer__epoll_fd(a->hooks.ring);
	if (epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, ev.data.fd, &ev))
		return -errno;
	ev.data.fd = uevents_fd(a);
	if (ev.data.fd >= 0 && epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, ev.data.fd, &ev))
		return -errno;
	return 0;
}

/* Returns how many records it dispatched. */
static int drain_ring(struct gw_agent *a)
{
	int n = ring_buffer__consume(a->hooks.ring);

	flush_sinks(a);
	return n;
}

/* How long an idle agent may sleep: a second, or less when a domain's tick is due sooner. */
static uint32_t idle_tick_ms(struct gw_agent *a, uint64_t now_ns)
{
	uint64_t ms = a->opt.tick_ms > GW_IDLE_TICK_MS ? a->opt.tick_ms : GW_IDLE_TICK_MS;

	for (int i = 0; i < a->n_domains; i++) {
		uint64_t due;

		if (!a->domains[i].next_tick)
			continue;
		due = a->domains[i].next_tick(a, a->domains[i].state, now_ns);
		if (!due)
			continue;
		if (due <= now_ns)
			return a->opt.tick_ms;
		if ((due - now_ns + 999999) / 1000000 < ms)
			ms = (due - now_ns + 999999) / 1000000;
	}
	return ms > a->opt.tick_ms ? (uint32_t)ms : a->opt.tick_ms;
}

/* Records flow again, or a domain's work is due soon: drain on the short tick. */
static void go_active(struct gw_agent *a)
{
	a->reader_idle = false;
	set_reader_idle(a, 0);
	set_tick(a, a->opt.tick_ms);
}

/*
 * A drain found the ring empty: ask the BPF side to wake us for the next record
 * (gw_reader_idle), then drain once more, for a record that came after that drain but before the
 * flag was set and so woke nobody. Then tick slowly: at most once a second, or when a domain's
 * next tick is due.
 */
static void go_idle(struct gw_agent *a, uint64_t now_ns)
{
	uint32_t ms = idle_tick_ms(a, now_ns);

	if (ms <= a->opt.tick_ms)
		return;
	set_reader_idle(a, 1);
	if (drain_ring(a) > 0) {
		set_reader_idle(a, 0);
		return;
	}
	a->reader_idle = true;
	set_tick(a, ms);
}

/* An idle tick: sleep until the next one is due, or drain on the short tick if work is near. */
static void idle_again(struct gw_agent *a, uint64_t now_ns)
{
	uint32_t ms = idle_tick_ms(a, now_ns);

	if (ms <= a->opt.tick_ms)
		go_active(a);
	else
		set_tick(a, ms);
}

static void handle_signals(struct gw_agent *a)
{
	struct signalfd_siginfo si;

	while (read(a->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) {
			stop_sender_capture(&a->stop, &si, a->opt.proc_root);
			a->stopping = true;
		} else if (si.ssi_signo == SIGHUP) {
			for (int i = 0; i < a->n_domains; i++)
				if (a->domains[i].hangup)
					a->domains[i].hangup(a, a->domains[i].state);
			if (a->on_hangup)
				a->on_hangup(a, a->hangup_ctx);
		}
	}
}

int agent_run(struct gw_agent *a)
{
	int ret = setup_loop(a);

	if (ret) {
		fprintf(stderr, "ghostwatch: event loop: %s\n", strerror(-ret));
		return ret;
	}
	emit_stats(a);
	flush_sinks(a);
	a->last_stats_ns = gw_now_boottime_ns();
	while (!a->stopping) {
		struct epoll_event evs[4];
		int n = epoll_wait(a->epoll_fd, evs, 4, -1), n_drained;

		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == a->signal_fd) {
				handle_signals(a);
			} else if (evs[i].data.fd == a->timer_fd) {
				uint64_t expirations, now;

				if (read(a->timer_fd, &expirations, sizeof(expirations)) < 0 &&
				    errno != EAGAIN)
					ret = -errno;
				n_drained = drain_ring(a);
				now = gw_now_boottime_ns();
				agent_tick(a, now);
				if (a->reader_idle)
					idle_again(a, now);
				else if (n_drained <= 0)
					go_idle(a, now);
			} else if (evs[i].data.fd == uevents_fd(a)) {
				uevents_handle(a);
				flush_sinks(a);
			} else {
				drain_ring(a);
				if (a->reader_idle)
					go_active(a);
			}
		}
	}
	drain_ring(a);
	for (int i = 0; i < a->n_domains; i++)
		if (a->domains[i].finish)
			a->domains[i].finish(a, a->domains[i].state);
	emit_stats(a);
	flush_sinks(a);
	return ret;
}

void agent_destroy(struct gw_agent *a)
{
	for (int i = a->n_domains - 1; i >= 0; i--)
		if (a->domains[i].destroy)
			a->domains[i].destroy(a, a->domains[i].state);
	a->n_domains = 0;
	uevents_close(&a->uevents);
	netns_iter_stop(&a->netns_iter);
	hooks_close(&a->hooks);
	proc_table_free(&a->procs);
	loaded_rules_free(&a->rules_files);
	gw_arena_free(&a->arena);
	if (a->epoll_fd >= 0)
		close(a->epoll_fd);
	if (a->timer_fd >= 0)
		close(a->timer_fd);
	if (a->signal_fd >= 0)
		close(a->signal_fd);
}
