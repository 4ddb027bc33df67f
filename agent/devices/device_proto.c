#include "device_proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/agent.h"

/* ---- naming --------------------------------------------------------------------------------- */

const char *usb_interface_class_name(uint8_t cls, uint8_t subclass, uint8_t protocol, char *buf,
				     size_t size)
{
	switch (cls) {
	case 0x01: return "audio";
	case 0x02:
		return subclass == 0x06 ? "cdc_ethernet" : subclass == 0x0d ? "cdc_ncm" :
		       subclass == 0x0c ? "cdc_eem" : subclass == 0x02 ? "cdc_acm" : "cdc";
	case 0x03:
		if (subclass == 1 && protocol == 1)
			return "hid_boot_keyboard";
		if (subclass == 1 && protocol == 2)
			return "hid_boot_mouse";
		return "hid";
	case 0x06: return "image";
	case 0x07: return "printer";
	case 0x08: return "mass_storage";
	case 0x09: return "hub";
	case 0x0a: return "cdc_data";
	case 0x0b: return "smart_card";
	case 0x0e: return "video";
	case 0xe0: return subclass == 0x01 && protocol == 0x03 ? "rndis" : "wireless";
	case 0xef: return subclass == 0x04 && protocol == 0x01 ? "rndis" : "misc";
	case 0xff: return "vendor";
	default:
		snprintf(buf, size, "class_0x%02x", cls);
		return buf;
	}
}

static char *arena_printf(struct gw_agent *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static char *arena_printf(struct gw_agent *a, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	return gw_arena_text(&a->arena, tmp, sizeof(tmp));
}

Ghostwatch__V1__HidFacts *hid_facts_proto(struct gw_agent *a, uint32_t caps,
						 struct gw_hid_range x, struct gw_hid_range y,
						 uint32_t report_ids, size_t size, bool malformed)
{
	Ghostwatch__V1__HidFacts *f = ARENA_NEW(a, Ghostwatch__V1__HidFacts,
						ghostwatch__v1__hid_facts__init);
	static const char *const names[] = { "keyboard", "mouse", "rel_xy", "abs_xy", "buttons",
					     "wheel", "digitizer", "touch", "consumer", "system",
					     "vendor", "joystick", "leds" };
	size_t n = sizeof(names) / sizeof(names[0]);

	if (!f)
		return NULL;
	f->capabilities = gw_arena_alloc(&a->arena, n * sizeof(char *));
	for (size_t i = 0; f->capabilities && i < n; i++)
		if (caps & (1u << i))
			f->capabilities[f->n_capabilities++] = (char *)names[i];
	if (caps & GW_HID_ABS_XY) {
		f->abs_x_min = x.min;
		f->abs_x_max = x.max;
		f->abs_y_min = y.min;
		f->abs_y_max = y.max;
	}
	f->report_ids = report_ids;
	f->descriptor_size = (uint32_t)size;
	f->descriptor_malformed = malformed;
	return f;
}

Ghostwatch__V1__UsbDevice *usb_proto(struct gw_agent *a, const struct gw_usb_info *u)
{
	Ghostwatch__V1__UsbDevice *m = ARENA_NEW(a, Ghostwatch__V1__UsbDevice,
						 ghostwatch__v1__usb_device__init);

	if (!m)
		return NULL;
	m->sysfs_name = (char *)u->name;
	m->vendor_id = u->vendor_id;
	m->product_id = u->product_id;
	m->vid_pid = arena_printf(a, "%04x:%04x", u->vendor_id, u->product_id);
	m->bcd_device = u->bcd_device;
	m->device_class = u->dev_class;
	m->device_subclass = u->dev_subclass;
	m->device_protocol = u->dev_protocol;
	m->usb_version = (char *)u->usb_version;
	m->manufacturer = (char *)u->manufacturer;
	m->product = (char *)u->product;
	m->serial = (char *)u->serial;
	m->strings_escaped = u->string_flags & GW_DEV_STR_ESCAPED;
	m->strings_truncated = u->string_flags & GW_DEV_STR_TRUNCATED;
	m->busnum = u->busnum;
	m->devnum = u->devnum;
	m->port_path = (char *)u->port_path;
	m->speed = (char *)u->speed;
	m->removable = (char *)u->removable;
	m->authorized = u->authorized;
	if (u->n_interfaces)
		m->interfaces = gw_arena_alloc(&a->arena, u->n_interfaces * sizeof(*m->interfaces));
	for (unsigned i = 0; m->interfaces && i < u->n_interfaces; i++) {
		const struct gw_usb_interface *itf = &u->interfaces[i];
		Ghostwatch__V1__UsbInterface *mi = ARENA_NEW(a, Ghostwatch__V1__UsbInterface,
							     ghostwatch__v1__usb_interface__init);
		char buf[16];

		if (!mi)
			break;
		mi->number = itf->number;
		mi->interface_class = itf->iface_class;
		mi->interface_subclass = itf->iface_subclass;
		mi->interface_protocol = itf->iface_protocol;
		mi->class_name = gw_arena_text(&a->arena,
					       usb_interface_class_name(itf->iface_class,
									itf->iface_subclass,
									itf->iface_protocol, buf,
									sizeof(buf)), 32);
		mi->driver = (char *)itf->driver;
		m->interfaces[m->n_interfaces++] = mi;
	}
	if (u->n_hid)
		m->hid = hid_facts_proto(a, u->hid_caps, u->abs_x, u->abs_y, 0, 0, false);
	return m;
}

Ghostwatch__V1__HidDevice *hid_proto(struct gw_agent *a, const struct gw_hid_info *h)
{
	Ghostwatch__V1__HidDevice *m = ARENA_NEW(a, Ghostwatch__V1__HidDevice,
						 ghostwatch__v1__hid_device__init);
	char buf[16];

	if (!m)
		return NULL;
	m->sysfs_name = (char *)h->name;
	m->bus = gw_arena_text(&a->arena, gw_bus_type_name(h->bus, buf, sizeof(buf)), 16);
	m->vendor_id = h->vendor_id;
	m->product_id = h->product_id;
	m->name = (char *)h->hid_name;
	m->phys = (char *)h->phys;
	m->uniq = (char *)h->uniq;
	m->usb_parent = (char *)h->usb_parent;
	m->virtual_ = h->is_virtual;
	m->facts = hid_facts_proto(a, h->facts.caps, h->facts.abs_x, h->facts.abs_y,
				   h->facts.n_report_ids, h->descriptor_len, h->facts.errors != 0);
	return m;
}

Ghostwatch__V1__InputDevice *input_proto(struct gw_agent *a, const struct gw_input_info *in)
{
	static const char *const class_names[] = { "keyboard", "rel_pointer", "abs_pointer",
						   "touchscreen", "touchpad" };
	static const struct { unsigned bit; const char *name; } ev_names[] = {
		{ 1, "EV_KEY" }, { 2, "EV_REL" }, { 3, "EV_ABS" }, { 4, "EV_MSC" }, { 5, "EV_SW" },
		{ 0x11, "EV_LED" }, { 0x12, "EV_SND" }, { 0x14, "EV_REP" }, { 0x15, "EV_FF" },
	};
	Ghostwatch__V1__InputDevice *m = ARENA_NEW(a, Ghostwatch__V1__InputDevice,
						   ghostwatch__v1__input_device__init);
	char buf[16];

	if (!m)
		return NULL;
	m->sysfs_name = (char *)in->name;
	m->name = (char *)in->dev_name;
	m->phys = (char *)in->phys;
	m->uniq = (char *)in->uniq;
	m->bus = gw_arena_text(&a->arena, gw_bus_type_name(in->bustype, buf, sizeof(buf)), 16);
	m->bus_type = in->bustype;
	m->vendor_id = in->vendor_id;
	m->product_id = in->product_id;
	m->version = in->version;
	m->virtual_ = in->is_virtual;
	m->usb_parent = (char *)in->usb_parent;
	m->capabilities = gw_arena_alloc(&a->arena, 5 * sizeof(char *));
	for (unsigned i = 0; m->capabilities && i < 5; i++)
		if (in->classes & (1u << i))
			m->capabilities[m->n_capabilities++] = (char *)class_names[i];
	m->event_types = gw_arena_alloc(&a->arena, 9 * sizeof(char *));
	for (unsigned i = 0; m->event_types && i < 9; i++)
		if (in->ev_bits >> ev_names[i].bit & 1)
			m->event_types[m->n_event_types++] = (char *)ev_names[i].name;
	if (in->has_abs_range) {
		m->abs_x_min = in->abs_x.min;
		m->abs_x_max = in->abs_x.max;
		m->abs_y_min = in->abs_y.min;
		m->abs_y_max = in->abs_y.max;
	}
	return m;
}

Ghostwatch__V1__Monitor *monitor_proto(struct gw_agent *a, const struct gw_monitor_info *mi)
{
	Ghostwatch__V1__Monitor *m = ARENA_NEW(a, Ghostwatch__V1__Monitor,
					       ghostwatch__v1__monitor__init);

	if (!m)
		return NULL;
	m->connector = (char *)mi->name;
	m->status = (char *)mi->status;
	m->manufacturer = (char *)mi->edid.manufacturer;
	m->product_code = mi->edid.product_code;
	m->serial_number = mi->edid.serial_number;
	m->monitor_name = (char *)mi->edid.monitor_name;
	m->monitor_serial = (char *)mi->edid.monitor_serial;
	m->week = mi->edid.week;
	m->year = mi->edid.year;
	m->checksum_ok = mi->edid.checksum_ok;
	return m;
}

/* A fresh Event holding a DeviceEvent; the arena must have been reset by the caller. */
Ghostwatch__V1__DeviceEvent *new_device_event(struct gw_agent *a, gw_event_t **evp,
						     const char *action, enum gw_device_source src,
						     enum gw_devkind kind,
						     const struct gw_fingerprints *fp)
{
	gw_event_t *ev = ARENA_NEW(a, gw_event_t, ghostwatch__v1__event__init);
	Ghostwatch__V1__DeviceEvent *d = ARENA_NEW(a, Ghostwatch__V1__DeviceEvent,
						   ghostwatch__v1__device_event__init);

	if (!ev || !d)
		return NULL;
	ev->kind_case = GHOSTWATCH__V1__EVENT__KIND_DEVICE;
	ev->device = d;
	d->action = (char *)action;
	d->source = (char *)device_source_name(src);
	d->kind = (char *)device_kind_name(kind);
	if (fp) {
		char hex[GW_FP_HEX_LEN];

		gw_fingerprint_hex(fp->model, hex);
		d->model_fingerprint = gw_arena_text(&a->arena, hex, sizeof(hex));
		gw_fingerprint_hex(fp->instance, hex);
		d->instance_fingerprint = gw_arena_text(&a->arena, hex, sizeof(hex));
	}
	*evp = ev;
	return d;
}

