#include "netif_watch.h"

#include <dirent.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "detections.h"
#include "uevent_parse.h"

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

void netif_inventory(struct gw_agent *a, const char *sys_root, struct gw_netif_counts *c)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/class/net", sys_root ? sys_root : "/sys");
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.' && valid_ifname(de->d_name)) {
			c->inventory++;
			detections_on_netif(a, de->d_name, 0, gw_now_realtime_ns());
		}
	closedir(dir);
}

void netif_on_uevent(struct gw_agent *a, const struct gw_uevent *ev, struct gw_netif_counts *c)
{
	/* INTERFACE= is the name at the time of the event; the devpath's last component agrees */
	const char *name = gw_uevent_get(ev, "INTERFACE");

	if (!name || !valid_ifname(name))
		return;
	/* a rename ("move") is a new name the rules have not seen */
	if (ev->action == GW_UEVENT_ADD || ev->action == GW_UEVENT_MOVE) {
		c->added++;
		detections_on_netif(a, name, 0, gw_now_realtime_ns());
	} else if (ev->action == GW_UEVENT_REMOVE) {
		c->removed++;
	}
}
