#include "netif_tunnel.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "core/agent.h"
#include "core/process_lookup.h"
#include "core/proc_id.h"
#include "core/small_file.h"
#include "core/hooks.h"
#include "gw_events.h"
#include "tunnel.skel.h"

#define ARPHRD_PPP_ 512
#define ARPHRD_TUNNEL_ 768   /* ipip */
#define ARPHRD_TUNNEL6_ 769  /* ip6tnl */
#define ARPHRD_SIT_ 776
#define ARPHRD_IPGRE_ 778
#define ARPHRD_IP6GRE_ 823
#define ARPHRD_NONE_ 65534
#define IFF_TUN_ 0x0001
#define IFF_TAP_ 0x0002

static ssize_t read_attr(const char *net_dir, const char *name, const char *attr, char *buf,
			 size_t size)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s/%s", net_dir, name, attr) >= (int)sizeof(path))
		return -1;
	return gw_read_small_file(AT_FDCWD, path, 0, buf, size);
}

/* The devices each IP tunnel module makes in every namespace when it loads. */
static bool fallback_device(const char *name)
{
	static const char *const names[] = { "tunl0", "sit0", "gre0", "gretap0", "erspan0",
					     "ip_vti0", "ip6_vti0", "ip6tnl0", "ip6gre0" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

const char *netif_tunnel_kind(const char *net_dir, const char *name, const char *devtype)
{
	char buf[64];
	long type = -1;

	if (devtype && !strcmp(devtype, "wireguard"))
		return "wireguard";
	if (read_attr(net_dir, name, "tun_flags", buf, sizeof(buf)) > 0) {
		unsigned long flags = strtoul(buf, NULL, 16);

		return (flags & IFF_TAP_) ? "tap" : "tun";
	}
	if (read_attr(net_dir, name, "type", buf, sizeof(buf)) > 0)
		type = strtol(buf, NULL, 10);
	if (type == ARPHRD_PPP_)
		return "ppp";
	if (fallback_device(name))
		return NULL;
	switch (type) {
	case ARPHRD_TUNNEL_:
		return devtype && !strcmp(devtype, "vti") ? "vti" : "ipip";
	case ARPHRD_TUNNEL6_:
		return devtype && !strcmp(devtype, "vti6") ? "vti" : "ip6tnl";
	case ARPHRD_SIT_:
		return "sit";
	case ARPHRD_IPGRE_:
		return "gre";
	case ARPHRD_IP6GRE_:
		return "ip6gre";
	case ARPHRD_NONE_:
		/* a WireGuard link on a kernel whose uevent has no DEVTYPE */
		if (read_attr(net_dir, name, "uevent", buf, sizeof(buf)) > 0 &&
		    strstr(buf, "DEVTYPE=wireguard"))
			return "wireguard";
		return NULL;
	default:
		return NULL;
	}
}

/* Fills who/exe of `out` from the process table (or /proc) when it still knows `pid` as the
 * process `process_id`. */
static void creator_identity(struct gw_agent *a, struct netif_creator *out)
{
	const struct proc_entry *e = process_lookup(a, out->pid);

	if (!e || (out->process_id && e->id != out->process_id))
		return;
	out->process_id = e->id;
	snprintf(out->comm, sizeof(out->comm), "%s", e->comm);
	snprintf(out->exe, sizeof(out->exe), "%s", e->exe ? e->exe : "");
}

const struct netif_creator *netif_creators_add(struct gw_agent *a, struct netif_creators *c,
					       const void *data, size_t size)
{
	const struct gw_tunnel_open_event *ev = data;
	struct netif_creator *cr;
	bool ppp;

	if (size < sizeof(*ev))
		return NULL;
	if (ev->major == GW_TUN_MAJOR && ev->minor == GW_TUN_MINOR)
		ppp = false;
	else if (ev->major == GW_PPP_MAJOR && ev->minor == GW_PPP_MINOR)
		ppp = true;
	else
		return NULL;
	cr = &c->v[c->next++ % NETIF_CREATORS];
	memset(cr, 0, sizeof(*cr));
	cr->ppp = ppp;
	cr->pid = ev->task.pid;
	cr->process_id = gw_process_id(&a->boot, ev->task.pid, ev->task.start_boottime_ns);
	cr->boot_ns = ev->hdr.ktime_ns;
	cr->source = "open";
	snprintf(cr->comm, sizeof(cr->comm), "%.15s", ev->task.comm);
	creator_identity(a, cr);
	return cr;
}

const struct netif_creator *netif_creators_find(const struct netif_creators *c, const char *kind,
						uint64_t appeared_ns)
{
	const uint64_t window = NETIF_OPEN_WINDOW_MS * 1000000ULL;
	bool ppp = !strcmp(kind, "ppp");

	/* newest first: the open just before the interface appeared */
	for (uint32_t k = 1; k <= NETIF_CREATORS; k++) {
		const struct netif_creator *cr = &c->v[(c->next - k) % NETIF_CREATORS];

		if (!cr->source || cr->ppp != ppp || cr->boot_ns > appeared_ns)
			continue;
		if (appeared_ns - cr->boot_ns <= window)
			return cr;
	}
	return NULL;
}

/* Whether <pid_dir>/fdinfo/<fd> is a tun queue attached to `ifname`. */
static bool fd_is_tun_of(const char *pid_dir, const char *fd, const char *ifname)
{
	char path[PATH_MAX], target[32], buf[1024];
	const char *p;
	ssize_t n;

	if (snprintf(path, sizeof(path), "%s/fd/%s", pid_dir, fd) >= (int)sizeof(path))
		return false;
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = 0;
	if (strcmp(target, "/dev/net/tun"))
		return false;
	if (snprintf(path, sizeof(path), "%s/fdinfo/%s", pid_dir, fd) >= (int)sizeof(path))
		return false;
	if (gw_read_small_file(AT_FDCWD, path, 0, buf, sizeof(buf)) <= 0)
		return false;
	p = gw_line_value(buf, "iff:");
	if (!p)
		return false;
	p += strspn(p, " \t");
	return strcspn(p, "\n") == strlen(ifname) && !strncmp(p, ifname, strlen(ifname));
}

bool netif_tun_holder(struct gw_agent *a, const char *proc_root, const char *ifname,
		      struct netif_creator *out)
{
	DIR *proc = opendir(proc_root);
	struct dirent *de;
	bool found = false;

	if (!proc)
		return false;
	while (!found && (de = readdir(proc))) {
		char pid_dir[PATH_MAX], fd_dir[PATH_MAX];
		struct dirent *fe;
		DIR *fds;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		if (snprintf(pid_dir, sizeof(pid_dir), "%s/%s", proc_root, de->d_name) >=
			    (int)sizeof(pid_dir) ||
		    snprintf(fd_dir, sizeof(fd_dir), "%s/fd", pid_dir) >= (int)sizeof(fd_dir))
			continue;
		fds = opendir(fd_dir);
		if (!fds)
			continue;
		while ((fe = readdir(fds)))
			if (fe->d_name[0] != '.' && fd_is_tun_of(pid_dir, fe->d_name, ifname)) {
				found = true;
				break;
			}
		closedir(fds);
		if (found) {
			memset(out, 0, sizeof(*out));
			snprintf(out->ifname, sizeof(out->ifname), "%s", ifname);
			out->pid = (uint32_t)strtoul(de->d_name, NULL, 10);
			out->source = "fdinfo";
			creator_identity(a, out);
		}
	}
	closedir(proc);
	return found;
}

int netif_tunnel_hooks_load(struct gw_agent *a, struct netif_tunnel_hooks *h)
{
	struct gw_hooks *hooks = &a->hooks;
	int err, cg;

	memset(h, 0, sizeof(*h));
	if (hooks->events_fd < 0 || !a->cgroup2_root[0]) {
		snprintf(h->why, sizeof(h->why), "%s", hooks->events_fd < 0 ?
			 "no shared ring buffer" : "no cgroup v2 mount");
		return -ENOENT;
	}
	h->skel = gw_tunnel__open();
	if (!h->skel) {
		err = -errno;
		snprintf(h->why, sizeof(h->why), "open: %s", strerror(errno));
		return err;
	}
	h->skel->rodata->gw_wakeup_bytes = a->opt.hooks.wakeup_bytes;
	err = hooks_share_maps(hooks, h->skel->obj);
	if (!err)
		err = gw_tunnel__load(h->skel);
	if (!err) {
		cg = open(a->cgroup2_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cg < 0) {
			err = -errno;
		} else {
			/* a link: other device programs on the root stay, ours goes with us */
			h->link = bpf_program__attach_cgroup(h->skel->progs.gw_tunnel_dev_open, cg);
			if (!h->link)
				err = -errno;
			else	/* checked still attached by the tamper domain */
				attach_registry_add(&hooks->attached, bpf_link__fd(h->link), cg);
			close(cg);
		}
	}
	if (err) {
		snprintf(h->why, sizeof(h->why), "cgroup/dev on %.100s: %s", a->cgroup2_root,
			 strerror(err < 0 ? -err : err));
		netif_tunnel_hooks_close(h);
	}
	return err;
}

void netif_tunnel_hooks_close(struct netif_tunnel_hooks *h)
{
	bpf_link__destroy(h->link);
	gw_tunnel__destroy(h->skel);
	h->link = NULL;
	h->skel = NULL;
}
