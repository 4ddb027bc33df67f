/*
 * device_proto.h - device facts (device_sysfs.h structs) as DeviceEvent protobuf messages, built in
 * the agent's arena. Strings are not copied: they point at the caller's structs, which must live
 * until the event has been emitted.
 */
#ifndef GW_DEVICE_PROTO_H
#define GW_DEVICE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "core/agent.h"
#include "device_fingerprint.h"
#include "device_hooks.h"
#include "device_sysfs.h"
#include "device_table.h"

/* A zeroed, initialised protobuf message of `type` in the agent's arena, or NULL when it is full. */
#define ARENA_NEW(a, type, init)                                                                \
	({                                                                                      \
		type *p_ = gw_arena_alloc(&(a)->arena, sizeof(type));                            \
		if (p_)                                                                         \
			init(p_);                                                               \
		p_;                                                                             \
	})

/* "hid_boot_keyboard", "mass_storage", "cdc_ethernet", "rndis", ... ("class_0x42" in buf else) */
const char *usb_interface_class_name(uint8_t cls, uint8_t subclass, uint8_t protocol, char *buf,
				     size_t size);

Ghostwatch__V1__UsbDevice *usb_proto(struct gw_agent *a, const struct gw_usb_info *u);
Ghostwatch__V1__HidDevice *hid_proto(struct gw_agent *a, const struct gw_hid_info *h);
Ghostwatch__V1__InputDevice *input_proto(struct gw_agent *a, const struct gw_input_info *in);
Ghostwatch__V1__Monitor *monitor_proto(struct gw_agent *a, const struct gw_monitor_info *m);

/* A fresh Event holding a DeviceEvent (action "attach"/"detach"/"inventory", its source and kind,
 * fingerprints when fp is not NULL); NULL when the arena is full. */
Ghostwatch__V1__DeviceEvent *new_device_event(struct gw_agent *a, gw_event_t **evp,
					      const char *action, enum gw_device_source src,
					      enum gw_devkind kind,
					      const struct gw_fingerprints *fp);

#endif
