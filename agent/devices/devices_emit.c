/*
 * devices_emit.c - DeviceEvent messages of the devices domain: building and emitting them for
 * USB, HID, input devices and monitors, the device table that keeps an identity until detach, the
 * process behind a device node, and the device facts for the rules. See devices_emit.h.
 */
#include "devices_emit.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/process_lookup.h"
#include "common/text_sanitize.h"
#include "device_proto.h"
struct gw_devices *devices_emit_state(const struct gw_agent *a)
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
	struct gw_devices *d = devices_emit_state(a);

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
	struct device_entry *e = device_table_put(&devices_emit_state(a)->table, kind, name);

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
	struct device_entry *e = device_table_get(&devices_emit_state(a)->table, kind, name);

	if (!e)
		return;
	if (dev) {
		dev->model_fingerprint = gw_arena_text(&a->arena, e->model_fp, sizeof(e->model_fp));
		dev->instance_fingerprint = gw_arena_text(&a->arena, e->instance_fp,
							  sizeof(e->instance_fp));
	}
	device_table_remove(&devices_emit_state(a)->table, e);
}

/* ---- the process behind a device ------------------------------------------------------------ */

Ghostwatch__V1__Process *devices_emit_task_process(struct gw_agent *a, const struct gw_task_ids *t)
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
Ghostwatch__V1__Process *devices_emit_node_holder(struct gw_agent *a, const char *node)
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

void devices_emit_usb(struct gw_agent *a, const char *action, enum gw_device_source src,
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
void devices_emit_usb_from_record(struct gw_agent *a, const struct gw_usb_event *r,
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
	if (!enrich || gw_sysfs_read_usb(devices_emit_state(a)->sys_root, name, u)) {
		memset(u, 0, sizeof(*u));
		if (enrich)
			devices_emit_state(a)->sysfs_gone++;
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
void devices_emit_usb_identity(struct gw_agent *a, struct gw_usb_info *u)
{
	struct device_entry *e =
		device_table_get(&devices_emit_state(a)->table, GW_DEVKIND_USB, u->name);

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

void devices_emit_hid(struct gw_agent *a, const char *action, enum gw_device_source src,
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

void devices_emit_input(struct gw_agent *a, const char *action, enum gw_device_source src,
			const struct gw_input_info *in, uint64_t seqnum, int32_t result,
			Ghostwatch__V1__Process *creator)
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

/* The holder of the node behind a software input device: uhid's inputs hang under its misc
 * device. */
Ghostwatch__V1__Process *devices_emit_input_creator(struct gw_agent *a,
						    const struct gw_input_info *in)
{
	if (!in->is_virtual)
		return NULL;
	return devices_emit_node_holder(a, strstr(in->devpath, "/misc/uhid/") ? "uhid" : "uinput");
}

void devices_emit_input_identity(struct gw_agent *a, struct gw_input_info *in)
{
	struct device_entry *e =
		device_table_get(&devices_emit_state(a)->table, GW_DEVKIND_INPUT, in->name);

	if (!e)
		return;
	in->vendor_id = (uint16_t)e->vendor_id;
	in->product_id = (uint16_t)e->product_id;
	snprintf(in->dev_name, sizeof(in->dev_name), "%s", e->str[0]);
	snprintf(in->phys, sizeof(in->phys), "%s", e->str[1]);
	snprintf(in->uniq, sizeof(in->uniq), "%s", e->str[2]);
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
	struct gw_devices *d = devices_emit_state(a);
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
void devices_emit_monitors(struct gw_agent *a, const char *action, enum gw_device_source src,
			   uint64_t seqnum)
{
	struct gw_devices *d = devices_emit_state(a);
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
