#include "device_events.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/agent.h"
#include "device_proto.h"
#include "gw_events.h"
#include "core/process_lookup.h"
#include "common/text_sanitize.h"

static struct gw_devices *devs(const struct gw_agent *a)
{
	return agent_domain_state(a, "devices");
}

static const char *usb_speed_text(uint8_t speed)
{
	/* enum usb_device_speed, as sysfs prints it */
	static const char *const mbps[] = { "", "1.5", "12", "480", "480", "5000", "10000" };

	return speed < sizeof(mbps) / sizeof(mbps[0]) ? mbps[speed] : "";
}

static void emit_device(struct gw_agent *a, gw_event_t *ev, const char *action)
{
	struct gw_devices *d = devs(a);

	if (!strcmp(action, "inventory"))
		d->inventory++;
	else if (!strcmp(action, "attach"))
		d->attached++;
	else
		d->detached++;
	agent_emit(a, ev);
}

/* Remembers a device's identity for its detach. */
static void remember(struct gw_agent *a, enum gw_devkind kind, const char *name,
		     uint32_t vid, uint32_t pid, const char *s0, const char *s1, const char *s2,
		     const struct gw_fingerprints *fp)
{
	struct device_entry *e = device_table_put(&devs(a)->table, kind, name);

	if (!e)
		return;
	e->vendor_id = vid;
	e->product_id = pid;
	snprintf(e->str[0], sizeof(e->str[0]), "%s", s0);
	snprintf(e->str[1], sizeof(e->str[1]), "%s", s1);
	snprintf(e->str[2], sizeof(e->str[2]), "%s", s2);
	gw_fingerprint_hex(fp->model, e->model_fp);
	gw_fingerprint_hex(fp->instance, e->instance_fp);
}

/* The identity recorded at attach as fingerprints of a detach event; forgets the device. */
static void forget(struct gw_agent *a, Ghostwatch__V1__DeviceEvent *dev, enum gw_devkind kind,
		   const char *name)
{
	struct device_entry *e = device_table_get(&devs(a)->table, kind, name);

	if (!e)
		return;
	if (dev) {
		dev->model_fingerprint = gw_arena_text(&a->arena, e->model_fp, sizeof(e->model_fp));
		dev->instance_fingerprint = gw_arena_text(&a->arena, e->instance_fp,
							  sizeof(e->instance_fp));
	}
	device_table_remove(&devs(a)->table, e);
}

/* ---- the process behind a device ------------------------------------------------------------ */

static Ghostwatch__V1__Process *task_process(struct gw_agent *a, const struct gw_task_ids *t)
{
	struct proc_entry *e = process_lookup(a, t->pid);
	Ghostwatch__V1__Process *p;

	if (e)
		return process_proto(a, e);
	/* gone already (a short-lived uinput tool): what the record itself says */
	p = ARENA_NEW(a, Ghostwatch__V1__Process, ghostwatch__v1__process__init);
	if (!p)
		return NULL;
	p->process_id = gw_process_id(&a->boot, t->pid, t->start_boottime_ns);
	p->parent_process_id = gw_process_id(&a->boot, t->ppid, t->parent_start_boottime_ns);
	p->pid = t->pid;
	p->ppid = t->ppid;
	p->tid = t->tid;
	p->uid = t->uid;
	p->gid = t->gid;
	p->auid = t->auid;
	p->session_id = t->session_id;
	p->comm = gw_arena_text(&a->arena, t->comm, sizeof(t->comm));
	p->source = "device_hook";
	return p;
}

/* Does process `pid` (a /proc entry name) hold dev_path or alt_path open? */
static bool holds_node(const char *proc_root, const char *pid, const char *dev_path,
		       const char *alt_path)
{
	char path[300], fdpath[600], link[64];
	struct dirent *fd;
	bool found = false;
	DIR *fds;

	snprintf(path, sizeof(path), "%s/%s/fd", proc_root, pid);
	fds = opendir(path);
	if (!fds)
		return false;
	while (!found && (fd = readdir(fds))) {
		ssize_t n;

		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, fd->d_name);
		n = readlink(fdpath, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			found = !strcmp(link, dev_path) || !strcmp(link, alt_path);
		}
	}
	closedir(fds);
	return found;
}

/* The uevent path does not say who created a uinput device, and uhid adds its devices from a
 * kernel worker: a process holding the device node open is the best available answer (the
 * creator keeps it open for the device's lifetime). With several holders (a desktop's input
 * daemon and the new tool), the most recently started one is the likeliest creator.
 * node is "uinput" or "uhid". */
static Ghostwatch__V1__Process *node_holder(struct gw_agent *a, const char *node)
{
	char dev_path[32], alt_path[32];
	DIR *proc = opendir(a->opt.proc_root);
	uint32_t best_pid = 0;
	uint64_t best_start = 0;
	Ghostwatch__V1__Process *p;
	struct proc_entry *e;
	struct dirent *de;

	if (!proc)
		return NULL;
	snprintf(dev_path, sizeof(dev_path), "/dev/%s", node);
	snprintf(alt_path, sizeof(alt_path), "/dev/input/%s", node);
	while ((de = readdir(proc))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);

		if (*end || !pid || !holds_node(a->opt.proc_root, de->d_name, dev_path, alt_path))
			continue;
		e = process_lookup(a, (uint32_t)pid);
		if (e && (!best_pid || e->start_ns > best_start)) {
			best_pid = e->pid;
			best_start = e->start_ns;
		}
	}
	closedir(proc);
	/* looked up again: loading other holders may have evicted an earlier entry */
	e = best_pid ? process_lookup(a, best_pid) : NULL;
	if (!e || !(p = process_proto(a, e)))
		return NULL;
	p->source = !strcmp(node, "uhid") ? "uhid_holder" : "uinput_holder";
	return p;
}

/* ---- detections ----------------------------------------------------------------------------- */

/* Hands an emitted USB device (attach or inventory) to the rules: identity and interface mix. */
static void detect_usb(struct gw_agent *a, const struct gw_usb_info *u, const gw_event_t *ev)
{
	struct gw_device_input in = {
		.kind = GW_DEVICE_USB, .has_ids = true, .vid = u->vendor_id, .pid = u->product_id,
		.manufacturer = u->manufacturer, .product = u->product, .serial = u->serial,
		.n_interfaces = u->n_interfaces,
		.has_absolute_pointer = u->hid_caps & GW_HID_ABS_XY,
		.absolute_max = u->hid_caps & GW_HID_ABS_XY ? (uint32_t)u->abs_x.max : 0,
	};
	char subject[GW_DEV_NAME_MAX + 2 * GW_DEV_STR_MAX + 32];

	for (unsigned i = 0; i < u->n_interfaces; i++) {
		const struct gw_usb_interface *itf = &u->interfaces[i];

		switch (itf->iface_class) {
		case 0x01: in.interfaces |= GW_DEV_IF_AUDIO; break;
		case 0x02: case 0x0a: case 0xe0: in.interfaces |= GW_DEV_IF_NET; break;
		case 0x08: in.interfaces |= GW_DEV_IF_MASS_STORAGE; break;
		case 0x0e: in.interfaces |= GW_DEV_IF_VIDEO; break;
		case 0xef:
			/* RNDIS in a misc-class interface */
			if (itf->iface_subclass == 0x04)
				in.interfaces |= GW_DEV_IF_NET;
			break;
		case 0x03:
			if (itf->iface_subclass == 1 && itf->iface_protocol == 1) {
				in.has_boot_keyboard = true;
				in.interfaces |= GW_DEV_IF_HID_KEYBOARD;
			} else if (itf->iface_protocol == 2) {
				in.interfaces |= GW_DEV_IF_HID_MOUSE;
			}
			break;
		default:
			break;
		}
	}
	/* HID interfaces without the boot protocol still say what they are in their descriptors */
	if (u->hid_caps & GW_HID_KEYBOARD)
		in.interfaces |= GW_DEV_IF_HID_KEYBOARD;
	if (u->hid_caps & GW_HID_MOUSE)
		in.interfaces |= GW_DEV_IF_HID_MOUSE;
	snprintf(subject, sizeof(subject), "usb %s %04x:%04x %s %s", u->name, u->vendor_id,
		 u->product_id, u->manufacturer, u->product);
	agent_publish(a, &(struct gw_fact){ .kind = GW_FACT_DEVICE, .device = &in,
					   .subject = subject, .event_id = ev->event_id,
					   .time_ns = ev->time_ns });
}

static void detect_monitor(struct gw_agent *a, const struct gw_monitor_info *m,
			   const gw_event_t *ev)
{
	struct gw_device_input in = {
		.kind = GW_DEVICE_MONITOR, .edid_monitor_name = m->edid.monitor_name,
		.edid_mfg = m->edid.manufacturer, .edid_product_code = m->edid.product_code,
	};
	char subject[GW_DEV_NAME_MAX + GW_EDID_TEXT_MAX + 16];

	snprintf(subject, sizeof(subject), "monitor %s %s %s", m->name, m->edid.manufacturer,
		 m->edid.monitor_name);
	agent_publish(a, &(struct gw_fact){ .kind = GW_FACT_DEVICE, .device = &in,
					   .subject = subject, .event_id = ev->event_id,
					   .time_ns = ev->time_ns });
}

/* ---- USB ------------------------------------------------------------------------------------ */

static void emit_usb(struct gw_agent *a, const char *action, enum gw_device_source src,
		     const struct gw_usb_info *u, uint64_t seqnum, int32_t result)
{
	struct gw_fingerprints fp;
	Ghostwatch__V1__DeviceEvent *dev;
	bool detach = !strcmp(action, "detach");
	gw_event_t *ev;

	if (gw_fingerprint_usb(u, &fp))
		memset(&fp, 0, sizeof(fp));
	dev = new_device_event(a, &ev, action, src, GW_DEVKIND_USB, detach ? NULL : &fp);
	if (!dev)
		return;
	dev->usb = usb_proto(a, u);
	dev->uevent_seqnum = seqnum;
	dev->kernel_result = result;
	if (detach)
		forget(a, dev, GW_DEVKIND_USB, u->name);
	else if (result == 0)
		remember(a, GW_DEVKIND_USB, u->name, u->vendor_id, u->product_id, u->manufacturer,
			 u->product, u->serial, &fp);
	emit_device(a, ev, action);
	if (!detach && result == 0)
		detect_usb(a, u, ev);
}

/* A USB device from a BPF record: sysfs for what the record lacks, the record when it is gone. */
static void usb_from_record(struct gw_agent *a, const struct gw_usb_event *r,
			    struct gw_usb_info *u, bool enrich)
{
	char name[GW_DEV_NAME_MAX], devpath[sizeof(r->devpath) + 1];

	memcpy(devpath, r->devpath, sizeof(r->devpath));
	devpath[sizeof(r->devpath)] = '\0';
	/* root hubs are "usb<bus>", others "<bus>-<port path>" */
	if (r->level == 0)
		snprintf(name, sizeof(name), "usb%u", r->busnum);
	else
		snprintf(name, sizeof(name), "%u-%.16s", r->busnum, devpath);
	if (!enrich || gw_sysfs_read_usb(devs(a)->sys_root, name, u)) {
		memset(u, 0, sizeof(*u));
		if (enrich)
			devs(a)->sysfs_gone++;
		snprintf(u->name, sizeof(u->name), "%s", name);
		snprintf(u->port_path, sizeof(u->port_path), "%.16s", devpath);
		snprintf(u->speed, sizeof(u->speed), "%s", usb_speed_text(r->speed));
		snprintf(u->usb_version, sizeof(u->usb_version), "%x.%02x", r->bcd_usb >> 8,
			 r->bcd_usb & 0xff);
		u->string_flags |= gw_text_sanitize(u->manufacturer, sizeof(u->manufacturer),
						    r->manufacturer, sizeof(r->manufacturer));
		u->string_flags |= gw_text_sanitize(u->product, sizeof(u->product), r->product,
						    sizeof(r->product));
		u->string_flags |= gw_text_sanitize(u->serial, sizeof(u->serial), r->serial,
						    sizeof(r->serial));
		u->authorized = true; /* unknown once gone; a blocked device reads 0 while present */
		/* GW_TEXT_* and GW_DEV_STR_* share their bit values */
	}
	u->vendor_id = r->vendor_id;
	u->product_id = r->product_id;
	u->bcd_device = r->bcd_device;
	u->dev_class = r->dev_class;
	u->dev_subclass = r->dev_subclass;
	u->dev_protocol = r->dev_protocol;
	u->busnum = r->busnum;
	u->devnum = r->devnum;
}

/* A detach reports the identity it had at attach when the table knows it. */
static void usb_identity_from_table(struct gw_agent *a, struct gw_usb_info *u)
{
	struct device_entry *e = device_table_get(&devs(a)->table, GW_DEVKIND_USB, u->name);

	if (!e)
		return;
	if (!u->vendor_id && !u->product_id) {
		u->vendor_id = (uint16_t)e->vendor_id;
		u->product_id = (uint16_t)e->product_id;
	}
	if (!u->manufacturer[0])
		snprintf(u->manufacturer, sizeof(u->manufacturer), "%s", e->str[0]);
	if (!u->product[0])
		snprintf(u->product, sizeof(u->product), "%s", e->str[1]);
	if (!u->serial[0])
		snprintf(u->serial, sizeof(u->serial), "%s", e->str[2]);
}

/* ---- HID ------------------------------------------------------------------------------------ */

static void emit_hid(struct gw_agent *a, const char *action, enum gw_device_source src,
		     const struct gw_hid_info *h, uint64_t seqnum, int32_t result,
		     Ghostwatch__V1__Process *creator)
{
	struct gw_fingerprints fp;
	Ghostwatch__V1__DeviceEvent *dev;
	bool detach = !strcmp(action, "detach");
	gw_event_t *ev;

	if (gw_fingerprint_hid(h, &fp))
		memset(&fp, 0, sizeof(fp));
	dev = new_device_event(a, &ev, action, src, GW_DEVKIND_HID, detach ? NULL : &fp);
	if (!dev)
		return;
	dev->hid = hid_proto(a, h);
	dev->uevent_seqnum = seqnum;
	dev->kernel_result = result;
	dev->process = creator;
	if (detach)
		forget(a, dev, GW_DEVKIND_HID, h->name);
	else if (result == 0)
		remember(a, GW_DEVKIND_HID, h->name, h->vendor_id, h->product_id, h->hid_name,
			 h->phys, h->uniq, &fp);
	emit_device(a, ev, action);
}

/* ---- input ---------------------------------------------------------------------------------- */

static void emit_input(struct gw_agent *a, const char *action, enum gw_device_source src,
		       const struct gw_input_info *in, uint64_t seqnum,
		       int32_t result, Ghostwatch__V1__Process *creator)
{
	struct gw_fingerprints fp;
	Ghostwatch__V1__DeviceEvent *dev;
	bool detach = !strcmp(action, "detach");
	gw_event_t *ev;

	if (gw_fingerprint_input(in, &fp))
		memset(&fp, 0, sizeof(fp));
	dev = new_device_event(a, &ev, action, src, GW_DEVKIND_INPUT, detach ? NULL : &fp);
	if (!dev)
		return;
	dev->input = input_proto(a, in);
	dev->uevent_seqnum = seqnum;
	dev->kernel_result = result;
	dev->process = creator;
	if (detach)
		forget(a, dev, GW_DEVKIND_INPUT, in->name);
	else if (result == 0)
		remember(a, GW_DEVKIND_INPUT, in->name, in->vendor_id, in->product_id, in->dev_name,
			 in->phys, in->uniq, &fp);
	emit_device(a, ev, action);
}

/* The holder of the node behind a software input device: uhid's inputs hang under its misc device. */
static Ghostwatch__V1__Process *input_creator(struct gw_agent *a, const struct gw_input_info *in)
{
	if (!in->is_virtual)
		return NULL;
	return node_holder(a, strstr(in->devpath, "/misc/uhid/") ? "uhid" : "uinput");
}

static void input_identity_from_table(struct gw_agent *a, struct gw_input_info *in)
{
	struct device_entry *e = device_table_get(&devs(a)->table, GW_DEVKIND_INPUT, in->name);

	if (!e)
		return;
	in->vendor_id = (uint16_t)e->vendor_id;
	in->product_id = (uint16_t)e->product_id;
	snprintf(in->dev_name, sizeof(in->dev_name), "%s", e->str[0]);
	snprintf(in->phys, sizeof(in->phys), "%s", e->str[1]);
	snprintf(in->uniq, sizeof(in->uniq), "%s", e->str[2]);
}

/* ---- BPF records ---------------------------------------------------------------------------- */

static enum gw_device_source record_source(const struct gw_device_common *c)
{
	return c->hook == GW_DEV_HOOK_KPROBE ? GW_DEVSRC_KPROBE : GW_DEVSRC_FENTRY;
}

static int handle_usb_record(struct gw_agent *a, const struct gw_usb_event *r)
{
	struct gw_usb_info *u = &devs(a)->usb;
	bool attach = r->dev.action == GW_DEV_ATTACH;

	usb_from_record(a, r, u, attach);
	if (!attach)
		usb_identity_from_table(a, u);
	emit_usb(a, attach ? "attach" : "detach", record_source(&r->dev), u, 0, r->dev.ret);
	return 0;
}

static void hid_from_record(struct gw_agent *a, const struct gw_hid_event *r, struct gw_hid_info *h,
			    bool enrich)
{
	char name[GW_DEV_NAME_MAX];

	gw_text_sanitize(name, sizeof(name), r->sysfs_name, sizeof(r->sysfs_name));
	if (!enrich || gw_sysfs_read_hid(devs(a)->sys_root, name, h)) {
		if (enrich)
			devs(a)->sysfs_gone++;
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
	struct gw_hid_info *h = &devs(a)->hid;
	bool attach = r->dev.action == GW_DEV_ATTACH;

	hid_from_record(a, r, h, attach);
	/* a uhid device is added by a kernel worker: its creator is whoever holds /dev/uhid */
	emit_hid(a, attach ? "attach" : "detach", record_source(&r->dev), h, 0, r->dev.ret,
		 attach && h->is_virtual ? node_holder(a, "uhid") : NULL);
	return 0;
}

static int handle_input_record(struct gw_agent *a, const struct gw_input_event *r)
{
	struct gw_input_info *in = &devs(a)->input, sys;
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
	if (attach && !gw_sysfs_read_input(devs(a)->sys_root, in->name, &sys)) {
		memcpy(in->devpath, sys.devpath, sizeof(in->devpath));
		memcpy(in->usb_parent, sys.usb_parent, sizeof(in->usb_parent));
		/* a parent under /devices/virtual: a uhid device's input node */
		uhid = sys.is_virtual && !in->is_virtual;
		in->is_virtual |= sys.is_virtual;
	}
	/* uinput registers in its creator's ioctl, so the task is the creator; uhid does it from a
	 * kernel worker, so ask who holds /dev/uhid */
	emit_input(a, attach ? "attach" : "detach", record_source(&r->dev), in,
		   0, r->dev.ret,
		   uhid ? node_holder(a, "uhid") :
		   !r->has_parent ? task_process(a, &r->dev.task) : NULL);
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

/* ---- monitors ------------------------------------------------------------------------------- */

struct monitor_scan {
	struct gw_agent *a;
	const char *action;	/* "inventory" or "attach" */
	enum gw_device_source src;
	uint64_t seqnum;
};

static void scan_connector(const char *name, void *ctx)
{
	struct monitor_scan *s = ctx;
	struct gw_agent *a = s->a;
	struct gw_devices *d = devs(a);
	struct gw_monitor_info *m = &d->monitor;
	struct gw_fingerprints fp;
	struct device_entry *e;
	Ghostwatch__V1__DeviceEvent *dev;
	char hex[GW_FP_HEX_LEN];
	gw_event_t *ev;

	if (gw_sysfs_read_monitor(d->sys_root, name, m) || !m->has_edid)
		return;
	if (gw_fingerprint_monitor(&m->edid, &fp))
		return;
	gw_fingerprint_hex(fp.instance, hex);
	e = device_table_get(&d->table, GW_DEVKIND_MONITOR, name);
	if (e && !strcmp(e->instance_fp, hex)) {
		e->generation = d->monitor_generation;
		return; /* unchanged */
	}
	gw_arena_reset(&a->arena);
	dev = new_device_event(a, &ev, s->action, s->src, GW_DEVKIND_MONITOR, &fp);
	if (!dev)
		return;
	dev->monitor = monitor_proto(a, m);
	dev->uevent_seqnum = s->seqnum;
	remember(a, GW_DEVKIND_MONITOR, name, m->edid.product_code, 0, m->edid.manufacturer,
		 m->edid.monitor_name, m->edid.monitor_serial, &fp);
	e = device_table_get(&d->table, GW_DEVKIND_MONITOR, name);
	if (e)
		e->generation = d->monitor_generation;
	emit_device(a, ev, s->action);
	detect_monitor(a, m, ev);
}

/* Connectors have no hot-plug uevent of their own: the card says "change" and we look again. */
static void rescan_monitors(struct gw_agent *a, const char *action, enum gw_device_source src,
			    uint64_t seqnum)
{
	struct gw_devices *d = devs(a);
	struct monitor_scan s = { a, action, src, seqnum };
	struct device_entry *e, *tmp;

	d->monitor_generation++;
	gw_sysfs_list(d->sys_root, GW_SYSFS_DRM, scan_connector, &s);
	HASH_ITER(hh, d->table.by_key, e, tmp) {
		Ghostwatch__V1__DeviceEvent *dev;
		gw_event_t *ev;

		if (e->kind != GW_DEVKIND_MONITOR || e->generation == d->monitor_generation)
			continue;
		gw_arena_reset(&a->arena);
		dev = new_device_event(a, &ev, "detach", src, GW_DEVKIND_MONITOR, NULL);
		if (dev) {
			struct gw_monitor_info *m = &d->monitor;

			memset(m, 0, sizeof(*m));
			snprintf(m->name, sizeof(m->name), "%s", e->name);
			snprintf(m->edid.manufacturer, sizeof(m->edid.manufacturer), "%.3s", e->str[0]);
			/* these came from EDID text fields, so they fit */
			snprintf(m->edid.monitor_name, sizeof(m->edid.monitor_name), "%.*s",
				 (int)sizeof(m->edid.monitor_name) - 1, e->str[1]);
			snprintf(m->edid.monitor_serial, sizeof(m->edid.monitor_serial), "%.*s",
				 (int)sizeof(m->edid.monitor_serial) - 1, e->str[2]);
			m->edid.product_code = (uint16_t)e->vendor_id;
			dev->monitor = monitor_proto(a, m);
			dev->uevent_seqnum = seqnum;
			forget(a, dev, GW_DEVKIND_MONITOR, e->name);
			emit_device(a, ev, "detach");
		} else {
			device_table_remove(&d->table, e);
		}
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
	struct gw_usb_info *u = &devs(a)->usb;

	/* interfaces are folded into their device; root hubs are part of the controller */
	if (!ev->devtype || strcmp(ev->devtype, "usb_device"))
		return;
	if (ev->action == GW_UEVENT_BIND) {
		/* "bind" of the device comes after its configuration is set and its interfaces (and
		 * their HID children) exist; at "add" they do not yet */
		if (gw_sysfs_read_usb(devs(a)->sys_root, name, u)) {
			devs(a)->sysfs_gone++;
			usb_identity_from_uevent(ev, u);
		}
		emit_usb(a, "attach", GW_DEVSRC_UEVENT, u, ev->seqnum, 0);
	} else if (ev->action == GW_UEVENT_ADD) {
		/* a device blocked by policy (authorized=0) is never configured, so no bind follows:
		 * report it at add, it is exactly what someone tried to plug in */
		if (!gw_sysfs_read_usb(devs(a)->sys_root, name, u) && !u->authorized)
			emit_usb(a, "attach", GW_DEVSRC_UEVENT, u, ev->seqnum, 0);
	} else if (ev->action == GW_UEVENT_REMOVE) {
		memset(u, 0, sizeof(*u));
		snprintf(u->name, sizeof(u->name), "%s", name);
		usb_identity_from_uevent(ev, u);
		usb_identity_from_table(a, u);
		emit_usb(a, "detach", GW_DEVSRC_UEVENT, u, ev->seqnum, 0);
	}
}

static void handle_hid_uevent(struct gw_agent *a, const struct gw_uevent *ev, const char *name)
{
	struct gw_hid_info *h = &devs(a)->hid;

	if (ev->action == GW_UEVENT_BIND) {
		/* the report descriptor is only readable once a driver has parsed it */
		if (gw_sysfs_read_hid(devs(a)->sys_root, name, h))
			devs(a)->sysfs_gone++;
		emit_hid(a, "attach", GW_DEVSRC_UEVENT, h, ev->seqnum, 0,
			 h->is_virtual ? node_holder(a, "uhid") : NULL);
	} else if (ev->action == GW_UEVENT_REMOVE) {
		struct device_entry *e = device_table_get(&devs(a)->table, GW_DEVKIND_HID, name);
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
		emit_hid(a, "detach", GW_DEVSRC_UEVENT, h, ev->seqnum, 0, NULL);
	}
}

static void handle_input_uevent(struct gw_agent *a, const struct gw_uevent *ev, const char *name)
{
	struct gw_input_info *in = &devs(a)->input;

	/* inputN is the device; eventN, mouseN, jsN are its handlers' nodes */
	if (strncmp(name, "input", 5))
		return;
	if (ev->action == GW_UEVENT_ADD) {
		if (gw_sysfs_read_input(devs(a)->sys_root, name, in))
			devs(a)->sysfs_gone++;
		emit_input(a, "attach", GW_DEVSRC_UEVENT, in, ev->seqnum, 0, input_creator(a, in));
	} else if (ev->action == GW_UEVENT_REMOVE) {
		memset(in, 0, sizeof(*in));
		snprintf(in->name, sizeof(in->name), "%s", name);
		in->is_virtual = strncmp(ev->devpath, "/devices/virtual/", 17) == 0;
		input_identity_from_table(a, in);
		emit_input(a, "detach", GW_DEVSRC_UEVENT, in, ev->seqnum, 0, NULL);
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
		rescan_monitors(a, "attach", GW_DEVSRC_UEVENT, ev->seqnum);
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

	if (gw_sysfs_read_usb(devs(a)->sys_root, name, &devs(a)->usb))
		return;
	gw_arena_reset(&a->arena);
	emit_usb(a, "inventory", GW_DEVSRC_SYSFS, &devs(a)->usb, 0, 0);
}

static void inventory_hid(const char *name, void *ctx)
{
	struct gw_agent *a = ctx;

	if (gw_sysfs_read_hid(devs(a)->sys_root, name, &devs(a)->hid))
		return;
	gw_arena_reset(&a->arena);
	emit_hid(a, "inventory", GW_DEVSRC_SYSFS, &devs(a)->hid, 0, 0,
		 devs(a)->hid.is_virtual ? node_holder(a, "uhid") : NULL);
}

static void inventory_input(const char *name, void *ctx)
{
	struct gw_agent *a = ctx;
	struct gw_input_info *in = &devs(a)->input;

	if (gw_sysfs_read_input(devs(a)->sys_root, name, in))
		return;
	gw_arena_reset(&a->arena);
	emit_input(a, "inventory", GW_DEVSRC_SYSFS, in, 0, 0, input_creator(a, in));
}

static void emit_inventory(struct gw_agent *a)
{
	gw_sysfs_list(devs(a)->sys_root, GW_SYSFS_USB, inventory_usb, a);
	gw_sysfs_list(devs(a)->sys_root, GW_SYSFS_HID, inventory_hid, a);
	gw_sysfs_list(devs(a)->sys_root, GW_SYSFS_INPUT, inventory_input, a);
	rescan_monitors(a, "inventory", GW_DEVSRC_SYSFS, 0);
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
	gw_counter_add(&p->events, "device_inventory", d->inventory);
	gw_counter_add(&p->events, "device_attach", d->attached);
	gw_counter_add(&p->events, "device_detach", d->detached);
	gw_counter_add(&p->drops, "device_sysfs_gone", d->sysfs_gone);
	gw_counter_add(&p->drops, "device_table_full", d->table.not_remembered);
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
