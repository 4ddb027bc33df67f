#include "cadence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <uthash.h>

#include "core/agent.h"
#include "core/process_lookup.h"

#define CADENCE_NAME_LEN 32
#define CADENCE_TEXT_LEN 128
#define CADENCE_TABLE_MAX 1024

struct cadence_device {
	char name[CADENCE_NAME_LEN];	/* "input7" */
	char dev_name[CADENCE_TEXT_LEN];
	char bus[16];
	int is_virtual;
	char usb_parent[CADENCE_NAME_LEN];
	uint32_t creator_pid;
	uint64_t creator_id;
	char creator_comm[16];
	struct cadence_history history;
	UT_hash_handle hh;
};

struct cadence_usb {
	char name[CADENCE_NAME_LEN];	/* "1-1" */
	uint32_t vid, pid;
	char manufacturer[CADENCE_TEXT_LEN];
	char product[CADENCE_TEXT_LEN];
	UT_hash_handle hh;
};

struct cadence_rtt {
	uint64_t process_id;
	uint32_t rtt_us;
	UT_hash_handle hh;
};

static void copy_text(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* ---- device kind ------------------------------------------------------------------------------ */

/* Manufacturer strings of IP-KVM gadgets (tests/vm and the devices issue list where they come from);
 * their VIDs are shared with every Linux gadget, so the string is what names the product. */
static const char *const ipkvm_manufacturers[] = { "PiKVM", "tinypilot", "JetKVM", "sipeed",
						   "Glinet", "smart-kvm" };

const char *cadence_device_kind(const char *bus, int is_virtual, uint32_t usb_vid, uint32_t usb_pid,
				const char *usb_manufacturer)
{
	if (is_virtual)
		return "uinput";
	if (bus && !strcmp(bus, "bluetooth"))
		return "bluetooth";
	if (usb_manufacturer)
		for (size_t i = 0; i < sizeof(ipkvm_manufacturers) / sizeof(ipkvm_manufacturers[0]); i++)
			if (!strcasecmp(usb_manufacturer, ipkvm_manufacturers[i]))
				return "ip_kvm";
	if ((usb_vid == 0x3346 && usb_pid == 0x1009) || usb_vid == 0x38eb ||
	    (usb_vid == 0x1209 && (usb_pid == 0xeda2 || usb_pid == 0xeda3)))
		return "ip_kvm";
	if (usb_vid == 0x1d6b && usb_pid >= 0x0100)	/* Linux Foundation gadget ids, not root hubs */
		return "usb_gadget";
	if (bus && !strcmp(bus, "usb"))
		return "usb";
	return bus && bus[0] ? bus : "unknown";
}

/* ---- tables ----------------------------------------------------------------------------------- */

static struct cadence_device *device_get(struct cadence_domain *c, const char *name, bool create)
{
	struct cadence_device *d;

	HASH_FIND_STR(c->devices, name, d);
	if (d || !create)
		return d;
	if (c->n_devices >= CADENCE_TABLE_MAX) {
		c->not_remembered++;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	copy_text(d->name, sizeof(d->name), name);
	HASH_ADD_STR(c->devices, name, d);
	c->n_devices++;
	return d;
}

static struct cadence_usb *usb_get(struct cadence_domain *c, const char *name, bool create)
{
	struct cadence_usb *u;

	HASH_FIND_STR(c->usb, name, u);
	if (u || !create)
		return u;
	if (c->n_usb >= CADENCE_TABLE_MAX) {
		c->not_remembered++;
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	copy_text(u->name, sizeof(u->name), name);
	HASH_ADD_STR(c->usb, name, u);
	c->n_usb++;
	return u;
}

static struct cadence_domain *cad(const struct gw_agent *a)
{
	return agent_domain_state(a, "cadence");
}

/* How far away a process's remote peers are (the network's RTT facts). */
static void note_rtt(struct cadence_domain *c, uint64_t process_id, uint32_t rtt_us)
{
	struct cadence_rtt *r;

	HASH_FIND(hh, c->rtt, &process_id, sizeof(process_id), r);
	if (!r) {
		if (c->n_rtt >= CADENCE_TABLE_MAX) {
			c->not_remembered++;
			return;
		}
		r = calloc(1, sizeof(*r));
		if (!r)
			return;
		r->process_id = process_id;
		HASH_ADD(hh, c->rtt, process_id, sizeof(r->process_id), r);
		c->n_rtt++;
	}
	r->rtt_us = rtt_us;
}

static uint32_t rtt_of(const struct cadence_domain *c, uint64_t process_id)
{
	struct cadence_rtt *r;

	HASH_FIND(hh, c->rtt, &process_id, sizeof(process_id), r);
	return r ? r->rtt_us : 0;
}

/* ---- the device-watching sink ------------------------------------------------------------------ */

static void watch_devices(struct gw_agent *a, const gw_event_t *ev, void *ctx)
{
	struct cadence_domain *c = ctx;
	const Ghostwatch__V1__DeviceEvent *d;

	(void)a;
	if (ev->kind_case != GHOSTWATCH__V1__EVENT__KIND_DEVICE || !ev->device->action)
		return;
	d = ev->device;
	if (!strcmp(d->action, "detach"))
		return; /* late windows of a removed device still name it */
	if (d->input && d->input->sysfs_name) {
		struct cadence_device *dev = device_get(c, d->input->sysfs_name, true);

		if (!dev)
			return;
		copy_text(dev->dev_name, sizeof(dev->dev_name), d->input->name);
		copy_text(dev->bus, sizeof(dev->bus), d->input->bus);
		copy_text(dev->usb_parent, sizeof(dev->usb_parent), d->input->usb_parent);
		dev->is_virtual = d->input->virtual_;
		if (d->process && dev->is_virtual) {
			dev->creator_pid = d->process->pid;
			dev->creator_id = d->process->process_id;
			copy_text(dev->creator_comm, sizeof(dev->creator_comm), d->process->comm);
		}
	} else if (d->usb && d->usb->sysfs_name) {
		struct cadence_usb *u = usb_get(c, d->usb->sysfs_name, true);

		if (!u)
			return;
		u->vid = d->usb->vendor_id;
		u->pid = d->usb->product_id;
		copy_text(u->manufacturer, sizeof(u->manufacturer), d->usb->manufacturer);
		copy_text(u->product, sizeof(u->product), d->usb->product);
	}
}

/* ---- events ----------------------------------------------------------------------------------- */

static Ghostwatch__V1__Process *process_of(struct gw_agent *a, uint32_t pid, uint64_t id,
					   const char *comm)
{
	struct proc_entry *e;
	Ghostwatch__V1__Process *p;

	if (!pid)
		return NULL;
	e = process_lookup(a, pid);
	if (e && (!id || e->id == id))
		return process_proto(a, e);
	p = gw_arena_alloc(&a->arena, sizeof(*p));
	if (!p)
		return NULL;
	ghostwatch__v1__process__init(p);
	p->pid = pid;
	p->process_id = id;
	p->comm = gw_arena_text(&a->arena, comm ? comm : "", 16);
	p->source = "unknown";
	return p;
}

static uint32_t *arena_u32s(struct gw_agent *a, const uint32_t *src, size_t n)
{
	uint32_t *dst = gw_arena_alloc(&a->arena, n * sizeof(*dst));

	if (dst)
		memcpy(dst, src, n * sizeof(*dst));
	return dst;
}

/*
 * The input cadence domain's own rules. Injected input is a strong sign of a remote operator but
 * the tool doing it (AnyDesk, RustDesk, ...) usually has its own exec/flow finding too: confidence
 * low keeps it out of the "several RMM vendors" combination, so one tool is not counted twice.
 */
static const struct gw_behaviour_rule rule_jiggler = {
	.id = "GW-CADENCE-JIGGLER",
	.title = "periodic synthetic pointer motion",
	.vendor = "jiggler",
	.technique = "",
	.category = "jiggler",
	.severity = "medium",
	.confidence = "medium",
	.source = "ghostwatch rules/README.md (input cadence)",
};

static const struct gw_behaviour_rule rule_virtual_input = {
	.id = "GW-CADENCE-VIRTUAL-INPUT",
	.title = "input injected through a virtual device",
	.vendor = "virtual input",
	.technique = "T1219",
	.category = "rmm",
	.severity = "medium",
	.confidence = "low",
	.source = "ghostwatch rules/README.md (input cadence)",
};

static void raise_jiggler(struct gw_agent *a, const Ghostwatch__V1__InputCadence *m,
			  const struct cadence_motion *sum, const struct cadence_jiggler *j,
			  uint64_t event_id, uint64_t time_ns)
{
	char subject[320], why[256];

	snprintf(subject, sizeof(subject), "%s \"%s\" (%s%s%s)", m->device, m->device_name,
		 m->device_kind, m->usb_identity[0] ? ": " : "", m->usb_identity);
	snprintf(why, sizeof(why),
		 "%llu bursts, %llu of %llu finished still, period %u ms +-%.0f%%, no keys or clicks, "
		 "after idle",
		 (unsigned long long)sum->bursts, (unsigned long long)sum->still,
		 (unsigned long long)sum->finished, j->period.mean_ms, j->period.jitter * 100);
	agent_publish(a, &(struct gw_fact){ .kind = GW_FACT_BEHAVIOUR,
					   .behaviour = { &rule_jiggler, why, "cadence" },
					   .subject = subject,
					   .process_id = m->injector ? m->injector->process_id : 0,
					   .event_id = event_id, .time_ns = time_ns });
	cad(a)->findings++;
}

/* "input injected by <process> through a virtual device": the process is the subject. */
static void raise_injection(struct gw_agent *a, const Ghostwatch__V1__InputCadence *m,
			    uint64_t event_id, uint64_t time_ns)
{
	const Ghostwatch__V1__Process *p = m->injector;
	const char *who = p->exe && p->exe[0] ? p->exe : p->comm;
	uint32_t rtt_us = rtt_of(cad(a), p->process_id);
	char subject[320], why[160], rtt[48] = "";

	snprintf(subject, sizeof(subject), "%s (pid %u) via %s \"%s\"", who ? who : "?", p->pid,
		 m->device, m->device_name);
	if (rtt_us)
		snprintf(rtt, sizeof(rtt), ", remote operator RTT %u.%03u ms", rtt_us / 1000,
			 rtt_us % 1000);
	snprintf(why, sizeof(why), "%u key presses, %u clicks, %u motion events written%s",
		 m->key_presses, m->clicks, m->rel_events + m->abs_events, rtt);
	agent_publish(a, &(struct gw_fact){ .kind = GW_FACT_BEHAVIOUR,
					   .behaviour = { &rule_virtual_input, why, "cadence" },
					   .subject = subject, .process_id = p->process_id,
					   .event_id = event_id, .time_ns = time_ns });
	cad(a)->findings++;
}

static int cadence_handle_record(struct gw_agent *a, void *state, const void *data, size_t size)
{
	const struct gw_cadence_record *rec = data;
	const struct gw_cadence_window *w = &rec->w;
	struct cadence_domain *c = state;
	Ghostwatch__V1__InputCadence *m;
	struct cadence_device *dev;
	struct cadence_usb *usb = NULL;
	struct cadence_typing typing;
	struct cadence_motion win = { 0 }, sum;
	struct cadence_jiggler j;
	struct cadence_period period;
	char name[CADENCE_NAME_LEN], criteria[128], ident[300];
	gw_event_t *ev;
	uint64_t now = w->last_ns;

	if (!c || size < sizeof(*rec))
		return -1;
	memcpy(name, w->name, sizeof(name));
	name[sizeof(name) - 1] = 0;
	dev = device_get(c, name[0] ? name : "unknown", true);
	cadence_typing_of(w, &typing);
	cadence_motion_add(&win, w);
	cadence_period_of(&win, &period);
	if (dev) {
		cadence_history_push(&dev->history, &win, now);
		cadence_history_sum(&dev->history, now, c->horizon_ns, &sum);
		if (dev->usb_parent[0])
			usb = usb_get(c, dev->usb_parent, false);
	} else {
		sum = win;
	}
	cadence_jiggler_assess(&sum, &c->params, &j);

	ev = gw_arena_alloc(&a->arena, sizeof(*ev));
	m = gw_arena_alloc(&a->arena, sizeof(*m));
	if (!ev || !m)
		return 0;
	ghostwatch__v1__event__init(ev);
	ghostwatch__v1__input_cadence__init(m);
	m->device = gw_arena_text(&a->arena, name, sizeof(name));
	m->device_name = dev ? gw_arena_text(&a->arena, dev->dev_name, sizeof(dev->dev_name)) : "";
	m->device_kind = (char *)cadence_device_kind(dev ? dev->bus : NULL, dev ? dev->is_virtual : 0,
						     usb ? usb->vid : 0, usb ? usb->pid : 0,
						     usb ? usb->manufacturer : NULL);
	m->usb_parent = dev ? gw_arena_text(&a->arena, dev->usb_parent, CADENCE_NAME_LEN) : "";
	ident[0] = 0;
	if (usb)
		snprintf(ident, sizeof(ident), "%04x:%04x %s / %s", usb->vid, usb->pid,
			 usb->manufacturer, usb->product);
	m->usb_identity = gw_arena_text(&a->arena, ident, sizeof(ident));
	if (dev && dev->is_virtual) {
		m->creator = process_of(a, dev->creator_pid, dev->creator_id, dev->creator_comm);
		m->injector = process_of(a, w->writer_pid, 0, NULL);
	}
	m->window_start_ns = w->first_ns + (uint64_t)a->realtime_offset_ns;
	m->window_end_ns = w->last_ns + (uint64_t)a->realtime_offset_ns;
	m->events = w->events;
	m->key_presses = w->key_down;
	m->key_repeats = w->key_repeat;
	m->keys_coalesced = w->keys_coalesced;
	m->coalesced_fraction = typing.coalesced_fraction;
	m->key_interval_median_us = typing.interval.median_us;
	m->key_interval_p25_us = typing.interval.p25_us;
	m->key_interval_p75_us = typing.interval.p75_us;
	m->key_interval_spread = typing.interval.spread;
	m->hold_median_us = typing.hold.median_us;
	m->hold_p25_us = typing.hold.p25_us;
	m->hold_p75_us = typing.hold.p75_us;
	m->hold_spread = typing.hold.spread;
	if (typing.interval.n) {
		m->key_interval_hist = arena_u32s(a, w->key_interval_hist, GW_CADENCE_HIST_BUCKETS);
		m->n_key_interval_hist = m->key_interval_hist ? GW_CADENCE_HIST_BUCKETS : 0;
	}
	if (typing.hold.n) {
		m->hold_hist = arena_u32s(a, w->hold_hist, GW_CADENCE_HIST_BUCKETS);
		m->n_hold_hist = m->hold_hist ? GW_CADENCE_HIST_BUCKETS : 0;
	}
	m->clicks = w->clicks;
	m->wheel = w->wheel;
	m->rel_events = w->rel_events;
	m->abs_events = w->abs_events;
	m->bursts = w->bursts;
	m->bursts_after_idle = w->bursts_after_idle;
	m->bursts_finished = w->bursts_done;
	m->bursts_still = w->bursts_still;
	m->bursts_same_target = w->bursts_same_target;
	m->bursts_with_buttons = w->bursts_with_buttons;
	if (w->bursts_done) {
		m->burst_net_class = arena_u32s(a, w->net_class, GW_CADENCE_NET_CLASSES);
		m->n_burst_net_class = m->burst_net_class ? GW_CADENCE_NET_CLASSES : 0;
	}
	m->burst_period_mean_ms = period.mean_ms;
	m->burst_period_min_ms = period.min_ms;
	m->burst_period_max_ms = period.max_ms;
	m->burst_period_jitter = period.jitter;
	m->idle_min_ms = w->idle_min_ms;
	m->jiggler_likeness = j.likeness;
	cadence_criteria_text(j.criteria, criteria, sizeof(criteria));
	if (criteria[0]) {
		char **list = gw_arena_alloc(&a->arena, 5 * sizeof(*list));

		for (uint32_t bit = 1; list && bit < CADENCE_ALL; bit <<= 1)
			if (j.criteria & bit)
				list[m->n_jiggler_criteria++] =
					(char *)cadence_criterion_name((enum cadence_criterion)bit);
		m->jiggler_criteria = list;
	}
	m->hook = c->hooks.live;
	ev->kind_case = GHOSTWATCH__V1__EVENT__KIND_CADENCE;
	ev->cadence = m;
	agent_emit(a, ev);
	c->windows++;
	/* every window in which it holds: the findings table counts and deduplicates */
	if (j.jiggler)
		raise_jiggler(a, m, &sum, &j, ev->event_id, ev->time_ns);
	if (m->injector && w->events)
		raise_injection(a, m, ev->event_id, ev->time_ns);
	agent_publish(a, &(struct gw_fact){ .kind = GW_FACT_INPUT, .subject = m->device,
					   .process_id = m->injector ? m->injector->process_id : 0,
					   .event_id = ev->event_id, .time_ns = ev->time_ns,
					   .input = { m->device, !(dev && dev->is_virtual),
						      w->events, m->window_end_ns } });
	return 0;
}

static void dispatch_window(const struct gw_cadence_record *rec, void *ctx)
{
	struct gw_agent *a = ctx;

	agent_handle_own_record(a, rec, sizeof(*rec), cadence_handle_record, cad(a));
}

static void drain(struct gw_agent *a, struct cadence_domain *c, uint64_t now_boot_ns, bool force)
{
	if (!cadence_hooks_live(&c->hooks))
		return;
	if (!force && now_boot_ns - c->last_drain_ns < c->window_ns)
		return;
	c->last_drain_ns = now_boot_ns;
	cadence_hooks_drain(&c->hooks, now_boot_ns, dispatch_window, a);
}

static void cadence_tick(struct gw_agent *a, void *state, uint64_t now_boot_ns)
{
	drain(a, state, now_boot_ns, false);
}

/* The last, partial window. */
static void cadence_finish(struct gw_agent *a, void *state)
{
	drain(a, state, gw_now_boottime_ns(), true);
}

static void cadence_observe(struct gw_agent *a, void *state, const struct gw_fact *f)
{
	(void)a;
	if (f->kind == GW_FACT_RTT)
		note_rtt(state, f->process_id, f->rtt_us);
}

static int cadence_start(struct gw_agent *a, void *state)
{
	struct cadence_domain *c = state;

	cadence_jiggler_defaults(&c->params);
	c->window_ns = (uint64_t)c->window_s * 1000000000ULL;
	c->horizon_ns = c->window_ns * 10 > 600000000000ULL ? c->window_ns * 10 : 600000000000ULL;
	c->last_drain_ns = gw_now_boottime_ns();
	cadence_hooks_load(&c->hooks, &a->hooks, &a->opt.hooks, (uint64_t)c->idle_ms * 1000000ULL,
			   c->window_s ? c->hook_mode : CADENCE_HOOKS_OFF);
	hooks_set_status(&a->hooks, "input_cadence", c->hooks.live,
			 cadence_hooks_live(&c->hooks) ? c->hooks.why :
			 c->hooks.why[0] ? c->hooks.why : "no hook loaded");
	if (!cadence_hooks_live(&c->hooks))
		fprintf(stderr, "ghostwatch: input cadence unavailable: %s\n", c->hooks.why);
	return 0;
}

static void cadence_destroy(struct gw_agent *a, void *state)
{
	struct cadence_domain *c = state;
	struct cadence_device *d, *dt;
	struct cadence_usb *u, *ut;
	struct cadence_rtt *r, *rt;

	(void)a;
	cadence_hooks_close(&c->hooks);
	HASH_ITER(hh, c->devices, d, dt) {
		HASH_DEL(c->devices, d);
		free(d);
	}
	HASH_ITER(hh, c->usb, u, ut) {
		HASH_DEL(c->usb, u);
		free(u);
	}
	HASH_ITER(hh, c->rtt, r, rt) {
		HASH_DEL(c->rtt, r);
		free(r);
	}
	free(c);
}

static void cadence_counters(const struct gw_agent *a, void *state, struct gw_stats_parts *p)
{
	const struct cadence_domain *c = state;
	uint64_t runs = 0, run_ns = 0;

	(void)a;
	agent_stats_add(&p->events, "cadence_windows", c->windows);
	agent_stats_add(&p->events, "cadence_findings_observed", c->findings);
	agent_stats_add(&p->events, "cadence_read_errors", c->hooks.read_errors);
	agent_stats_add(&p->events, "cadence_not_remembered", c->not_remembered);
	/* the program's cumulative cost; the kernel counts it only with kernel.bpf_stats_enabled=1 */
	cadence_hooks_prog_stats(&c->hooks, &run_ns, &runs);
	agent_stats_add(&p->events, "cadence_bpf_run_cnt", runs);
	agent_stats_add(&p->events, "cadence_bpf_run_time_ns", run_ns);
}

int cadence_register(struct gw_agent *a, uint32_t window_s, uint32_t idle_ms,
		     enum cadence_hook_mode hook_mode)
{
	struct cadence_domain *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -1;
	c->window_s = window_s;
	c->idle_ms = idle_ms;
	c->hook_mode = hook_mode;
	err = agent_register(a, &(struct gw_domain){
					.name = "cadence",
					.state = c,
					.record_types = { GW_EV_CADENCE_WINDOW },
					.start = cadence_start,
					.handle_record = cadence_handle_record,
					.observe = cadence_observe,
					.tick = cadence_tick,
					.counters = cadence_counters,
					.finish = cadence_finish,
					.destroy = cadence_destroy,
				});
	if (err) {
		free(c);
		return err;
	}
	/* From registration, not start: the devices plugged in before the agent are reported when
	 * the devices domain starts, which may be before this one, and windows must name them. */
	return agent_add_sink(a, (struct gw_sink){ .emit = watch_devices, .ctx = c });
}
