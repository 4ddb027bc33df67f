/*
 * test_netif_tunnel.c - the tunnel kinds read from a sysfs tree laid out as the kernel does, the
 * table of device opens the cgroup hook reports, and the fdinfo holder scan over a fake /proc.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/agent.h"
#include "gw_events.h"
#include "net/netif_tunnel.h"
#include "testing.h"

static char root[64];
static struct gw_agent *agent;

static void put(const char *rel, const char *text)
{
	char path[512], dir[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + strlen(root) + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdir(dir, 0755);
			*p = '/';
		}
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static const char *kind(const char *name, const char *devtype)
{
	char net[128];

	snprintf(net, sizeof(net), "%s/sys/class/net", root);
	return netif_tunnel_kind(net, name, devtype);
}

TEST(kinds_from_sysfs)
{
	put("sys/class/net/corp0/tun_flags", "0x1001\n");
	put("sys/class/net/corp0/type", "65534\n");
	put("sys/class/net/vm0/tun_flags", "0x1002\n");
	put("sys/class/net/vm0/type", "1\n");
	put("sys/class/net/wg7/type", "65534\n");
	put("sys/class/net/wg7/uevent", "DEVTYPE=wireguard\nINTERFACE=wg7\n");
	put("sys/class/net/ppp3/type", "512\n");
	put("sys/class/net/t1/type", "768\n");
	put("sys/class/net/tunl0/type", "768\n");
	put("sys/class/net/g1/type", "778\n");
	put("sys/class/net/veth9/type", "1\n");
	put("sys/class/net/lo/type", "772\n");
	CHECK_STR(kind("corp0", NULL), "tun");
	CHECK_STR(kind("vm0", NULL), "tap");
	CHECK_STR(kind("wg7", NULL), "wireguard");
	CHECK_STR(kind("anything", "wireguard"), "wireguard");
	CHECK_STR(kind("ppp3", NULL), "ppp");
	CHECK_STR(kind("t1", NULL), "ipip");
	CHECK_STR(kind("g1", NULL), "gre");
	/* made by the ipip module's load in every namespace, not by anyone's request */
	CHECK(kind("tunl0", NULL) == NULL);
	CHECK(kind("veth9", "veth") == NULL);
	CHECK(kind("lo", NULL) == NULL);
	CHECK(kind("gone", NULL) == NULL);
}

static struct gw_tunnel_open_event record(uint32_t major, uint32_t minor, uint32_t pid,
					  uint64_t ktime)
{
	struct gw_tunnel_open_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.hdr.type = GW_EV_TUNNEL_OPEN;
	ev.hdr.size = sizeof(ev);
	ev.hdr.ktime_ns = ktime;
	ev.task.pid = ev.task.tid = pid;
	ev.task.start_boottime_ns = 5000000000ULL;
	snprintf(ev.task.comm, sizeof(ev.task.comm), "maker%u", pid);
	ev.major = major;
	ev.minor = minor;
	return ev;
}

#define MS 1000000ULL

TEST(opens_just_before_the_interface)
{
	static struct netif_creators c;
	struct gw_tunnel_open_event ev;
	const struct netif_creator *cr;

	ev = record(GW_TUN_MAJOR, GW_TUN_MINOR, 4000001, 1000 * MS);
	REQUIRE(netif_creators_add(agent, &c, &ev, sizeof(ev)));
	ev = record(GW_PPP_MAJOR, GW_PPP_MINOR, 4000002, 1500 * MS);
	REQUIRE(netif_creators_add(agent, &c, &ev, sizeof(ev)));
	ev = record(GW_TUN_MAJOR, GW_TUN_MINOR, 4000003, 2000 * MS);
	REQUIRE(netif_creators_add(agent, &c, &ev, sizeof(ev)));
	/* the latest open before the interface appeared, of the device that makes its kind */
	cr = netif_creators_find(&c, "tun", 2001 * MS);
	REQUIRE(cr);
	CHECK(cr->pid == 4000003 && !strcmp(cr->source, "open") && !cr->ppp);
	CHECK_STR(cr->comm, "maker4000003");
	CHECK(cr->process_id == gw_process_id(&agent->boot, 4000003, 5000000000ULL));
	cr = netif_creators_find(&c, "tap", 1999 * MS);
	CHECK(cr && cr->pid == 4000001);
	cr = netif_creators_find(&c, "ppp", 2500 * MS);
	CHECK(cr && cr->pid == 4000002 && cr->ppp);
	/* an open after the interface, or too long before it, did not make it */
	CHECK(netif_creators_find(&c, "tun", 999 * MS) == NULL);
	CHECK(netif_creators_find(&c, "tun", (2000 + NETIF_OPEN_WINDOW_MS + 1) * MS) == NULL);
	/* short, or of another device: refused */
	CHECK(netif_creators_add(agent, &c, &ev, sizeof(ev) - 1) == NULL);
	ev = record(1, 3, 1, 1);
	CHECK(netif_creators_add(agent, &c, &ev, sizeof(ev)) == NULL);
	/* the ring keeps the latest NETIF_CREATORS */
	for (uint32_t i = 0; i < NETIF_CREATORS; i++) {
		ev = record(GW_TUN_MAJOR, GW_TUN_MINOR, 4100000 + i, (3000 + i) * MS);
		CHECK(netif_creators_add(agent, &c, &ev, sizeof(ev)));
	}
	CHECK(netif_creators_find(&c, "ppp", 3100 * MS) == NULL);
	cr = netif_creators_find(&c, "tun", 3100 * MS);
	CHECK(cr && cr->pid == 4100000 + NETIF_CREATORS - 1);
}

TEST(holder_from_fdinfo)
{
	char proc[128], link[256];
	struct netif_creator cr;

	snprintf(proc, sizeof(proc), "%s/proc", root);
	/* pid 4200001: a socket and a tun queue of another interface; 4200002 holds corp0's */
	put("proc/4200001/fdinfo/3", "pos:\t0\nflags:\t02\niff:\tother0\n");
	put("proc/4200001/fdinfo/4", "pos:\t0\n");
	put("proc/4200002/fdinfo/5", "pos:\t0\nflags:\t02\nmnt_id:\t9\niff:\tcorp0\n");
	put("proc/4200003/fdinfo/6", "pos:\t0\niff:\tcorp0\n"); /* not /dev/net/tun: ignored */
	put("proc/self-not-a-pid/x", "");
	snprintf(link, sizeof(link), "%s/proc/4200001/fd", root);
	mkdir(link, 0755);
	snprintf(link, sizeof(link), "%s/proc/4200002/fd", root);
	mkdir(link, 0755);
	snprintf(link, sizeof(link), "%s/proc/4200003/fd", root);
	mkdir(link, 0755);
	snprintf(link, sizeof(link), "%s/proc/4200001/fd/3", root);
	CHECK(symlink("/dev/net/tun", link) == 0);
	snprintf(link, sizeof(link), "%s/proc/4200001/fd/4", root);
	CHECK(symlink("socket:[123]", link) == 0);
	snprintf(link, sizeof(link), "%s/proc/4200002/fd/5", root);
	CHECK(symlink("/dev/net/tun", link) == 0);
	snprintf(link, sizeof(link), "%s/proc/4200003/fd/6", root);
	CHECK(symlink("/tmp/iff", link) == 0);
	REQUIRE(netif_tun_holder(agent, proc, "corp0", &cr));
	CHECK(cr.pid == 4200002 && !strcmp(cr.source, "fdinfo"));
	CHECK(!netif_tun_holder(agent, proc, "corp", &cr));
	CHECK(!netif_tun_holder(agent, proc, "nobody0", &cr));
}

int main(void)
{
	struct gw_options opt;
	char cmd[128];
	int rc;

	snprintf(root, sizeof(root), "/tmp/gw-netif-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	gw_options_defaults(&opt);
	snprintf(cmd, sizeof(cmd), "%s/proc", root);
	opt.proc_root = strdup(cmd);
	agent = calloc(1, sizeof(*agent));
	if (!agent || agent_init(agent, &opt))
		return 1;
	RUN(kinds_from_sysfs);
	RUN(opens_just_before_the_interface);
	RUN(holder_from_fdinfo);
	rc = test_summary();
	agent_destroy(agent);
	free(agent);
	free((char *)opt.proc_root);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd))
		rc = 1;
	return rc;
}
