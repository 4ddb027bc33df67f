#include "netif_watch.h"

#include <dirent.h>
#include <limits.h>
#include <net/if.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/agent.h"
#include "core/process_lookup.h"
#include "core/small_file.h"
#include "core/uevent_parse.h"

/* The kernel's own rule for an interface name (dev_valid_name): 1..15 bytes, no '/', ':' or
 * space, not "." or "..". A name that breaks it did not come from the kernel: ignore it. */
static int valid_ifname(const char *name)
{
	size_t n = strnlen(name, IFNAMSIZ);

	if (n == 0 || n >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/' || name[i] == ':' || name[i] <= ' ' || name[i] == 0x7f)
			return 0;
	return 1;
}

#define NETIF_CREATOR_WAIT_MS 500

static const struct gw_behaviour_rule tunnel_rule = {
	.id = "GW-NETIF-TUNNEL",
	.title = "Tunnel interface created",
	.vendor = "tunnel interface",
	.technique = "T1572",
	.category = "tunnel",
	.severity = "medium",
	.confidence = "high",
	.source = "rules/README.md#built-in-behaviour-rules",
};

/* What one report says about an interface. */
struct netif_report {
	const char *name;
	const char *action;
	uint32_t ifindex;
	const char *devtype;
	const char *kind;		     /* tunnels only */
	const struct netif_creator *creator; /* NULL when not known */
	bool raise;			     /* a tunnel that is a finding */
};

/* The creator as a Process message: the table's full record while it still knows the process. */
static Ghostwatch__V1__Process *creator_proto(struct gw_agent *a, const struct netif_creator *cr)
{
	const struct proc_entry *e = proc_table_get(&a->procs, cr->pid);
	Ghostwatch__V1__Process *p;

	if (e && e->id == cr->process_id)
		return process_proto(a, e);
	p = gw_arena_alloc(&a->arena, sizeof(*p));
	if (!p)
		return NULL;
	ghostwatch__v1__process__init(p);
	p->process_id = cr->process_id;
	p->pid = p->tid = cr->pid;
	p->comm = gw_arena_text(&a->arena, cr->comm, sizeof(cr->comm));
	p->exe = gw_arena_text(&a->arena, cr->exe, sizeof(cr->exe));
	p->source = "unknown";
	return p;
}

/* The tunnel finding: the interface, its kind and who made it. */
static void raise_tunnel(struct gw_agent *a, const struct netif_report *r, uint64_t event_id)
{
	const struct netif_creator *cr = r->creator;
	char why[512];

	if (cr)
		snprintf(why, sizeof(why), "%s interface %s made by %s (pid %u, %s)", r->kind,
			 r->name, cr->exe[0] ? cr->exe : cr->comm, cr->pid,
			 !strcmp(cr->source, "open") ? "opened its device just before" :
						       "holds its queue");
	else
		snprintf(why, sizeof(why), "%s interface %s, maker not known", r->kind, r->name);
	agent_publish(a, &(struct gw_fact){ .kind = GW_FACT_BEHAVIOUR,
					   .behaviour = { &tunnel_rule, why, "netif" },
					   .subject = r->name,
					   .process_id = cr ? cr->process_id : 0,
					   .event_id = event_id,
					   .time_ns = gw_now_realtime_ns() });
}

/* Emits the interface's event, then runs the interface rules with it as their evidence. */
static void report(struct gw_agent *a, const struct netif_report *r)
{
	Ghostwatch__V1__NetworkInterface *ni;
	uint64_t event_id = 0;
	gw_event_t *ev;

	gw_arena_reset(&a->arena);
	ev = gw_arena_alloc(&a->arena, sizeof(*ev));
	ni = gw_arena_alloc(&a->arena, sizeof(*ni));
	if (ev && ni) {
		ghostwatch__v1__event__init(ev);
		ghostwatch__v1__network_interface__init(ni);
		/* an interface name may hold any byte the kernel's rule allows: made UTF-8 */
		ni->name = gw_arena_text(&a->arena, r->name, strnlen(r->name, IFNAMSIZ));
		ni->action = (char *)r->action;
		ni->ifindex = r->ifindex;
		ni->devtype = gw_arena_text(&a->arena, r->devtype ? r->devtype : "", 64);
		ni->kind = (char *)(r->kind ? r->kind : "");
		ni->creator_source = (char *)(r->creator ? r->creator->source : "");
		if (r->creator)
			ni->creator = creator_proto(a, r->creator);
		ev->kind_case = GHOSTWATCH__V1__EVENT__KIND_NETWORK_INTERFACE;
		ev->network_interface = ni;
		agent_emit(a, ev);
		event_id = ev->event_id;
	}
	/* a full arena (counted by it) loses the event, not the finding: it comes without evidence */
	if (!strcmp(r->action, "removed"))
		return;
	agent_publish(a, &(struct gw_fact){ .kind = GW_FACT_NETIF, .netif = r->name,
					   .event_id = event_id,
					   .time_ns = gw_now_realtime_ns() });
	if (r->kind && r->raise)
		raise_tunnel(a, r, event_id);
}

/* Whether a `kind` interface is made through a device whose opens tunnel.bpf.c reports. */
static bool made_by_device(const char *kind)
{
	return !strcmp(kind, "tun") || !strcmp(kind, "tap") || !strcmp(kind, "ppp");
}

/* Reports a tunnel with the process holding its queue, else the one that opened its device just
 * before it appeared. */
static void report_tunnel(struct gw_agent *a, struct gw_netif *w, struct netif_report *r,
			  uint64_t appeared_ns)
{
	bool tap = !strcmp(r->kind, "tap");
	struct netif_creator held;
	bool holder = false;

	if (netif_tun_holder(a, a->opt.proc_root, r->name, &held)) {
		r->creator = &held;
		holder = true;
	} else if (made_by_device(r->kind)) {
		r->creator = netif_creators_find(&w->creators, r->kind, appeared_ns);
	}
	/* A tap is also a virtual machine's network card, made ahead by its manager: it tunnels
	 * only once a process reads its frames, so only a held one is a finding. */
	r->raise = !tap || holder;
	w->counts.tunnels++;
	if (!r->creator)
		w->counts.tunnel_creator_unknown++;
	report(a, r);
}

/* Reports the pending tunnel i and takes it off the list. */
static void pending_report(struct gw_agent *a, struct gw_netif *w, uint32_t i)
{
	struct netif_pending p = w->pending[i];
	struct netif_report r = { p.name, p.action, p.ifindex, p.devtype, p.kind, NULL, false };

	w->pending[i] = w->pending[--w->n_pending];
	report_tunnel(a, w, &r, p.appeared_ns);
}

/* A new tunnel: reported now when its maker is known, else it waits for the record of the open
 * (the ring and the uevent socket are read in no set order). */
static void tunnel_appeared(struct gw_agent *a, struct gw_netif *w, const struct netif_report *r)
{
	uint64_t now = gw_now_boottime_ns();
	struct netif_creator held;
	struct netif_pending *p;

	if (!w->hooks.skel || !made_by_device(r->kind) ||
	    netif_creators_find(&w->creators, r->kind, now) ||
	    netif_tun_holder(a, a->opt.proc_root, r->name, &held)) {
		struct netif_report copy = *r;

		report_tunnel(a, w, &copy, now);
		return;
	}
	if (w->n_pending == NETIF_PENDING_MAX) {
		w->counts.pending_dropped++;
		pending_report(a, w, 0);
	}
	p = &w->pending[w->n_pending++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", r->name);
	snprintf(p->devtype, sizeof(p->devtype), "%s", r->devtype ? r->devtype : "");
	p->kind = r->kind;
	p->action = r->action;
	p->ifindex = r->ifindex;
	p->appeared_ns = now;
	p->deadline_ns = now + NETIF_CREATOR_WAIT_MS * 1000000ULL;
}

/* <net_dir>/<name>/<attr> into buf; bytes read, or <= 0. */
static ssize_t read_attr(const char *net_dir, const char *name, const char *attr, char *buf,
			 size_t size)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s/%s", net_dir, name, attr) >= (int)sizeof(path))
		return -1;
	return gw_read_small_file(AT_FDCWD, path, 0, buf, size);
}

/* DEVTYPE= of <net_dir>/<name>/uevent, into `out` ("" when there is none). */
static void sysfs_devtype(const char *net_dir, const char *name, char *out, size_t out_size)
{
	char buf[1024];
	const char *p;
	ssize_t n;

	out[0] = '\0';
	n = read_attr(net_dir, name, "uevent", buf, sizeof(buf));
	if (n <= 0)
		return;
	p = gw_line_value(buf, "DEVTYPE=");
	if (!p)
		return;
	snprintf(out, out_size, "%.*s", (int)strcspn(p, "\n"), p);
}

static void netif_inventory(struct gw_agent *a, struct gw_netif *w)
{
	const char *sys_root = w->sys_root;
	struct gw_netif_counts *c = &w->counts;
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/class/net", sys_root ? sys_root : "/sys");
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		char num[32], devtype[64];
		uint32_t ifindex = 0;

		if (de->d_name[0] == '.' || !valid_ifname(de->d_name))
			continue;
		c->inventory++;
		if (read_attr(path, de->d_name, "ifindex", num, sizeof(num)) > 0)
			ifindex = (uint32_t)strtoul(num, NULL, 10);
		sysfs_devtype(path, de->d_name, devtype, sizeof(devtype));
		struct netif_report r = { de->d_name, "inventory", ifindex, devtype,
					  netif_tunnel_kind(path, de->d_name, devtype), NULL,
					  false };

		if (r.kind)
			report_tunnel(a, w, &r, gw_now_boottime_ns());
		else
			report(a, &r);
	}
	closedir(dir);
}

static void netif_on_uevent(struct gw_agent *a, void *ctx, const struct gw_uevent *ev)
{
	struct gw_netif *w = ctx;
	struct gw_netif_counts *c = &w->counts;
	char net_dir[PATH_MAX];

	/* INTERFACE= is the name at the time of the event; the devpath's last component agrees */
	const char *name = gw_uevent_get(ev, "INTERFACE");

	if (!name || !valid_ifname(name))
		return;
	const char *ifindex = gw_uevent_get(ev, "IFINDEX");
	struct netif_report r = { name, NULL, ifindex ? (uint32_t)strtoul(ifindex, NULL, 10) : 0,
				  gw_uevent_get(ev, "DEVTYPE"), NULL, NULL, false };

	snprintf(net_dir, sizeof(net_dir), "%s/class/net", w->sys_root ? w->sys_root : "/sys");
	/* a rename ("move") is a new name the rules have not seen */
	if (ev->action == GW_UEVENT_ADD || ev->action == GW_UEVENT_MOVE) {
		c->added++;
		r.action = ev->action == GW_UEVENT_ADD ? "added" : "renamed";
		r.kind = netif_tunnel_kind(net_dir, name, r.devtype);
		if (r.kind)
			tunnel_appeared(a, w, &r);
		else
			report(a, &r);
	} else if (ev->action == GW_UEVENT_REMOVE) {
		c->removed++;
		r.action = "removed";
		report(a, &r);
	}
}

/* An open of a tunnel device: the tunnels that appeared after it and wait are reported now. */
static int netif_record(struct gw_agent *a, void *state, const void *data, size_t size)
{
	struct gw_netif *w = state;
	const struct netif_creator *cr = netif_creators_add(a, &w->creators, data, size);

	if (!cr)
		return -1;
	for (uint32_t i = 0; i < w->n_pending;) {
		const struct netif_pending *p = &w->pending[i];

		if (cr->ppp == !strcmp(p->kind, "ppp") && p->appeared_ns >= cr->boot_ns)
			pending_report(a, w, i);
		else
			i++;
	}
	return 0;
}

static void netif_tick(struct gw_agent *a, void *state, uint64_t now_ns)
{
	struct gw_netif *w = state;

	for (uint32_t i = 0; i < w->n_pending;)
		if (now_ns >= w->pending[i].deadline_ns)
			pending_report(a, w, i);
		else
			i++;
}

static uint64_t netif_next_tick(const struct gw_agent *a, void *state, uint64_t now_ns)
{
	const struct gw_netif *w = state;
	uint64_t next = 0;

	(void)a;
	(void)now_ns;
	for (uint32_t i = 0; i < w->n_pending; i++)
		if (!next || w->pending[i].deadline_ns < next)
			next = w->pending[i].deadline_ns;
	return next;
}

static int netif_start(struct gw_agent *a, void *state)
{
	struct gw_netif *w = state;

	if (netif_tunnel_hooks_load(a, &w->hooks))
		hooks_set_status(&a->hooks, "tunnel_creator", "none", w->hooks.why);
	else
		hooks_set_status(&a->hooks, "tunnel_creator", "cgroup/dev", "");
	netif_inventory(a, w);
	/* no listener: no interface events after the inventory (the devices domain says why) */
	uevents_subscribe(a, GW_UEVENT_SUBSYS_NET, netif_on_uevent, w);
	return 0;
}

static void netif_counters(const struct gw_agent *a, void *state, struct gw_stats_parts *p)
{
	const struct gw_netif *w = state;

	(void)a;
	agent_stats_add(&p->events, "netif_inventory", w->counts.inventory);
	agent_stats_add(&p->events, "netif_added", w->counts.added);
	agent_stats_add(&p->events, "netif_removed", w->counts.removed);
	agent_stats_add(&p->events, "netif_tunnels", w->counts.tunnels);
	agent_stats_add(&p->events, "netif_tunnel_creator_unknown",
			w->counts.tunnel_creator_unknown);
	agent_stats_add(&p->drops, "netif_tunnel_wait_full", w->counts.pending_dropped);
}

static void netif_destroy(struct gw_agent *a, void *state)
{
	struct gw_netif *w = state;

	(void)a;
	netif_tunnel_hooks_close(&w->hooks);
	free(w);
}

int netif_register(struct gw_agent *a, const char *sys_root)
{
	struct gw_netif *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -1;
	w->sys_root = sys_root;
	err = agent_register(a, &(struct gw_domain){
					.name = "netif",
					.state = w,
					.record_types = { GW_EV_TUNNEL_OPEN },
					.events_in_summary = true,
					.start = netif_start,
					.handle_record = netif_record,
					.tick = netif_tick,
					.next_tick = netif_next_tick,
					.counters = netif_counters,
					.destroy = netif_destroy,
				});
	if (err)
		free(w);
	return err;
}

const struct gw_netif_counts *netif_counts(const struct gw_agent *a)
{
	const struct gw_netif *w = agent_domain_state(a, "netif");

	return w ? &w->counts : NULL;
}
