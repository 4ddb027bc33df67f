/*
 * device_events.h - the devices domain of the agent: USB, HID and input devices and monitors,
 * from whichever source is live (BPF device hooks, the uevent listener, the sysfs inventory at
 * start), turned into DeviceEvent messages with identity, interface classes, HID descriptor facts,
 * input capabilities, EDID and fingerprints.
 *
 * Every source goes through the same enrichment (sysfs: interfaces, HID descriptors, capabilities)
 * so a device gets the same fingerprint whether fentry, kprobe or the uevent listener saw it. A
 * signal served by a BPF hook is filtered out of the uevent listener, so nothing is reported twice.
 */
#ifndef GW_DEVICE_EVENTS_H
#define GW_DEVICE_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "device_hooks.h"
#include "device_sysfs.h"
#include "device_table.h"
#include "net/netif_watch.h"
#include "core/uevent_listener.h"

struct gw_agent;

#define GW_DEVICE_TABLE_MAX 4096

struct gw_devices {
	struct gw_device_hooks hooks;
	struct gw_uevent_listener uevents;
	struct device_table table;
	const char *sys_root;
	uint32_t monitor_generation;
	uint64_t inventory, attached, detached;
	struct gw_netif_counts netifs; /* interfaces: no BPF hook, always from the listener */
	uint64_t sysfs_gone;	/* enrichment found the device already gone: reported from the record */
	/* scratch for one event at a time: too big for the stack */
	struct gw_uevent uevent;
	struct gw_usb_info usb;
	struct gw_hid_info hid;
	struct gw_input_info input;
	struct gw_monitor_info monitor;
};

/* Loads the hooks (after the process hooks), opens the uevent listener for what they do not
 * cover and for network interfaces (netif_watch.h: no hook of their own), records the live path
 * per signal as hook status, and emits the inventory. */
int devices_start(struct gw_agent *a);
void devices_stop(struct gw_agent *a);

/* The uevent listener's fd for the event loop (-1 when it could not be opened). */
int devices_uevent_fd(const struct gw_agent *a);
/* Drains the listener: call when its fd is readable. */
void devices_handle_uevents(struct gw_agent *a);
/* One accepted uevent (from the listener, or a test). */
void devices_handle_uevent(struct gw_agent *a, const struct gw_uevent *ev);

/* BPF records GW_EV_DEVICE_*; 0, or -1 for a malformed record. */
int devices_handle_record(struct gw_agent *a, const void *data, size_t size);

#define GW_DEVICE_COUNTERS_MAX 12
/* Counters for AgentStats: what was seen (events) and what was refused or lost (drops). */
size_t devices_event_counters(const struct gw_agent *a, const char **names, uint64_t *values);
size_t devices_drop_counters(const struct gw_agent *a, const char **names, uint64_t *values);

#endif
