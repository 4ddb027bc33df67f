#include "latency.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/agent.h"
#include "core/proc_table.h"
#include "latency_state.h"

#define NS_PER_S 1000000000ULL
#define LATENCY_ANCESTRY_MAX 16

void latency_options_defaults(struct latency_options *o)
{
	o->window_s = 60;
	o->far_rtt_ms = 100;
	o->no_input_minutes = 10;
}

static const char *basename_of(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : path ? path : "";
}

static bool is_loopback(const uint8_t a[16])
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };
	static const uint8_t v4_prefix[12] = { [10] = 0xff, [11] = 0xff };

	if (!memcmp(a, v4_prefix, 12))
		return a[12] == 127;
	return !memcmp(a, v6_loopback, 16);
}

/* ---- the remote-control processes ------------------------------------------------------------ */

static uint32_t pid_of(struct gw_agent *a, uint64_t process_id)
{
	struct proc_entry *e, *tmp;

	HASH_ITER(hh, a->procs.by_pid, e, tmp)
		if (e->id == process_id)
			return e->pid;
	return 0;
}

static struct latency_proc *proc_find(struct latency_domain *d, uint64_t process_id)
{
	struct latency_proc *p;

	HASH_FIND(hh, d->procs, &process_id, sizeof(process_id), p);
	return p;
}

static struct latency_proc *proc_mark(struct gw_agent *a, struct latency_domain *d,
				      uint64_t process_id, const char *control, const char *vendor,
				      const char *subject)
{
	struct latency_proc *p = proc_find(d, process_id);

	if (p)
		return p;
	if (d->n_procs >= LATENCY_TABLE_MAX || !(p = calloc(1, sizeof(*p)))) {
		d->counters[LAT_NOT_WATCHED]++;
		return NULL;
	}
	p->process_id = process_id;
	p->pid = pid_of(a, process_id);
	snprintf(p->control, sizeof(p->control), "%s", control);
	snprintf(p->vendor, sizeof(p->vendor), "%s", vendor ? vendor : "");
	snprintf(p->subject, sizeof(p->subject), "%s", subject ? subject : "");
	HASH_ADD(hh, d->procs, process_id, sizeof(p->process_id), p);
	d->n_procs++;
	return p;
}

static void proc_forget(struct latency_domain *d, uint64_t process_id)
{
	struct latency_proc *p = proc_find(d, process_id);

	if (!p)
		return;
	HASH_DEL(d->procs, p);
	d->n_procs--;
	free(p);
}

/* ---- watches --------------------------------------------------------------------------------- */

static void watch_add(struct latency_domain *d, const struct gw_flow_input *in, uint64_t process_id)
{
	struct gw_latency_key k = { 0 };
	struct latency_watch *w;

	memcpy(k.remote_addr, in->remote_addr, 16);
	k.port = in->remote_port; /* inbound, the flow input's port is ours */
	k.inbound = in->direction == GW_DIR_INBOUND;
	HASH_FIND(hh, d->watches, &k, sizeof(k), w);
	if (!w) {
		if (d->n_watches >= GW_LATENCY_WATCH_MAX || !(w = calloc(1, sizeof(*w)))) {
			d->counters[LAT_NOT_WATCHED]++;
			return;
		}
		w->key = k;
		HASH_ADD(hh, d->watches, key, sizeof(w->key), w);
		d->n_watches++;
	}
	w->process_id = process_id;
	w->added_ns = gw_now_boottime_ns();
	if (latency_hooks_watch(&d->hooks, &k, process_id))
		d->counters[LAT_NOT_WATCHED]++;
}

static void watch_drop(struct latency_domain *d, struct latency_watch *w)
{
	latency_hooks_unwatch(&d->hooks, &w->key);
	HASH_DEL(d->watches, w);
	d->n_watches--;
	free(w);
}

/* Whether a connection is remote control: its process is, or it is an SSH login. */
static void on_flow(struct gw_agent *a, struct latency_domain *d, const struct gw_fact *f)
{
	const struct gw_flow_input *in = f->flow;
	const char *name = basename_of(f->subject);
	bool inbound = in->direction == GW_DIR_INBOUND;

	if (in->protocol != IPPROTO_TCP || !f->process_id || is_loopback(in->remote_addr))
		return;
	if (!proc_find(d, f->process_id)) {
		/* the sshd that accepts (its session child takes the socket over) or ssh itself,
		 * on whatever port */
		if (strcmp(name, inbound ? "sshd" : "ssh"))
			return;
		if (!proc_mark(a, d, f->process_id, "ssh", "OpenSSH", f->subject))
			return;
	}
	watch_add(d, in, f->process_id);
}

static void on_finding(struct gw_agent *a, struct latency_domain *d, const struct gw_fact *f)
{
	/* rmm names remote-control tools and the processes that inject input */
	if (!f->process_id || !f->finding.category || strcmp(f->finding.category, "rmm"))
		return;
	proc_mark(a, d, f->process_id, f->finding.rule_id, f->finding.vendor, f->subject);
}

static void on_input(struct latency_domain *d, const struct gw_fact *f)
{
	struct latency_proc *p;

	if (!f->input.events)
		return;
	if (f->input.physical) {
		d->physical_input = true;
		return;
	}
	d->virtual_input_ns = f->time_ns ? f->time_ns : gw_now_realtime_ns();
	d->injector_id = f->process_id;
	if (f->process_id && (p = proc_find(d, f->process_id)))
		p->injecting = true;
}

/* Inside the graphical session: a session manager or display manager session is an ancestor. */
static bool in_graphical_session(struct gw_agent *a, const struct proc_entry *e)
{
	static const char *const roots[] = { "xinit",	      "gdm-x-session", "gdm-wayland-ses",
					     "lightdm",	      "sddm-helper",   "xrdp-sesman",
					     "gnome-session-b", "xfce4-session", "startplasma-x11",
					     "startplasma-way", "mate-session",  "cinnamon-sessio",
					     "lxsession",     "lxqt-session",  "Xsession" };

	for (int depth = 0; e && depth < LATENCY_ANCESTRY_MAX; depth++) {
		for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
			if (!strcmp(e->comm, roots[i]))
				return depth > 0;
		if (!e->ppid || e->ppid == e->pid)
			break;
		e = proc_table_get(&a->procs, e->ppid);
	}
	return false;
}

static void latency_observe(struct gw_agent *a, void *state, const struct gw_fact *f)
{
	struct latency_domain *d = state;
	struct latency_proc *p;

	if (!d->window_ns)
		return;
	switch (f->kind) {
	case GW_FACT_FINDING:
		on_finding(a, d, f);
		break;
	case GW_FACT_FLOW:
		on_flow(a, d, f);
		break;
	case GW_FACT_INPUT:
		on_input(d, f);
		break;
	case GW_FACT_EXEC:
		if ((p = proc_find(d, f->proc->id)) && !p->pid)
			p->pid = f->proc->pid;
		/* only while something is remote controlled: execs cost nothing otherwise */
		if ((d->n_conns || latency_virtual_live(d, f->time_ns ? f->time_ns :
							      gw_now_realtime_ns())) &&
		    in_graphical_session(a, f->proc))
			d->session_execs++;
		break;
	case GW_FACT_EXIT:
		proc_forget(d, f->process_id);
		break;
	default:
		break;
	}
}

/* ---- walks and windows ----------------------------------------------------------------------- */

static void on_sample(const struct gw_latency_sample *s, void *ctx)
{
	struct latency_domain *d = ctx;
	struct latency_conn_id id = { 0 };
	struct latency_watch *w;
	struct latency_conn *c;

	d->counters[LAT_SAMPLES]++;
	memcpy(id.local_addr, s->local_addr, 16);
	memcpy(id.remote_addr, s->key.remote_addr, 16);
	id.local_port = s->local_port;
	id.remote_port = s->remote_port;
	HASH_FIND(hh, d->conns, &id, sizeof(id), c);
	if (!c) {
		if (d->n_conns >= LATENCY_TABLE_MAX || !(c = calloc(1, sizeof(*c)))) {
			d->counters[LAT_NOT_WATCHED]++;
			return;
		}
		c->id = id;
		HASH_ADD(hh, d->conns, id, sizeof(c->id), c);
		d->n_conns++;
	}
	c->key = s->key;
	c->process_id = s->process_id;
	c->seen = true;
	latency_acc_add(&c->acc, s->srtt_us, s->mdev_us, s->bytes_acked, s->bytes_received);
	HASH_FIND(hh, d->watches, &s->key, sizeof(s->key), w);
	if (w)
		w->seen_ns = gw_now_boottime_ns();
}

static void walk(struct latency_domain *d)
{
	if (!d->n_watches || !latency_hooks_live(&d->hooks))
		return;
	d->counters[LAT_WALKS]++;
	if (latency_hooks_walk(&d->hooks, on_sample, d) < 0)
		d->counters[LAT_WALK_ERRORS]++;
}

bool latency_virtual_live(const struct latency_domain *d, uint64_t now_ns)
{
	/* a fact of this very tick may carry a time after the tick's own */
	return d->virtual_input_ns &&
	       (now_ns <= d->virtual_input_ns || now_ns - d->virtual_input_ns <= 2 * d->window_ns);
}

static bool input_measured(const struct gw_agent *a)
{
	for (int i = 0; i < a->hooks.n_status; i++)
		if (!strcmp(a->hooks.status[i].signal, "input_cadence"))
			return strcmp(a->hooks.status[i].hook, "none") != 0;
	return false;
}

static void close_window(struct gw_agent *a, struct latency_domain *d, uint64_t now_ns)
{
	uint64_t start = d->window_start_ns + (uint64_t)a->realtime_offset_ns;
	uint64_t end = now_ns + (uint64_t)a->realtime_offset_ns;
	struct latency_window_view view = { .end_ns = end, .input_measured = input_measured(a),
					    .physical_input = d->physical_input,
					    .remote_live = latency_virtual_live(d, end),
					    .session_execs = d->session_execs };
	struct latency_conn *c, *ct;
	struct latency_watch *w, *wt;
	struct latency_proc *p, *pt;

	d->counters[LAT_WINDOWS]++;
	HASH_ITER(hh, d->conns, c, ct) {
		struct latency_stats s;

		latency_acc_close(&c->acc, &s);
		if (s.samples) {
			latency_report_conn(a, d, c, &s, start, end);
			if (s.bytes_received)
				view.remote_live = true;
		}
		if (!c->seen) { /* closed */
			HASH_DEL(d->conns, c);
			d->n_conns--;
			free(c);
			continue;
		}
		c->seen = false;
	}
	/* a key no walk has found for a whole window has no open connection left */
	HASH_ITER(hh, d->watches, w, wt)
		if (now_ns - w->added_ns > d->window_ns &&
		    (!w->seen_ns || now_ns - w->seen_ns > d->window_ns))
			watch_drop(d, w);
	if (d->opt.no_input_minutes &&
	    latency_presence_step(&d->presence, &view,
				  (uint64_t)d->opt.no_input_minutes * 60 * NS_PER_S))
		latency_report_presence(a, d, end);
	HASH_ITER(hh, d->procs, p, pt)
		p->injecting = false;
	d->physical_input = false;
	d->session_execs = 0;
	d->window_start_ns = now_ns;
}

static void latency_tick(struct gw_agent *a, void *state, uint64_t now_boot_ns)
{
	struct latency_domain *d = state;

	if (!d->window_ns)
		return;
	if (now_boot_ns >= d->next_walk_ns) {
		walk(d);
		d->next_walk_ns = now_boot_ns + d->walk_ns;
	}
	if (now_boot_ns - d->window_start_ns >= d->window_ns)
		close_window(a, d, now_boot_ns);
}

static uint64_t latency_next_tick(const struct gw_agent *a, void *state, uint64_t now_boot_ns)
{
	const struct latency_domain *d = state;

	(void)a;
	(void)now_boot_ns;
	return d->window_ns && d->n_watches ? d->next_walk_ns : 0;
}

static void latency_finish(struct gw_agent *a, void *state)
{
	struct latency_domain *d = state;
	uint64_t now = gw_now_boottime_ns();

	if (!d->window_ns)
		return;
	walk(d);
	close_window(a, d, now);
}

static int latency_start(struct gw_agent *a, void *state)
{
	struct latency_domain *d = state;

	d->window_start_ns = d->next_walk_ns = gw_now_boottime_ns();
	if (!d->window_ns) {
		hooks_set_status(&a->hooks, "remote_latency", "none", "disabled by configuration");
		return 0;
	}
	if (latency_hooks_load(&d->hooks)) {
		fprintf(stderr, "ghostwatch: remote latency unavailable: %s\n", d->hooks.why);
		hooks_set_status(&a->hooks, "remote_latency", "none", d->hooks.why);
		return 0;
	}
	hooks_set_status(&a->hooks, "remote_latency", "iter/tcp", "");
	return 0;
}

static void latency_counters(const struct gw_agent *a, void *state, struct gw_stats_parts *p)
{
	static const char *const names[LAT_COUNTER_MAX] = {
		[LAT_WINDOWS] = "latency_windows",
		[LAT_WALKS] = "latency_walks",
		[LAT_SAMPLES] = "latency_samples",
		[LAT_EVENTS] = "remote_latency",
		[LAT_FAR_FINDINGS] = "latency_far_operator_observed",
		[LAT_NO_INPUT_FINDINGS] = "latency_no_physical_input_observed",
	};
	const struct latency_domain *d = state;

	(void)a;
	for (int i = 0; i < LAT_COUNTER_MAX; i++)
		if (names[i])
			agent_stats_add(&p->events, names[i], d->counters[i]);
	agent_stats_add(&p->drops, "latency_not_watched", d->counters[LAT_NOT_WATCHED]);
	agent_stats_add(&p->drops, "latency_walk_errors",
			d->counters[LAT_WALK_ERRORS] + d->hooks.short_reads);
}

static void latency_destroy(struct gw_agent *a, void *state)
{
	struct latency_domain *d = state;
	struct latency_proc *p, *pt;
	struct latency_watch *w, *wt;
	struct latency_conn *c, *ct;

	(void)a;
	latency_hooks_close(&d->hooks);
	HASH_ITER(hh, d->procs, p, pt) {
		HASH_DEL(d->procs, p);
		free(p);
	}
	HASH_ITER(hh, d->watches, w, wt) {
		HASH_DEL(d->watches, w);
		free(w);
	}
	HASH_ITER(hh, d->conns, c, ct) {
		HASH_DEL(d->conns, c);
		free(c);
	}
	free(d);
}

int latency_register(struct gw_agent *a, const struct latency_options *o)
{
	struct latency_domain *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -1;
	d->opt = *o;
	d->window_ns = (uint64_t)o->window_s * NS_PER_S;
	/* four reads of the RTT per window, and never more than one a second */
	d->walk_ns = d->window_ns / 4 > NS_PER_S ? d->window_ns / 4 : NS_PER_S;
	err = agent_register(a, &(struct gw_domain){
					.name = "latency",
					.state = d,
					.start = latency_start,
					.observe = latency_observe,
					.tick = latency_tick,
					.next_tick = latency_next_tick,
					.counters = latency_counters,
					.finish = latency_finish,
					.destroy = latency_destroy,
				});
	if (err)
		free(d);
	return err;
}
