/*
 * devices.c - the devices domain as the agent runs it: BPF device records, the uevents it
 * subscribes to, the sysfs inventory at start, its hook status and counters. See devices.h.
 */
#include "devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/agent.h"
#include "devices_emit.h"
#include "gw_events.h"
#include "common/text_sanitize.h"
/* ---- BPF records ---------------------------------------------------------------------------- */

static enum gw_device_source record_source(const struct gw_device_common *c)
{
	return c->hook == GW_DEV_HOOK_KPROBE ? GW_DEVSRC_KPROBE : GW_DEVSRC_FENTRY;
}

static int handle_usb_record(struct gw_agent *a, const struct gw_usb_event *r)
{
	struct gw_usb_info *u = &devices_emit_state(a)->usb;
	bool attach = r->dev.action == GW_DEV_ATTACH;

	devices_emit_usb_from_record(a, r, u, attach);
	if (!attach)
		devices_emit_usb_identity(a, u);
	devices_emit_usb(a, attach ? "attach" : "detach", record_source(&r->dev), u, 0, r->dev.ret);
	return 0;
}

static void hid_from_record(struct gw_agent *a, const struct gw_hid_event *r, struct gw_hid_info *h,
			    bool enrich)
{
	char name[GW_DEV_NAME_MAX];

	gw_text_sanitize(name, sizeof(name), r->sysfs_name, sizeof(r->sysfs_name));
	if (!enrich || gw_sysfs_read_hid(devices_emit_state(a)->sys_root, name, h)) {
		if (enrich)
			devices_emit_state(a)->sysfs_gone++;
		memset(h, 0, offsetof(struct gw_hid_info, descriptor));
		snprintf(h->name, sizeof(h->name), "%s", name);
	}
	h->bus = r->bus;
	h->vendor_id = r->vendor_id;
	h->product_id = r->product_id;
	h->string_flags |= gw_text_sanitize(h->hid_name, sizeof(h->hid_name), r->name,
					    sizeof(r->name));
	h->string_flags |= gw_text_sanitize(h->phys, sizeof(h->phys), r->phys, sizeof(r->phys));
	h->string_flags |= gw_text_sanitize(h->uniq, sizeof(h->uniq), r->uniq, sizeof(r->uniq));
	if (!strncmp(r->parent_name, "uhid", sizeof(r->parent_name)))
		h->is_virtual = true;
}

static int handle_hid_record(struct gw_agent *a, const struct gw_hid_event *r)
{
	struct gw_hid_info *h = &devices_emit_state(a)->hid;
	bool attach = r->dev.action == GW_DEV_ATTACH;

	hid_from_record(a, r, h, attach);
	/* a uhid device is added by a kernel worker: its creator is whoever holds /dev/uhid */
	devices_emit_hid(a, attach ? "attach" : "detach", record_source(&r->dev), h, 0, r->dev.ret,
			 attach && h->is_virtual ? devices_emit_node_holder(a, "uhid") : NULL);
	return 0;
}

static int handle_input_record(struct gw_agent *a, const struct gw_input_event *r)
{
	struct gw_input_info *in = &devices_emit_state(a)->input, sys;
	bool attach = r->dev.action == GW_DEV_ATTACH;
	bool uhid = false;

	memset(in, 0, sizeof(*in));
	gw_text_sanitize(in->name, sizeof(in->name), r->sysfs_name, sizeof(r->sysfs_name));
	in->string_flags |= gw_text_sanitize(in->dev_name, sizeof(in->dev_name), r->name,
					     sizeof(r->name));
	in->string_flags |= gw_text_sanitize(in->phys, sizeof(in->phys), r->phys, sizeof(r->phys));
	in->string_flags |= gw_text_sanitize(in->uniq, sizeof(in->uniq), r->uniq, sizeof(r->uniq));
	in->bustype = r->bustype;
	in->vendor_id = r->vendor_id;
	in->product_id = r->product_id;
	in->version = r->version;
	in->is_virtual = !r->has_parent;
	in->ev_bits = r->ev_bits;
	in->rel_bits = r->rel_bits;
	in->abs_bits = r->abs_bits;
	in->prop_bits = r->prop_bits;
	memcpy(in->key_bits, r->key_bits, sizeof(r->key_bits));
	in->classes = gw_input_classify(in);
	/* the kernel's absinfo, straight from the record */
	if ((r->abs_bits & 3) == 3) {
		in->has_abs_range = true;
		in->abs_x = (struct gw_hid_range){ r->abs_x_min, r->abs_x_max };
		in->abs_y = (struct gw_hid_range){ r->abs_y_min, r->abs_y_max };
	}
	if (attach && !gw_sysfs_read_input(devices_emit_state(a)->sys_root, in->name, &sys)) {
		memcpy(in->devpath, sys.devpath, sizeof(in->devpath));
		memcpy(in->usb_parent, sys.usb_parent, sizeof(in->usb_parent));
		/* a parent under /devices/virtual: a uhid device's input node */
		uhid = sys.is_virtual && !in->is_virtual;
		in->is_virtual |= sys.is_virtual;
	}
	/* uinput registers in its creator's ioctl, so the task is the creator; uhid does it from a
	 * kernel worker, so ask who holds /dev/uhid */
	devices_emit_input(a, attach ? "attach" : "detach", record_source(&r->dev), in, 0,
			   r->dev.ret,
			   uhid ? devices_emit_node_holder(a, "uhid") :
			   !r->has_parent ? devices_emit_task_process(a, &r->dev.task) : NULL);
	return 0;
}

static int devices_handle_record(struct gw_agent *a, void *state, const void *data, size_t size)
{
	const struct gw_event_hdr *hdr = data;

	(void)state;
	switch (hdr->type) {
	case GW_EV_DEVICE_USB:
		if (size < sizeof(struct gw_usb_event))
			return -1;
		return handle_usb_record(a, data);
	case GW_EV_DEVICE_HID:
		if (size < sizeof(struct gw_hid_event))
			return -1;
		return handle_hid_record(a, data);
	case GW_EV_DEVICE_INPUT:
		if (size < sizeof(struct gw_input_event))
			return -1;
		return handle_input_record(a, data);
	default:
		return -1;
	}
}

/* ---- uevents -------------------------------------------------------------------------------- */

/* The last component of a devpath: the sysfs name. NULL when there is none. */
static const char *devpath_name(const char *devpath)
{
	const char *slash = strrchr(devpath, '/');
	const char *name = slash ? slash + 1 : devpath;

	return *name && strlen(name) < GW_DEV_NAME_MAX ? name : NULL;
}

static void usb_identity_from_uevent(const struct gw_uevent *ev, struct gw_usb_info *u)
{
	const char *product = gw_uevent_get(ev, "PRODUCT"), *s;
	unsigned vid, pid, bcd;

	/* PRODUCT=vid/pid/bcd in hex without leading zeros */
	if (product && sscanf(product, "%x/%x/%x", &vid, &pid, &bcd) == 3) {
		u->vendor_id = (uint16_t)vid;
		u->product_id = (uint16_t)pid;
		u->bcd_device = (uint16_t)bcd;
	}
	if ((s = gw_uevent_get(ev, "BUSNUM")))
		u->busnum = (uint32_t)strtoul(s, NULL, 10);
	if ((s = gw_uevent_get(ev, "DEVNUM")))
		u->devnum = (uint32_t)strtoul(s, NULL, 10);
}

static void handle_usb_uevent(struct gw_agent *a, const struct gw_uevent *ev, const char *name)
{
	struct gw_usb_info *u = &devices_emit_state(a)->usb;

	/* interfaces are folded into their device; root hubs are part of the controller */
	if (!ev->devtype || strcmp(ev->devtype, "usb_device"))
		return;
	if (ev->action == GW_UEVENT_BIND) {
		/* "bind" of the device comes after its configuration is set and its interfaces (and
		 * their HID children) exist; at "add" they do not yet */
		if (gw_sysfs_read_usb(devices_emit_state(a)->sys_root, name, u)) {
			devices_emit_state(a)->sysfs_gone++;
			usb_identity_from_uevent(ev, u);
		}
		devices_emit_usb(a, "attach", GW_DEVSRC_UEVENT, u, ev->seqnum, 0);
	} else if (ev->action == GW_UEVENT_ADD) {
		/* a device blocked by policy (authorized=0) is never configured, so no bind follows:
		 * report it at add, it is exactly what someone tried to plug in */
		if (!gw_sysfs_read_usb(devices_emit_state(a)->sys_root, name, u) && !u->authorized)
			devices_emit_usb(a, "attach", GW_DEVSRC_UEVENT, u, ev->seqnum, 0);
	} else if (ev->action == GW_UEVENT_REMOVE) {
		memset(u, 0, sizeof(*u));
		snprintf(u->name, sizeof(u->name), "%s", name);
		usb_identity_from_uevent(ev, u);
		devices_emit_usb_identity(a, u);
		devices_emit_usb(a, "detach", GW_DEVSRC_UEVENT, u, ev->seqnum, 0);
	}
}

static void handle_hid_uevent(struct gw_agent *a, const struct gw_uevent *ev, const char *name)
{
	struct gw_hid_info *h = &devices_emit_state(a)->hid;

	if (ev->action == GW_UEVENT_BIND) {
		/* the report descriptor is only readable once a driver has parsed it */
		if (gw_sysfs_read_hid(devices_emit_state(a)->sys_root, name, h))
			devices_emit_state(a)->sysfs_gone++;
		devices_emit_hid(a, "attach", GW_DEVSRC_UEVENT, h, ev->seqnum, 0,
				 h->is_virtual ? devices_emit_node_holder(a, "uhid") : NULL);
	} else if (ev->action == GW_UEVENT_REMOVE) {
		struct device_entry *e = device_table_get(&devices_emit_state(a)->table, GW_DEVKIND_HID, name);
		unsigned bus = 0, vid = 0, pid = 0;

		memset(h, 0, offsetof(struct gw_hid_info, descriptor));
		snprintf(h->name, sizeof(h->name), "%s", name);
		if (sscanf(name, "%4x:%4x:%4x", &bus, &vid, &pid) == 3) {
			h->bus = (uint16_t)bus;
			h->vendor_id = vid;
			h->product_id = pid;
		}
		if (e) {
			snprintf(h->hid_name, sizeof(h->hid_name), "%s", e->str[0]);
			snprintf(h->phys, sizeof(h->phys), "%s", e->str[1]);
			snprintf(h->uniq, sizeof(h->uniq), "%s", e->str[2]);
		}
		devices_emit_hid(a, "detach", GW_DEVSRC_UEVENT, h, ev->seqnum, 0, NULL);
	}
}

static void handle_input_uevent(struct gw_agent *a, const struct gw_uevent *ev, const char *name)
{
	struct gw_input_info *in = &devices_emit_state(a)->input;

	/* inputN is the device; eventN, mouseN, jsN are its handlers' nodes */
	if (strncmp(name, "input", 5))
		return;
	if (ev->action == GW_UEVENT_ADD) {
		if (gw_sysfs_read_input(devices_emit_state(a)->sys_root, name, in))
			devices_emit_state(a)->sysfs_gone++;
		devices_emit_input(a, "attach", GW_DEVSRC_UEVENT, in, ev->seqnum, 0,
				   devices_emit_input_creator(a, in));
	} else if (ev->action == GW_UEVENT_REMOVE) {
		memset(in, 0, sizeof(*in));
		snprintf(in->name, sizeof(in->name), "%s", name);
		in->is_virtual = strncmp(ev->devpath, "/devices/virtual/", 17) == 0;
		devices_emit_input_identity(a, in);
		devices_emit_input(a, "detach", GW_DEVSRC_UEVENT, in, ev->seqnum, 0, NULL);
	}
}

void devices_handle_uevent(struct gw_agent *a, const struct gw_uevent *ev)
{
	const char *name = devpath_name(ev->devpath);

	if (!name)
		return;
	gw_arena_reset(&a->arena);
	switch (gw_uevent_subsystem_bit(ev->subsystem)) {
	case GW_UEVENT_SUBSYS_USB:
		handle_usb_uevent(a, ev, name);
		break;
	case GW_UEVENT_SUBSYS_HID:
		handle_hid_uevent(a, ev, name);
		break;
	case GW_UEVENT_SUBSYS_INPUT:
		handle_input_uevent(a, ev, name);
		break;
	case GW_UEVENT_SUBSYS_DRM:
		devices_emit_monitors(a, "attach", GW_DEVSRC_UEVENT, ev->seqnum);
		break;
	default:
		break;
	}
}

static void on_uevent(struct gw_agent *a, void *ctx, const struct gw_uevent *ev)
{
	(void)ctx;
	devices_handle_uevent(a, ev);
}

/* ---- inventory ------------------------------------------------------------------------------ */

static void inventory_usb(const char *name, void *ctx)
{
	struct gw_agent *a = ctx;

	if (gw_sysfs_read_usb(devices_emit_state(a)->sys_root, name, &devices_emit_state(a)->usb))
		return;
	gw_arena_reset(&a->arena);
	devices_emit_usb(a, "inventory", GW_DEVSRC_SYSFS, &devices_emit_state(a)->usb, 0, 0);
}

static void inventory_hid(const char *name, void *ctx)
{
	struct gw_agent *a = ctx;

	if (gw_sysfs_read_hid(devices_emit_state(a)->sys_root, name, &devices_emit_state(a)->hid))
		return;
	gw_arena_reset(&a->arena);
	devices_emit_hid(a, "inventory", GW_DEVSRC_SYSFS, &devices_emit_state(a)->hid, 0, 0,
			 devices_emit_state(a)->hid.is_virtual ? devices_emit_node_holder(a, "uhid") :
								 NULL);
}

static void inventory_input(const char *name, void *ctx)
{
	struct gw_agent *a = ctx;
	struct gw_input_info *in = &devices_emit_state(a)->input;

	if (gw_sysfs_read_input(devices_emit_state(a)->sys_root, name, in))
		return;
	gw_arena_reset(&a->arena);
	devices_emit_input(a, "inventory", GW_DEVSRC_SYSFS, in, 0, 0, devices_emit_input_creator(a, in));
}

static void emit_inventory(struct gw_agent *a)
{
	gw_sysfs_list(devices_emit_state(a)->sys_root, GW_SYSFS_USB, inventory_usb, a);
	gw_sysfs_list(devices_emit_state(a)->sys_root, GW_SYSFS_HID, inventory_hid, a);
	gw_sysfs_list(devices_emit_state(a)->sys_root, GW_SYSFS_INPUT, inventory_input, a);
	devices_emit_monitors(a, "inventory", GW_DEVSRC_SYSFS, 0);
}

/* ---- lifecycle and counters ----------------------------------------------------------------- */

static int devices_start(struct gw_agent *a, void *state)
{
	static const unsigned subsys_bit[GW_DEVSIG_COUNT] = {
		GW_UEVENT_SUBSYS_USB, GW_UEVENT_SUBSYS_HID, GW_UEVENT_SUBSYS_INPUT };
	struct gw_devices *d = state;
	unsigned want = GW_UEVENT_SUBSYS_DRM;
	int err;

	device_table_init(&d->table, GW_DEVICE_TABLE_MAX);
	device_hooks_load(&d->hooks, &a->hooks, &a->opt.hooks, d->mode);
	for (int sig = 0; sig < GW_DEVSIG_COUNT; sig++)
		if (d->hooks.live[sig] == GW_DEVSRC_NONE)
			want |= subsys_bit[sig];
	err = uevents_subscribe(a, want, on_uevent, d);
	for (int sig = 0; sig < GW_DEVSIG_COUNT; sig++) {
		enum gw_device_source src = d->hooks.live[sig];

		if (src == GW_DEVSRC_NONE)
			src = err ? GW_DEVSRC_NONE : GW_DEVSRC_UEVENT;
		hooks_set_status(&a->hooks, device_signal_name(sig), device_hook_name(sig, src),
				 d->hooks.why[sig]);
	}
	if (err) {
		char why[128];

		snprintf(why, sizeof(why), "uevent listener: %s", strerror(-err));
		hooks_set_status(&a->hooks, "device_monitor", "none", why);
		fprintf(stderr, "ghostwatch: %s\n", why);
	} else {
		hooks_set_status(&a->hooks, "device_monitor", "uevent", NULL);
	}
	emit_inventory(a);
	return 0;
}

static void devices_destroy(struct gw_agent *a, void *state)
{
	struct gw_devices *d = state;

	(void)a;
	device_hooks_close(&d->hooks);
	device_table_free(&d->table);
	free(d);
}

static void devices_counters(const struct gw_agent *a, void *state, struct gw_stats_parts *p)
{
	const struct gw_devices *d = state;

	(void)a;
	agent_stats_add(&p->events, "device_inventory", d->inventory);
	agent_stats_add(&p->events, "device_attach", d->attached);
	agent_stats_add(&p->events, "device_detach", d->detached);
	agent_stats_add(&p->drops, "device_sysfs_gone", d->sysfs_gone);
	agent_stats_add(&p->drops, "device_table_full", d->table.not_remembered);
}

int devices_register(struct gw_agent *a, enum gw_device_mode mode, const char *sys_root)
{
	struct gw_devices *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -ENOMEM;
	d->mode = mode;
	d->sys_root = sys_root;
	err = agent_register(a, &(struct gw_domain){
					.name = "devices",
					.state = d,
					.record_types = { GW_EV_DEVICE_USB, GW_EV_DEVICE_HID,
							  GW_EV_DEVICE_INPUT },
					.events_in_summary = true,
					.start = devices_start,
					.handle_record = devices_handle_record,
					.counters = devices_counters,
					.destroy = devices_destroy,
				});
	if (err)
		free(d);
	return err;
}
