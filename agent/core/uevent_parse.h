/*
 * uevent_parse.h - parses one NETLINK_KOBJECT_UEVENT payload ("action@devpath\0KEY=VALUE\0...").
 *
 * The payload is untrusted: the listener only accepts kernel-originated messages, but the values
 * inside (USB product names in HID_NAME/NAME, ...) come from the device. The parser copies the
 * message into the struct (bounded), validates the header and every variable, and reports what was
 * wrong instead of guessing. Values are returned raw; sanitize them (text_sanitize.h) before output.
 */
#ifndef GW_UEVENT_PARSE_H
#define GW_UEVENT_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* The kernel's own limit is UEVENT_BUFFER_SIZE (2048) plus the header; leave room, stay bounded. */
#define GW_UEVENT_MAX_SIZE 8192
#define GW_UEVENT_MAX_VARS 64

enum gw_uevent_action {
	GW_UEVENT_ADD = 1,
	GW_UEVENT_REMOVE,
	GW_UEVENT_CHANGE,
	GW_UEVENT_MOVE,
	GW_UEVENT_ONLINE,
	GW_UEVENT_OFFLINE,
	GW_UEVENT_BIND,
	GW_UEVENT_UNBIND,
};

enum gw_uevent_parse_status {
	GW_UEVENT_OK = 0,
	GW_UEVENT_ERR_EMPTY,
	GW_UEVENT_ERR_TOO_BIG,
	GW_UEVENT_ERR_UDEV,		/* a udevd "libudev" message: not the kernel's format */
	GW_UEVENT_ERR_HEADER,		/* no "action@/devpath" header, or an unknown action */
	GW_UEVENT_ERR_MISMATCH,		/* ACTION= or DEVPATH= disagree with the header */
	GW_UEVENT_ERR_NO_SUBSYSTEM,
	GW_UEVENT_ERR_MAX,
};

/* Flags for anomalies that do not reject the message. */
#define GW_UEVENT_BAD_VAR      (1u << 0) /* a variable without '=' or with a bad key: skipped */
#define GW_UEVENT_TOO_MANY     (1u << 1) /* more than GW_UEVENT_MAX_VARS: the rest skipped */
#define GW_UEVENT_UNTERMINATED (1u << 2) /* the last variable had no trailing NUL */

struct gw_uevent_var {
	const char *key;
	const char *value;
};

/*
 * A parsed uevent. The pointers point into buf, so the struct must not be copied by value; parse
 * again instead.
 */
struct gw_uevent {
	enum gw_uevent_action action;
	const char *action_name;
	const char *devpath;
	const char *subsystem;
	const char *devtype;	/* NULL when absent */
	const char *devname;	/* NULL when absent */
	uint64_t seqnum;	/* 0 when absent or not a number */
	unsigned flags;		/* GW_UEVENT_BAD_VAR, ... */
	unsigned bad_vars;
	unsigned nvars;
	struct gw_uevent_var vars[GW_UEVENT_MAX_VARS];
	char buf[GW_UEVENT_MAX_SIZE + 1];
};

enum gw_uevent_parse_status gw_uevent_parse(const void *data, size_t len, struct gw_uevent *ev);

/* Value of KEY, or NULL. */
const char *gw_uevent_get(const struct gw_uevent *ev, const char *key);

const char *gw_uevent_status_name(enum gw_uevent_parse_status status);

#endif
