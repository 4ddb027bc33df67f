/*
 * devices.h - the devices domain of the agent: USB, HID and input devices and monitors,
 * from whichever source is live (BPF device hooks, the uevent listener, the sysfs inventory at
 * start), turned into DeviceEvent messages with identity, interface classes, HID descriptor facts,
 * input capabilities, EDID and fingerprints.
 *
 * Every source goes through the same enrichment (sysfs: interfaces, HID descriptors, capabilities)
 * so a device gets the same fingerprint whether fentry, kprobe or the uevent listener saw it. A
 * signal served by a BPF hook is not subscribed to in the uevent service, so nothing is reported
 * twice. Each device is also published as a fact (facts.h) for the device rules.
 */
#ifndef GW_DEVICES_H
#define GW_DEVICES_H

#include <stddef.h>
#include <stdint.h>

#include "device_hooks.h"
#include "device_sysfs.h"
#include "device_table.h"
#include "core/uevent_listener.h"

struct gw_agent;

#define GW_DEVICE_TABLE_MAX 4096

struct gw_devices {
	struct gw_device_hooks hooks;
	struct device_table table;
	enum gw_device_mode mode;
	const char *sys_root;
	uint32_t monitor_generation;
	uint64_t inventory, attached, detached;
	uint64_t sysfs_gone;	/* enrichment found the device already gone: reported from the record */
	/* scratch for one event at a time: too big for the stack */
	struct gw_usb_info usb;
	struct gw_hid_info hid;
	struct gw_input_info input;
	struct gw_monitor_info monitor;
};

/* Registers the devices domain. At start it loads the hooks (after the process hooks), subscribes
 * to the uevents of what they do not cover (uevents.h), records the live path per signal as hook
 * status, and emits the inventory; it handles the GW_EV_DEVICE_* records. */
int devices_register(struct gw_agent *a, enum gw_device_mode mode, const char *sys_root);

/* One accepted uevent of its subsystems (from the uevent service, or a test). */
void devices_handle_uevent(struct gw_agent *a, const struct gw_uevent *ev);

#endif
