/*
 * device_sysfs.h - what sysfs says about USB devices, HID devices, input devices and monitors.
 *
 * Used for the inventory at start (devices plugged in before the agent) and to enrich events from
 * the BPF hooks and the uevent fallback with what they do not carry (interface classes, HID report
 * descriptors, input capabilities, EDID). Every function takes the sysfs root ("/sys" in the agent,
 * a fake tree in a temp dir in the unit tests). Strings come from the device: they are bounded and
 * sanitized here (text_sanitize.h), with flags saying when that changed them.
 */
#ifndef GW_DEVICE_SYSFS_H
#define GW_DEVICE_SYSFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edid.h"
#include "hid_report.h"

#define GW_DEV_NAME_MAX 64	/* sysfs names: "1-1.2", "0003:0627:0001.0001", "card0-HDMI-A-1" */
#define GW_DEV_STR_MAX 256	/* USB strings are <= 126 UTF-16 units; escapes can grow them */
#define GW_DEV_PATH_MAX 512
#define GW_USB_MAX_INTERFACES 32
#define GW_INPUT_KEY_WORDS 12	/* KEY_MAX 0x2ff */

/* String flags (any of the device strings was changed on the way in). */
#define GW_DEV_STR_ESCAPED   (1u << 0)
#define GW_DEV_STR_TRUNCATED (1u << 1)

struct gw_usb_interface {
	uint8_t number, iface_class, iface_subclass, iface_protocol;
	char driver[32];
};

struct gw_usb_info {
	char name[GW_DEV_NAME_MAX];	/* sysfs name "<bus>-<port path>", e.g. "1-1.2" */
	uint16_t vendor_id, product_id, bcd_device;
	uint8_t dev_class, dev_subclass, dev_protocol;
	char usb_version[8];		/* "2.00" */
	char manufacturer[GW_DEV_STR_MAX];
	char product[GW_DEV_STR_MAX];
	char serial[GW_DEV_STR_MAX];
	unsigned string_flags;		/* GW_DEV_STR_* */
	uint32_t busnum, devnum;
	char port_path[32];		/* "1.2": ports from the root hub */
	char speed[16];			/* Mbit/s as sysfs writes it: "1.5", "12", "480", "5000" */
	char removable[16];		/* "removable", "fixed", "unknown", "" when not reported */
	bool authorized;		/* false: blocked by policy (USBGuard), never configured */
	uint8_t n_interfaces;
	struct gw_usb_interface interfaces[GW_USB_MAX_INTERFACES];
	uint32_t hid_caps;		/* union of GW_HID_* over the HID children of its interfaces */
	struct gw_hid_range abs_x, abs_y;	/* of the first absolute pointer among them */
	uint8_t hid_digest[32];		/* SHA-256 chain over the HID children's report descriptors */
	uint8_t n_hid;
};

struct gw_hid_info {
	char name[GW_DEV_NAME_MAX];	/* "BBBB:VVVV:PPPP.NNNN" */
	uint16_t bus;			/* BUS_USB 3, BUS_BLUETOOTH 5, BUS_VIRTUAL 6 (uhid) ... */
	uint32_t vendor_id, product_id;
	char hid_name[GW_DEV_STR_MAX];
	char phys[GW_DEV_STR_MAX];
	char uniq[GW_DEV_STR_MAX];
	unsigned string_flags;
	char usb_parent[GW_DEV_NAME_MAX];	/* USB device it belongs to, "" if none */
	bool is_virtual;		/* under /devices/virtual: made by a process through uhid */
	struct gw_hid_facts facts;
	size_t descriptor_len;
	uint8_t descriptor[GW_HID_DESCRIPTOR_MAX];
};

/* Input device classes derived from the capability bitmaps. */
#define GW_INPUT_KEYBOARD    (1u << 0)
#define GW_INPUT_REL_POINTER (1u << 1)	/* REL_X/REL_Y + a button: a mouse */
#define GW_INPUT_ABS_POINTER (1u << 2)	/* ABS_X/ABS_Y + a button or touch: tablet, KVM */
#define GW_INPUT_TOUCHSCREEN (1u << 3)	/* direct input (INPUT_PROP_DIRECT) */
#define GW_INPUT_TOUCHPAD    (1u << 4)	/* INPUT_PROP_POINTER with ABS */

struct gw_input_info {
	char name[GW_DEV_NAME_MAX];	/* "input5" */
	char dev_name[GW_DEV_STR_MAX];	/* the device's name attribute */
	char phys[GW_DEV_STR_MAX];
	char uniq[GW_DEV_STR_MAX];
	unsigned string_flags;
	uint16_t bustype, vendor_id, product_id, version;
	bool is_virtual;		/* under /devices/virtual: uinput (or another software device) */
	char devpath[GW_DEV_PATH_MAX];	/* relative to the sysfs root, "/devices/..." */
	char usb_parent[GW_DEV_NAME_MAX];
	uint64_t ev_bits, rel_bits, abs_bits, prop_bits;
	uint64_t key_bits[GW_INPUT_KEY_WORDS];
	uint32_t classes;		/* GW_INPUT_* */
	/* absolute X/Y range: sysfs has no absinfo, the parent HID's report descriptor has it */
	bool has_abs_range;
	struct gw_hid_range abs_x, abs_y;
};

struct gw_monitor_info {
	char name[GW_DEV_NAME_MAX];	/* connector, "card0-HDMI-A-1" */
	char status[16];		/* "connected", "disconnected" */
	bool has_edid;
	enum gw_edid_status edid_status;
	struct gw_edid edid;
	size_t edid_len;
	uint8_t edid_raw[GW_EDID_BLOCK * 4];	/* base block + 3 extensions is plenty for identity */
};

/*
 * Readers: name is the entry under /bus/usb/devices, /bus/hid/devices, /class/input, /class/drm.
 * Return 0, or -errno when the device directory cannot be read (gone already).
 */
int gw_sysfs_read_usb(const char *sysroot, const char *name, struct gw_usb_info *info);
int gw_sysfs_read_hid(const char *sysroot, const char *name, struct gw_hid_info *info);
int gw_sysfs_read_input(const char *sysroot, const char *name, struct gw_input_info *info);
int gw_sysfs_read_monitor(const char *sysroot, const char *name, struct gw_monitor_info *info);

enum gw_sysfs_class { GW_SYSFS_USB, GW_SYSFS_HID, GW_SYSFS_INPUT, GW_SYSFS_DRM };

/*
 * Calls fn for every device of a class (USB devices without root hubs and interfaces, HID devices,
 * inputN, DRM connectors), in name order so inventories are stable. Returns the number visited or
 * -errno when the class directory does not exist (no USB in this kernel).
 */
int gw_sysfs_list(const char *sysroot, enum gw_sysfs_class cls,
		  void (*fn)(const char *name, void *ctx), void *ctx);

/* "usb", "bluetooth", "virtual", ... for an input/HID bus type; "0x%04x" text otherwise. */
const char *gw_bus_type_name(uint16_t bus, char *buf, size_t size);

/* Parses a sysfs capability bitmap ("120013", "3 0 0 ffff") into words, lowest first. */
void gw_sysfs_parse_bitmap(const char *text, uint64_t *words, size_t n_words);

/* GW_INPUT_* classes from the bitmaps of an input device. */
uint32_t gw_input_classify(const struct gw_input_info *info);

#endif
