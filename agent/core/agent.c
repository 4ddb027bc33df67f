#include "agent.h"

#include <errno.h>
#include <limits.h>
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
#include "procfs.h"

#define ARENA_BYTES (256 << 10)

static const char *const record_names[GW_RECORD_TYPE_MAX] = {
	[GW_EV_EXEC] = "exec",
	[GW_EV_EXIT] = "exit",
	[GW_EV_FORK] = "fork",
	[GW_EV_TCP_CONNECT] = "tcp_connect",
	[GW_EV_TCP_ACCEPT] = "tcp_accept",
	[GW_EV_TCP_CLOSE] = "tcp_close",
	[GW_EV_UDP_SEND] = "udp_send",
	[GW_EV_DNS_ANSWER] = "dns_answer",
	[GW_EV_DNS_QUERY] = "dns_query",
	[GW_EV_DEVICE_USB] = "device_usb",
	[GW_EV_DEVICE_HID] = "device_hid",
	[GW_EV_DEVICE_INPUT] = "device_input",
	[GW_EV_CADENCE_WINDOW] = "cadence_window",
};

static const char *const drop_names[GW_DROP_CATEGORY_MAX] = {
	[GW_DROP_EXEC] = "exec",
	[GW_DROP_EXIT] = "exit",
	[GW_DROP_FORK] = "fork",
	[GW_DROP_TCP] = "tcp",
	[GW_DROP_UDP] = "udp",
	[GW_DROP_DNS] = "dns",
	[GW_DROP_DEVICE_USB] = "device_usb",
	[GW_DROP_DEVICE_HID] = "device_hid",
	[GW_DROP_DEVICE_INPUT] = "device_input",
	[GW_DROP_CADENCE_WINDOW] = "cadence_window",
	[GW_DROP_CADENCE_STATE] = "cadence_state",
};

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
	o->hooks.ringbuf_bytes = 8u << 20;
	o->hooks.wakeup_bytes = 256u << 10;
	o->hooks.trace_forks = true;
	o->hooks.process_flavour = GW_HOOK_AUTO;
	o->tick_ms = 100;
	o->stats_interval_s = 60;
	o->proc_table_max = 65536;
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
	a->hooks.events_fd = a->hooks.drops_fd = a->hooks.idle_fd = -1;
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

void gw_counter_add(struct gw_counter_list *l, const char *name, uint64_t value)
{
	if (l->n == l->max)
		return;
	l->names[l->n] = name;
	l->values[l->n++] = value;
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
	return agent_dispatch_record(ctx, data, size);
}

static void flush_sinks(struct gw_agent *a)
{
	for (int i = 0; i < a->n_sinks; i++)
		if (a->sinks[i].flush)
			a->sinks[i].flush(a, a->sinks[i].ctx);
}

/* Counters as a repeated Counter field, in the arena. */
static Ghostwatch__V1__Counter **counters_proto(struct gw_agent *a, const char *const names[],
						const uint64_t *values, size_t n, size_t *n_out,
						bool keep_zero)
{
	Ghostwatch__V1__Counter **list = gw_arena_alloc(&a->arena, n * sizeof(*list));
	size_t k = 0;

	*n_out = 0;
	if (!list)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		Ghostwatch__V1__Counter *c;

		if (!names[i] || (!values[i] && !keep_zero))
			continue;
		c = gw_arena_alloc(&a->arena, sizeof(*c));
		if (!c)
			break;
		ghostwatch__v1__counter__init(c);
		c->name = (char *)names[i];
		c->value = values[i];
		list[k++] = c;
	}
	*n_out = k;
	return list;
}

#define DOMAIN_COUNTERS_MAX 64
#define DROP_FIXED (GW_DROP_CATEGORY_MAX + 3)

/* Everything AgentStats and the summary line report, by category. */
struct stats_lists {
	const char *enames[GW_RECORD_TYPE_MAX + DOMAIN_COUNTERS_MAX];
	uint64_t events[GW_RECORD_TYPE_MAX + DOMAIN_COUNTERS_MAX];
	const char *dnames[DROP_FIXED + DOMAIN_COUNTERS_MAX];
	uint64_t drops[DROP_FIXED + DOMAIN_COUNTERS_MAX];
	const char *xnames[2 + DOMAIN_COUNTERS_MAX];
	uint64_t evictions[2 + DOMAIN_COUNTERS_MAX];
	const char *nnames[DOMAIN_COUNTERS_MAX];
	uint64_t network[DOMAIN_COUNTERS_MAX];
	struct gw_stats_parts p;
	uint32_t bpf_programs;
};

#define LIST(l, names_, values_, first)                                                         \
	((l) = (struct gw_counter_list){ .names = (names_), .values = (values_), .n = (first),      \
					 .max = sizeof(names_) / sizeof((names_)[0]) })

/* Core's own counters, then each domain's; summary: only the events of domains that list theirs
 * in the summary line. */
static void collect_stats(struct gw_agent *a, struct stats_lists *s, bool summary)
{
	const struct gw_uevent_stats *u = &a->uevents.listener.stats;

	memcpy(s->enames, record_names, sizeof(record_names));
	memcpy(s->events, a->counters.records, sizeof(a->counters.records));
	LIST(s->p.events, s->enames, s->events, summary ? 0 : GW_RECORD_TYPE_MAX);
	hooks_read_drops(&a->hooks, s->drops);
	for (int i = 0; i < GW_DROP_CATEGORY_MAX; i++)
		s->dnames[i] = drop_names[i];
	LIST(s->p.drops, s->dnames, s->drops, GW_DROP_CATEGORY_MAX);
	gw_counter_add(&s->p.drops, "bad_record", a->counters.bad_records);
	gw_counter_add(&s->p.drops, "arena_full", a->arena.failed);
	gw_counter_add(&s->p.drops, "bpf_recursion_misses",
		       hooks_recursion_misses(&s->bpf_programs));
	LIST(s->p.evictions, s->xnames, s->evictions, 0);
	gw_counter_add(&s->p.evictions, "proc_exited", a->procs.evicted_exited);
	gw_counter_add(&s->p.evictions, "proc_live", a->procs.evicted_live);
	LIST(s->p.network, s->nnames, s->network, 0);
	for (int i = 0; i < a->n_domains; i++) {
		const struct gw_domain *d = &a->domains[i];
		size_t events_before = s->p.events.n;

		if (!d->counters)
			continue;
		d->counters(a, d->state, &s->p);
		if (summary && !d->events_in_summary)
			s->p.events.n = events_before;
	}
	gw_counter_add(&s->p.events, "uevent_accepted", u->accepted);
	gw_counter_add(&s->p.events, "uevent_ignored", u->ignored);
	gw_counter_add(&s->p.drops, "uevent_forged", u->forged);
	gw_counter_add(&s->p.drops, "uevent_malformed", u->malformed);
	gw_counter_add(&s->p.drops, "uevent_truncated", u->truncated);
	gw_counter_add(&s->p.drops, "uevent_overflow", u->overflows);
}

gw_event_t *agent_build_stats(struct gw_agent *a)
{
	struct stats_lists *s = gw_arena_alloc(&a->arena, sizeof(*s));
	gw_event_t *ev = gw_arena_alloc(&a->arena, sizeof(*ev));
	Ghostwatch__V1__AgentStats *st = gw_arena_alloc(&a->arena, sizeof(*st));

	if (!ev || !st || !s)
		return NULL;
	memset(s, 0, sizeof(*s));
	ghostwatch__v1__event__init(ev);
	ghostwatch__v1__agent_stats__init(st);
	collect_stats(a, s, false);
	st->bpf_programs = s->bpf_programs;
	st->events = counters_proto(a, s->enames, s->events, s->p.events.n, &st->n_events, false);
	st->drops = counters_proto(a, s->dnames, s->drops, s->p.drops.n, &st->n_drops, true);
	st->evictions = counters_proto(a, s->xnames, s->evictions, s->p.evictions.n,
				       &st->n_evictions, true);
	if (s->p.network.n)
		st->network = counters_proto(a, s->nnames, s->network, s->p.network.n,
					     &st->n_network, true);
	st->hooks = gw_arena_alloc(&a->arena, (size_t)a->hooks.n_status * sizeof(*st->hooks));
	for (int i = 0; st->hooks && i < a->hooks.n_status; i++) {
		Ghostwatch__V1__HookStatus *h = gw_arena_alloc(&a->arena, sizeof(*h));

		if (!h)
			break;
		ghostwatch__v1__hook_status__init(h);
		h->signal = a->hooks.status[i].signal;
		h->hook = a->hooks.status[i].hook;
		h->error = a->hooks.status[i].error;
		st->hooks[st->n_hooks++] = h;
	}
	st->process_table_size = a->procs.count;
	st->uptime_ns = gw_now_boottime_ns() - a->started_ns;
	ev->kind_case = GHOSTWATCH__V1__EVENT__KIND_STATS;
	ev->stats = st;
	return ev;
}

static void emit_stats(struct gw_agent *a)
{
	gw_event_t *ev;

	gw_arena_reset(&a->arena);
	ev = agent_build_stats(a);
	if (ev)
		agent_emit(a, ev);
}

void agent_print_summary(struct gw_agent *a, FILE *out)
{
	struct stats_lists *s = calloc(1, sizeof(*s));
	uint64_t total = 0;

	if (!s)
		return;
	collect_stats(a, s, true);
	fprintf(out, "summary: events");
	for (int i = 0; i < GW_RECORD_TYPE_MAX; i++)
		if (record_names[i])
			fprintf(out, " %s=%llu", record_names[i],
				(unsigned long long)a->counters.records[i]);
	for (size_t i = 0; i < s->p.events.n; i++)
		fprintf(out, " %s=%llu", s->enames[i], (unsigned long long)s->events[i]);
	fprintf(out, "; drops");
	for (size_t i = 0; i < s->p.drops.n; i++) {
		if (!s->dnames[i])
			continue;
		total += s->drops[i];
		fprintf(out, " %s=%llu", s->dnames[i], (unsigned long long)s->drops[i]);
	}
	fprintf(out, " (total %llu); evicted proc_exited=%llu proc_live=%llu\n",
		(unsigned long long)total, (unsigned long long)a->procs.evicted_exited,
		(unsigned long long)a->procs.evicted_live);
	fflush(out);
	free(s);
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

int agent_start(struct gw_agent *a)
{
	char err[256];
	int ret;

	ret = procfs_seed(&a->procs, &a->boot, a->opt.proc_root, a->cgroup2_root);
	if (ret < 0)
		fprintf(stderr, "ghostwatch: reading %s: %s (continuing without a seed)\n",
			a->opt.proc_root, strerror(-ret));
	ret = hooks_load_process(&a->hooks, &a->opt.hooks, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "ghostwatch: %s\n", err);
		return ret;
	}
	ret = hooks_open_ring(&a->hooks, on_ring_record, a);
	if (ret) {
		fprintf(stderr, "ghostwatch: ring buffer: %s\n", strerror(-ret));
		return ret;
	}
	for (int i = 0; i < a->n_domains; i++) {
		if (!a->domains[i].start)
			continue;
		ret = a->domains[i].start(a, a->domains[i].state);
		if (ret)
			return ret;
	}
	return 0;
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
		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)
			a->stopping = true;
		else if (si.ssi_signo == SIGHUP) {
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
	hooks_close(&a->hooks);
	proc_table_free(&a->procs);
	gw_arena_free(&a->arena);
	if (a->epoll_fd >= 0)
		close(a->epoll_fd);
	if (a->timer_fd >= 0)
		close(a->timer_fd);
	if (a->signal_fd >= 0)
		close(a->signal_fd);
}
