/*
 * hid_report.h - reads a HID report descriptor and keeps the facts that tell what kind of input
 * device it is: keyboard, relative mouse, absolute X/Y pointer (with its logical range: IP-KVMs use
 * 0..32767), digitizer/touch, consumer keys, vendor-defined reports.
 *
 * Descriptors come from the device (sysfs report_descriptor, or a gadget someone configured), so
 * they are parsed defensively: bounded stacks, every anomaly flagged, never trusting a length.
 */
#ifndef GW_HID_REPORT_H
#define GW_HID_REPORT_H

#include <stddef.h>
#include <stdint.h>

/* The kernel's HID_MAX_DESCRIPTOR_SIZE. */
#define GW_HID_DESCRIPTOR_MAX 4096
#define GW_HID_MAX_APPLICATIONS 8

/* What the device can do, from its application collections and input fields. */
#define GW_HID_KEYBOARD    (1u << 0)  /* keyboard application with Keyboard/Keypad-page inputs */
#define GW_HID_MOUSE       (1u << 1)  /* Mouse or Pointer application collection */
#define GW_HID_REL_XY      (1u << 2)  /* relative X and Y inputs (a mouse, a jiggler) */
#define GW_HID_ABS_XY      (1u << 3)  /* absolute X and Y inputs (tablet, touchscreen, IP-KVM) */
#define GW_HID_BUTTONS     (1u << 4)  /* Button-page inputs */
#define GW_HID_WHEEL       (1u << 5)
#define GW_HID_DIGITIZER   (1u << 6)  /* Digitizer-page application (pen, touch screen, touch pad) */
#define GW_HID_TOUCH       (1u << 7)  /* Tip Switch or Touch Screen / Touch Pad */
#define GW_HID_CONSUMER    (1u << 8)  /* Consumer Control (media keys) */
#define GW_HID_SYSTEM      (1u << 9)  /* System Control (power/sleep) */
#define GW_HID_VENDOR      (1u << 10) /* vendor-defined usage page (0xFF00..) application */
#define GW_HID_JOYSTICK    (1u << 11) /* joystick or gamepad */
#define GW_HID_LEDS        (1u << 12) /* LED outputs (keyboard indicators) */

/* Anomalies: the descriptor is odd or hostile; what was parsed up to it is still reported. */
#define GW_HID_ERR_TRUNCATED     (1u << 0) /* an item runs past the end */
#define GW_HID_ERR_STACK         (1u << 1) /* push/pop or collection nesting too deep or unbalanced */
#define GW_HID_ERR_RESERVED      (1u << 2) /* reserved item type or tag */
#define GW_HID_ERR_TOO_MANY_USAGES (1u << 3)
#define GW_HID_ERR_EMPTY         (1u << 4)

struct gw_hid_range {
	int32_t min, max;
};

struct gw_hid_facts {
	uint32_t caps;		/* GW_HID_* */
	uint32_t errors;	/* GW_HID_ERR_* */
	struct gw_hid_range abs_x, abs_y; /* logical ranges of the first absolute X and Y inputs */
	uint32_t n_items;
	uint32_t n_report_ids;	/* distinct Report IDs (0 = the device uses none) */
	uint32_t n_applications;
	uint32_t applications[GW_HID_MAX_APPLICATIONS]; /* usage page << 16 | usage, first ones */
};

/* Parses d[0..len). Always fills *facts; returns 0, or -1 when errors != 0. */
int gw_hid_report_parse(const uint8_t *d, size_t len, struct gw_hid_facts *facts);

/* Comma-separated names of caps ("keyboard,abs_xy,buttons"), for debug lines. */
void gw_hid_caps_string(uint32_t caps, char *buf, size_t size);

#endif
