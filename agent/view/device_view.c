#include "device_view.h"

#include <string.h>

#include "common/text.h"

static void quoted(FILE *out, const char *s)
{
	fputc('"', out);
	gw_display_escape(out, s ? s : "");
	fputc('"', out);
}

static void hid_facts(FILE *out, const Ghostwatch__V1__HidFacts *f)
{
	if (!f || !f->n_capabilities)
		return;
	fputs(" hid=", out);
	for (size_t i = 0; i < f->n_capabilities; i++) {
		fprintf(out, "%s%s", i ? "," : "", f->capabilities[i]);
		if (!strcmp(f->capabilities[i], "abs_xy"))
			fprintf(out, "[%d..%d]", f->abs_x_min, f->abs_x_max);
	}
}

static void usb_line(FILE *out, const Ghostwatch__V1__UsbDevice *u)
{
	fprintf(out, " %s %s ", u->sysfs_name, u->vid_pid);
	quoted(out, u->manufacturer);
	fputc(' ', out);
	quoted(out, u->product);
	if (u->serial && *u->serial) {
		fputs(" serial=", out);
		gw_display_escape(out, u->serial);
	}
	if (u->speed && *u->speed)
		fprintf(out, " %sM", u->speed);
	if (u->n_interfaces) {
		fputs(" ifaces=", out);
		for (size_t i = 0; i < u->n_interfaces; i++)
			fprintf(out, "%s%s", i ? "," : "", u->interfaces[i]->class_name);
	}
	hid_facts(out, u->hid);
}

static void input_line(FILE *out, const Ghostwatch__V1__InputDevice *in)
{
	fprintf(out, " %s %04x:%04x bus=%s%s ", in->sysfs_name, in->vendor_id, in->product_id,
		in->bus, in->virtual_ ? " VIRTUAL" : "");
	quoted(out, in->name);
	if (in->n_capabilities) {
		fputs(" caps=", out);
		for (size_t i = 0; i < in->n_capabilities; i++)
			fprintf(out, "%s%s", i ? "," : "", in->capabilities[i]);
	}
	if (in->abs_x_max)
		fprintf(out, " abs=[%d..%d]", in->abs_x_min, in->abs_x_max);
}

void device_view_write(FILE *out, const Ghostwatch__V1__DeviceEvent *d)
{
	fprintf(out, " %s %s", d->action, d->kind);
	if (d->usb) {
		usb_line(out, d->usb);
	} else if (d->hid) {
		fprintf(out, " %s bus=%s %04x:%04x ", d->hid->sysfs_name, d->hid->bus,
			d->hid->vendor_id, d->hid->product_id);
		quoted(out, d->hid->name);
		hid_facts(out, d->hid->facts);
	} else if (d->input) {
		input_line(out, d->input);
	} else if (d->monitor) {
		fprintf(out, " %s %s:%04x ", d->monitor->connector, d->monitor->manufacturer,
			d->monitor->product_code);
		quoted(out, d->monitor->monitor_name);
		if (d->monitor->monitor_serial && *d->monitor->monitor_serial) {
			fputs(" serial=", out);
			gw_display_escape(out, d->monitor->monitor_serial);
		}
	}
	if (d->process)
		fprintf(out, " by=%s(%u)", d->process->comm ? d->process->comm : "?", d->process->pid);
	fprintf(out, " via=%s", d->source);
	if (d->model_fingerprint && strlen(d->model_fingerprint) >= 8)
		fprintf(out, " fp=%.8s", d->model_fingerprint);
}
