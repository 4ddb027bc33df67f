/*
 * devices_emit.h - DeviceEvent messages of the devices domain (devices.h): each is built in the
 * arena with identity, interface classes, HID facts, capabilities, EDID and fingerprints, emitted,
 * remembered in the device table until detach (a detach reports what the attach knew), and
 * published as a device fact for the rules. Whichever source saw the device (BPF record, uevent,
 * sysfs inventory) goes through the same functions, so it gets the same event.
 */
#ifndef GW_DEVICES_EMIT_H
#define GW_DEVICES_EMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/agent.h"
#include "devices.h"
#include "gw_events.h"

/* The domain's state (registered as "devices"). */
struct gw_devices *devices_emit_state(const struct gw_agent *a);

void devices_emit_usb(struct gw_agent *a, const char *action, enum gw_device_source src,
		      const struct gw_usb_info *u, uint64_t seqnum, int32_t result);
void devices_emit_hid(struct gw_agent *a, const char *action, enum gw_device_source src,
		      const struct gw_hid_info *h, uint64_t seqnum, int32_t result,
		      Ghostwatch__V1__Process *creator);
void devices_emit_input(struct gw_agent *a, const char *action, enum gw_device_source src,
			const struct gw_input_info *in, uint64_t seqnum, int32_t result,
			Ghostwatch__V1__Process *creator);
/* Reads every connector's EDID again and emits the monitors that appeared or went. */
void devices_emit_monitors(struct gw_agent *a, const char *action, enum gw_device_source src,
			   uint64_t seqnum);

/* A USB record into `u`, enriched from sysfs when `enrich`. */
void devices_emit_usb_from_record(struct gw_agent *a, const struct gw_usb_event *r,
				  struct gw_usb_info *u, bool enrich);
/* What the device table remembers of a device being detached. */
void devices_emit_usb_identity(struct gw_agent *a, struct gw_usb_info *u);
void devices_emit_input_identity(struct gw_agent *a, struct gw_input_info *in);

/* The process behind a device: the task of a record, the creator of a uinput device, the holder
 * of a node such as /dev/uhid. NULL when unknown. */
Ghostwatch__V1__Process *devices_emit_task_process(struct gw_agent *a, const struct gw_task_ids *t);
Ghostwatch__V1__Process *devices_emit_input_creator(struct gw_agent *a,
						    const struct gw_input_info *in);
Ghostwatch__V1__Process *devices_emit_node_holder(struct gw_agent *a, const char *node);

#endif
