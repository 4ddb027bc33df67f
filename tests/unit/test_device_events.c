/* The devices domain on a fake sysfs tree: inventory at start, then the uevent path's decisions
 * (attach on bind, identity kept for remove, monitors rescanned on DRM changes), through a sink
 * that records what the agent emitted. */
#include "core/agent.h"
#include "detect/detections.h"
#include "devices/devices.h"
#include "devices/device_proto.h"
#include "net/netif_watch.h"
#include "fake_sysfs.h"
#include "rules_testdir.h"
#include "testing.h"

#define MAX_SEEN 64

struct seen {
	char action[16], kind[16], source[16], name[64], product[64], fp[80];
	uint64_t seqnum;
	uint32_t vid, pid, creator_pid;
	bool is_virtual, has_abs, authorized;
	int32_t abs_max;
};

static struct seen seen[MAX_SEEN];
static int n_seen;

/* findings the detections raised (rule id and subject), e.g. for interfaces */
static char finding_rule[MAX_SEEN][24], finding_subject[MAX_SEEN][24];
static int n_findings;

static void capture(struct gw_agent *a, const gw_event_t *ev, void *ctx)
{
	const Ghostwatch__V1__DeviceEvent *d = ev->device;
	struct seen *s;

	(void)a;
	(void)ctx;
	if (ev->kind_case == GHOSTWATCH__V1__EVENT__KIND_FINDING && n_findings < MAX_SEEN) {
		snprintf(finding_rule[n_findings], sizeof(finding_rule[0]), "%s", ev->finding->rule_id);
		snprintf(finding_subject[n_findings], sizeof(finding_subject[0]), "%s",
			 ev->finding->subject);
		n_findings++;
		return;
	}
	if (ev->kind_case != GHOSTWATCH__V1__EVENT__KIND_DEVICE || n_seen == MAX_SEEN)
		return;
	s = &seen[n_seen++];
	memset(s, 0, sizeof(*s));
	snprintf(s->action, sizeof(s->action), "%s", d->action);
	snprintf(s->kind, sizeof(s->kind), "%s", d->kind);
	snprintf(s->source, sizeof(s->source), "%s", d->source);
	snprintf(s->fp, sizeof(s->fp), "%s", d->instance_fingerprint ? d->instance_fingerprint : "");
	s->seqnum = d->uevent_seqnum;
	s->creator_pid = d->process ? d->process->pid : 0;
	if (d->usb) {
		snprintf(s->name, sizeof(s->name), "%s", d->usb->sysfs_name);
		snprintf(s->product, sizeof(s->product), "%s", d->usb->product);
		s->vid = d->usb->vendor_id;
		s->pid = d->usb->product_id;
		s->has_abs = d->usb->hid && d->usb->hid->abs_x_max;
		s->authorized = d->usb->authorized;
	} else if (d->hid) {
		snprintf(s->name, sizeof(s->name), "%s", d->hid->sysfs_name);
		snprintf(s->product, sizeof(s->product), "%s", d->hid->name);
		s->has_abs = d->hid->facts && d->hid->facts->abs_x_max;
		s->abs_max = d->hid->facts ? d->hid->facts->abs_x_max : 0;
	} else if (d->input) {
		snprintf(s->name, sizeof(s->name), "%s", d->input->sysfs_name);
		snprintf(s->product, sizeof(s->product), "%s", d->input->name);
		s->is_virtual = d->input->virtual_;
	} else if (d->monitor) {
		snprintf(s->name, sizeof(s->name), "%s", d->monitor->connector);
		snprintf(s->product, sizeof(s->product), "%s", d->monitor->monitor_name);
	}
}

static struct gw_agent *agent;

static const struct seen *find(const char *action, const char *kind, const char *name)
{
	for (int i = 0; i < n_seen; i++)
		if (!strcmp(seen[i].action, action) && !strcmp(seen[i].kind, kind) &&
		    !strcmp(seen[i].name, name))
			return &seen[i];
	return NULL;
}

/* Feeds a uevent as the listener would after accepting it; returns events it produced. */
static int feed(const char *msg, size_t len)
{
	static struct gw_uevent ev;
	int before = n_seen;

	if (gw_uevent_parse(msg, len, &ev) != GW_UEVENT_OK)
		return -1;
	uevents_deliver(agent, &ev);
	return n_seen - before;
}

#define FEED(s) feed(s, sizeof(s) - 1)
#define USB_PATH "/devices/pci0000:00/0000:00:04.0/usb1/1-1"

TEST(inventory_reports_everything_present)
{
	const struct seen *s;

	CHECK(n_seen == 3 + 2 + 3 + 1);
	REQUIRE((s = find("inventory", "usb", "1-1")));
	CHECK_STR(s->product, "PiKVM Composite Device");
	CHECK_STR(s->source, "sysfs");
	CHECK(s->has_abs);
	REQUIRE((s = find("inventory", "input", "input9")));
	CHECK(s->is_virtual);
	REQUIRE((s = find("inventory", "monitor", "card0-HDMI-A-1")));
	CHECK_STR(s->product, "PiKVM");
	CHECK(find("inventory", "hid", "0003:1D6B:0104.0002") != NULL);
}

TEST(usb_attach_waits_for_bind)
{
	const struct seen *s;

	/* at "add" the interfaces do not exist yet; interfaces are folded into the device */
	CHECK(FEED("add@" USB_PATH "\0SUBSYSTEM=usb\0DEVTYPE=usb_device\0SEQNUM=4\0") == 0);
	CHECK(FEED("bind@" USB_PATH "/1-1:1.0\0SUBSYSTEM=usb\0DEVTYPE=usb_interface\0") == 0);
	CHECK(FEED("bind@" USB_PATH "\0SUBSYSTEM=usb\0DEVTYPE=usb_device\0DRIVER=usb\0SEQNUM=5\0") ==
	      1);
	REQUIRE((s = find("attach", "usb", "1-1")));
	CHECK_STR(s->source, "uevent");
	CHECK_STR(s->product, "PiKVM Composite Device");
	CHECK(s->seqnum == 5 && s->has_abs);
	/* the same fingerprint as the inventory's */
	CHECK_STR(s->fp, find("inventory", "usb", "1-1")->fp);
}

TEST(blocked_usb_reported_at_add)
{
	const struct seen *s;

	/* authorized=0 (USBGuard): never configured, so no bind will come */
	CHECK(FEED("add@/devices/pci0000:00/0000:00:04.0/usb1/1-3\0SUBSYSTEM=usb\0"
		   "DEVTYPE=usb_device\0SEQNUM=6\0") == 1);
	REQUIRE((s = find("attach", "usb", "1-3")));
	CHECK_STR(s->product, "Blocked Gadget");
	CHECK(!s->authorized);
	REQUIRE((s = find("attach", "usb", "1-1")));
	CHECK(s->authorized);
}

TEST(usb_remove_keeps_identity)
{
	const struct seen *s, *att = find("attach", "usb", "1-1");

	CHECK(FEED("remove@" USB_PATH "\0SUBSYSTEM=usb\0DEVTYPE=usb_device\0PRODUCT=1d6b/104/100\0"
		   "BUSNUM=001\0DEVNUM=002\0SEQNUM=9\0") == 1);
	REQUIRE((s = find("detach", "usb", "1-1")));
	CHECK_STR(s->product, "PiKVM Composite Device");
	CHECK(s->vid == 0x1d6b && s->pid == 0x0104);
	REQUIRE(att);
	CHECK_STR(s->fp, att->fp);
	/* a device the agent never saw: what the uevent says */
	CHECK(FEED("remove@/devices/pci0000:00/usb7/7-7\0SUBSYSTEM=usb\0DEVTYPE=usb_device\0"
		   "PRODUCT=46d/c52b/1211\0") == 1);
	REQUIRE((s = find("detach", "usb", "7-7")));
	CHECK(s->vid == 0x046d && s->pid == 0xc52b);
}

TEST(hid_and_input_uevents)
{
	const struct seen *s;

	CHECK(FEED("add@" USB_PATH "/1-1:1.1/0003:1D6B:0104.0002\0SUBSYSTEM=hid\0") == 0);
	CHECK(FEED("bind@" USB_PATH "/1-1:1.1/0003:1D6B:0104.0002\0SUBSYSTEM=hid\0") == 1);
	REQUIRE((s = find("attach", "hid", "0003:1D6B:0104.0002")));
	CHECK(s->abs_max == 32767);
	CHECK(FEED("add@/devices/virtual/input/input9\0SUBSYSTEM=input\0") == 1);
	REQUIRE((s = find("attach", "input", "input9")));
	CHECK(s->is_virtual);
	CHECK_STR(s->product, "ydotoold virtual device");
	/* handler nodes are not devices */
	CHECK(FEED("add@/devices/virtual/input/input9/event9\0SUBSYSTEM=input\0") == 0);
	CHECK(FEED("remove@/devices/virtual/input/input9\0SUBSYSTEM=input\0") == 1);
	REQUIRE((s = find("detach", "input", "input9")));
	CHECK_STR(s->product, "ydotoold virtual device");
	CHECK(s->is_virtual);
}

TEST(monitor_rescans_on_drm_change)
{
	char path[256];
	uint8_t edid[128];
	const struct seen *s;
	FILE *f;

	/* nothing changed since the inventory */
	CHECK(FEED("change@/devices/pci0000:00/0000:00:02.0/drm/card0\0SUBSYSTEM=drm\0HOTPLUG=1\0") ==
	      0);
	/* another monitor on the same connector */
	make_edid(edid);
	memcpy(edid + 72, "\0\0\0\xfc\0TinyPilot\n   ", 18);
	edid[127] = 0;
	for (int i = 0; i < 127; i++)
		edid[127] = (uint8_t)(edid[127] - edid[i]);
	snprintf(path, sizeof(path), "%s/" CONNECTOR "/edid", root);
	REQUIRE((f = fopen(path, "wb")));
	fwrite(edid, 1, sizeof(edid), f);
	fclose(f);
	CHECK(FEED("change@/devices/pci0000:00/0000:00:02.0/drm/card0\0SUBSYSTEM=drm\0HOTPLUG=1\0") ==
	      1);
	REQUIRE((s = find("attach", "monitor", "card0-HDMI-A-1")));
	CHECK_STR(s->product, "TinyPilot");
	/* unplugged: the EDID file is empty */
	REQUIRE((f = fopen(path, "wb")));
	fclose(f);
	CHECK(FEED("change@/devices/pci0000:00/0000:00:02.0/drm/card0\0SUBSYSTEM=drm\0HOTPLUG=1\0") ==
	      1);
	REQUIRE((s = find("detach", "monitor", "card0-HDMI-A-1")));
	CHECK_STR(s->product, "TinyPilot");
}

static bool found(const char *rule, const char *subject)
{
	for (int i = 0; i < n_findings; i++)
		if (!strcmp(finding_rule[i], rule) && !strcmp(finding_subject[i], subject))
			return true;
	return false;
}

TEST(net_uevents_reach_the_netif_rules)
{
	const struct gw_netif_counts *c = netif_counts(agent);
	uint64_t added = c->added;
	int before = n_findings;

	/* a tunnel appears: the shipped tun0 rule, and no device event */
	CHECK(FEED("add@/devices/virtual/net/tun0\0SUBSYSTEM=net\0INTERFACE=tun0\0IFINDEX=9\0") == 0);
	CHECK(found("GW-VPN-0007", "tun0"));
	CHECK(c->added == added + 1);
	/* a rename is a new name: NetBird's wt0 */
	CHECK(FEED("move@/devices/virtual/net/wt0\0SUBSYSTEM=net\0INTERFACE=wt0\0"
		   "DEVPATH_OLD=/devices/virtual/net/tun7\0") == 0);
	CHECK(found("GW-RMM-1707", "wt0"));
	/* an ordinary interface: counted, no finding */
	before = n_findings;
	CHECK(FEED("add@/devices/virtual/net/eth9\0SUBSYSTEM=net\0INTERFACE=eth9\0") == 0);
	CHECK(n_findings == before && c->added == added + 3);
	/* names the kernel would never give an interface are not believed */
	CHECK(FEED("add@/devices/virtual/net/x\0SUBSYSTEM=net\0INTERFACE=tun0/../x\0") == 0);
	CHECK(FEED("add@/devices/virtual/net/y\0SUBSYSTEM=net\0INTERFACE=a-name-far-too-long\0") ==
	      0);
	CHECK(FEED("add@/devices/virtual/net/z\0SUBSYSTEM=net\0") == 0);
	CHECK(n_findings == before && c->added == added + 3);
	CHECK(FEED("remove@/devices/virtual/net/tun0\0SUBSYSTEM=net\0INTERFACE=tun0\0") == 0);
	CHECK(c->removed == 1);
}

TEST(counters_and_class_names)
{
	gw_event_t *ev = agent_build_stats(agent);
	char buf[16];

	/* no records: the first event counter is the devices domain's */
	REQUIRE(ev && ev->stats->n_events >= 3);
	CHECK_STR(ev->stats->events[0]->name, "device_inventory");
	CHECK(ev->stats->events[0]->value == 9);
	CHECK(ev->stats->n_drops >= GW_DROP_CATEGORY_MAX);
	CHECK_STR(usb_interface_class_name(3, 1, 1, buf, sizeof(buf)), "hid_boot_keyboard");
	CHECK_STR(usb_interface_class_name(3, 1, 2, buf, sizeof(buf)), "hid_boot_mouse");
	CHECK_STR(usb_interface_class_name(8, 6, 0x50, buf, sizeof(buf)), "mass_storage");
	CHECK_STR(usb_interface_class_name(2, 6, 0, buf, sizeof(buf)), "cdc_ethernet");
	CHECK_STR(usb_interface_class_name(0xe0, 1, 3, buf, sizeof(buf)), "rndis");
	CHECK_STR(usb_interface_class_name(0x42, 0, 0, buf, sizeof(buf)), "class_0x42");
}

int main(void)
{
	struct gw_options opt;
	int rc;

	if (fake_sysfs_create())
		return 1;
	gw_options_defaults(&opt);
	agent = calloc(1, sizeof(*agent));
	if (!agent || agent_init(agent, &opt))
		return 1;
	agent_add_sink(agent, (struct gw_sink){ .emit = capture });
	if (detections_register(agent, shipped_rules_dir(), "/nonexistent-gw-rules.d") ||
	    devices_register(agent, GW_DEVMODE_UEVENT, root) || netif_register(agent, root))
		return 1;
	/* the domains' start without the BPF process hooks and ring agent_start would load */
	for (int i = 0; i < agent->n_domains; i++)
		if (agent->domains[i].start(agent, agent->domains[i].state))
			return 1;
	RUN(inventory_reports_everything_present);
	RUN(usb_attach_waits_for_bind);
	RUN(blocked_usb_reported_at_add);
	RUN(usb_remove_keeps_identity);
	RUN(hid_and_input_uevents);
	RUN(monitor_rescans_on_drm_change);
	RUN(net_uevents_reach_the_netif_rules);
	RUN(counters_and_class_names);
	rc = test_summary();
	agent_destroy(agent);
	free(agent);
	if (fake_sysfs_remove())
		rc = 1;
	return rc;
}
