#include "uevent_parse.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char *const action_names[] = {
	[GW_UEVENT_ADD] = "add",       [GW_UEVENT_REMOVE] = "remove", [GW_UEVENT_CHANGE] = "change",
	[GW_UEVENT_MOVE] = "move",     [GW_UEVENT_ONLINE] = "online", [GW_UEVENT_OFFLINE] = "offline",
	[GW_UEVENT_BIND] = "bind",     [GW_UEVENT_UNBIND] = "unbind",
};

static const char *const status_names[GW_UEVENT_ERR_MAX] = {
	[GW_UEVENT_OK] = "ok",
	[GW_UEVENT_ERR_EMPTY] = "empty",
	[GW_UEVENT_ERR_TOO_BIG] = "too_big",
	[GW_UEVENT_ERR_UDEV] = "udev_format",
	[GW_UEVENT_ERR_HEADER] = "bad_header",
	[GW_UEVENT_ERR_MISMATCH] = "header_mismatch",
	[GW_UEVENT_ERR_NO_SUBSYSTEM] = "no_subsystem",
};

const char *gw_uevent_status_name(enum gw_uevent_parse_status status)
{
	if ((unsigned)status < GW_UEVENT_ERR_MAX && status_names[status])
		return status_names[status];
	return "unknown";
}

static enum gw_uevent_action action_from_name(const char *name, size_t len)
{
	for (size_t i = 1; i < sizeof(action_names) / sizeof(action_names[0]); i++)
		if (strlen(action_names[i]) == len && memcmp(action_names[i], name, len) == 0)
			return (enum gw_uevent_action)i;
	return 0;
}

/* Keys the kernel emits are upper-case identifiers (ACTION, ID_VENDOR_ID, HID_NAME, ...). */
static bool key_is_valid(const char *key, size_t len)
{
	if (len == 0 || len > 64)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = key[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

static uint64_t parse_seqnum(const char *s)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return 0;
	v = strtoull(s, &end, 10);
	return *end ? 0 : v;
}

enum gw_uevent_parse_status gw_uevent_parse(const void *data, size_t len, struct gw_uevent *ev)
{
	const char *at, *action_var, *devpath_var;
	size_t pos, hdr_len;

	memset(ev, 0, offsetof(struct gw_uevent, buf));
	ev->buf[0] = '\0';
	if (!data || len == 0)
		return GW_UEVENT_ERR_EMPTY;
	if (len > GW_UEVENT_MAX_SIZE)
		return GW_UEVENT_ERR_TOO_BIG;
	memcpy(ev->buf, data, len);
	ev->buf[len] = '\0';
	if (len >= 8 && memcmp(ev->buf, "libudev", 8) == 0)
		return GW_UEVENT_ERR_UDEV;

	/* header: action@devpath */
	hdr_len = strnlen(ev->buf, len);
	at = memchr(ev->buf, '@', hdr_len);
	if (!at || at[1] != '/')
		return GW_UEVENT_ERR_HEADER;
	ev->action = action_from_name(ev->buf, (size_t)(at - ev->buf));
	if (!ev->action)
		return GW_UEVENT_ERR_HEADER;
	ev->action_name = action_names[ev->action];
	ev->devpath = at + 1;

	for (pos = hdr_len + 1; pos < len;) {
		char *var = ev->buf + pos;
		size_t vlen = strnlen(var, len - pos);
		char *eq = memchr(var, '=', vlen);

		if (pos + vlen == len)
			ev->flags |= GW_UEVENT_UNTERMINATED;
		pos += vlen + 1;
		if (vlen == 0)
			continue; /* stray NUL: harmless */
		if (!eq || !key_is_valid(var, (size_t)(eq - var))) {
			ev->flags |= GW_UEVENT_BAD_VAR;
			ev->bad_vars++;
			continue;
		}
		if (ev->nvars == GW_UEVENT_MAX_VARS) {
			ev->flags |= GW_UEVENT_TOO_MANY;
			continue;
		}
		*eq = '\0';
		ev->vars[ev->nvars].key = var;
		ev->vars[ev->nvars].value = eq + 1;
		ev->nvars++;
	}

	action_var = gw_uevent_get(ev, "ACTION");
	devpath_var = gw_uevent_get(ev, "DEVPATH");
	if ((action_var && strcmp(action_var, ev->action_name) != 0) ||
	    (devpath_var && strcmp(devpath_var, ev->devpath) != 0))
		return GW_UEVENT_ERR_MISMATCH;
	ev->subsystem = gw_uevent_get(ev, "SUBSYSTEM");
	if (!ev->subsystem || !*ev->subsystem)
		return GW_UEVENT_ERR_NO_SUBSYSTEM;
	ev->devtype = gw_uevent_get(ev, "DEVTYPE");
	ev->devname = gw_uevent_get(ev, "DEVNAME");
	ev->seqnum = parse_seqnum(gw_uevent_get(ev, "SEQNUM"));
	return GW_UEVENT_OK;
}

const char *gw_uevent_get(const struct gw_uevent *ev, const char *key)
{
	/* first occurrence wins: the kernel never repeats a key, so a repeat is not trusted */
	for (unsigned i = 0; i < ev->nvars; i++)
		if (strcmp(ev->vars[i].key, key) == 0)
			return ev->vars[i].value;
	return NULL;
}
