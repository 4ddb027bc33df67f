#include "netif_watch.h"

#include <dirent.h>
#include <limits.h>
#include <net/if.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/agent.h"
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

/* Emits the interface's event, then runs the interface rules with it as their evidence. */
static void report(struct gw_agent *a, const char *name, const char *action, uint32_t ifindex,
		   const char *devtype)
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
		ni->name = gw_arena_text(&a->arena, name, strnlen(name, IFNAMSIZ));
		ni->action = (char *)action;
		ni->ifindex = ifindex;
		ni->devtype = gw_arena_text(&a->arena, devtype ? devtype : "", 64);
		ev->kind_case = GHOSTWATCH__V1__EVENT__KIND_NETWORK_INTERFACE;
		ev->network_interface = ni;
		agent_emit(a, ev);
		event_id = ev->event_id;
	}
	/* a full arena (counted by it) loses the event, not the finding: it comes without evidence */
	if (strcmp(action, "removed"))
		agent_publish(a, &(struct gw_fact){ .kind = GW_FACT_NETIF, .netif = name,
						   .event_id = event_id,
						   .time_ns = gw_now_realtime_ns() });
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

static void netif_inventory(struct gw_agent *a, const char *sys_root, struct gw_netif_counts *c)
{
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
		report(a, de->d_name, "inventory", ifindex, devtype);
	}
	closedir(dir);
}

static void netif_on_uevent(struct gw_agent *a, void *ctx, const struct gw_uevent *ev)
{
	struct gw_netif_counts *c = &((struct gw_netif *)ctx)->counts;

	/* INTERFACE= is the name at the time of the event; the devpath's last component agrees */
	const char *name = gw_uevent_get(ev, "INTERFACE");

	if (!name || !valid_ifname(name))
		return;
	const char *ifindex = gw_uevent_get(ev, "IFINDEX");
	uint32_t index = ifindex ? (uint32_t)strtoul(ifindex, NULL, 10) : 0;
	const char *devtype = gw_uevent_get(ev, "DEVTYPE");

	/* a rename ("move") is a new name the rules have not seen */
	if (ev->action == GW_UEVENT_ADD || ev->action == GW_UEVENT_MOVE) {
		c->added++;
		report(a, name, ev->action == GW_UEVENT_ADD ? "added" : "renamed", index, devtype);
	} else if (ev->action == GW_UEVENT_REMOVE) {
		c->removed++;
		report(a, name, "removed", index, devtype);
	}
}

static int netif_start(struct gw_agent *a, void *state)
{
	struct gw_netif *w = state;

	netif_inventory(a, w->sys_root, &w->counts);
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
}

static void netif_destroy(struct gw_agent *a, void *state)
{
	(void)a;
	free(state);
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
					.events_in_summary = true,
					.start = netif_start,
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
