// fuzz: agent/core/uevent_parse.c agent/core/uevent_listener.c common/text_sanitize.c common/text.c
/* The uevent parser, the listener's accept decision and the sanitizer over hostile payloads. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>

#include "common/text_sanitize.h"
#include "core/uevent_listener.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gw_uevent ev;
	struct gw_uevent_listener l = { .fd = -1, .subsystems = GW_UEVENT_SUBSYS_ALL_DEVICES };
	struct sockaddr_nl from = { .nl_family = AF_NETLINK };
	struct ucred cred = { 0 };
	char out[128];

	if (gw_uevent_listener_accept(&l, data, size, &from, &cred, &ev) == GW_UEVENT_READ_EVENT) {
		/* every pointer handed out must be a NUL-terminated string inside ev.buf */
		if (strlen(ev.devpath) > GW_UEVENT_MAX_SIZE || strlen(ev.subsystem) > GW_UEVENT_MAX_SIZE)
			abort();
		for (unsigned i = 0; i < ev.nvars; i++) {
			gw_text_sanitize(out, sizeof(out), ev.vars[i].value, strlen(ev.vars[i].value));
			if (strlen(out) >= sizeof(out))
				abort();
		}
	}
	if (l.stats.accepted + l.stats.ignored + l.stats.malformed != 1)
		abort();
	gw_text_sanitize(out, sizeof(out), data, size);
	return 0;
}
