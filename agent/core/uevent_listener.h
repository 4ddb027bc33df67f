/*
 * uevent_listener.h - the kernel's device hot-plug notifications (NETLINK_KOBJECT_UEVENT, group 1),
 * the device source of last resort when the kernel refuses BPF device hooks.
 *
 * Any root process can send a datagram to the uevent multicast group, so a message is trusted only
 * when it came from the kernel: sender port id 0 AND SCM_CREDENTIALS pid 0, uid 0. Everything else
 * is dropped and counted as forged. The socket gets a 1 MiB receive buffer (SO_RCVBUFFORCE, else
 * SO_RCVBUF); when the kernel still overflows it, recvmsg fails with ENOBUFS and that is counted as
 * an overflow (an unknown number of uevents lost). Only the subsystems asked for (usb, hid, input,
 * drm, net) are passed on; the rest are counted as ignored.
 */
#ifndef GW_UEVENT_LISTENER_H
#define GW_UEVENT_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uevent_parse.h"

struct sockaddr_nl;
struct ucred;

#define GW_UEVENT_RCVBUF_BYTES (1 << 20)

/* Subsystems a listener can pass on. */
#define GW_UEVENT_SUBSYS_USB   (1u << 0)
#define GW_UEVENT_SUBSYS_HID   (1u << 1)
#define GW_UEVENT_SUBSYS_INPUT (1u << 2)
#define GW_UEVENT_SUBSYS_DRM   (1u << 3)
#define GW_UEVENT_SUBSYS_NET   (1u << 4) /* network interfaces (netif_watch.h) */
#define GW_UEVENT_SUBSYS_ALL_DEVICES                                                            \
	(GW_UEVENT_SUBSYS_USB | GW_UEVENT_SUBSYS_HID | GW_UEVENT_SUBSYS_INPUT | GW_UEVENT_SUBSYS_DRM)

struct gw_uevent_stats {
	uint64_t received;	/* datagrams read */
	uint64_t accepted;	/* from the kernel, well-formed, wanted subsystem */
	uint64_t ignored;	/* from the kernel, well-formed, subsystem not wanted */
	uint64_t forged;	/* not sent by the kernel: dropped */
	uint64_t malformed;	/* from the kernel but unparseable: dropped */
	uint64_t truncated;	/* longer than our buffer: dropped */
	uint64_t overflows;	/* ENOBUFS: the kernel dropped uevents for lack of buffer */
	uint64_t malformed_by_status[GW_UEVENT_ERR_MAX];
};

struct gw_uevent_listener {
	int fd;
	unsigned subsystems;	/* GW_UEVENT_SUBSYS_* */
	int rcvbuf_bytes;	/* what the kernel granted */
	struct gw_uevent_stats stats;
};

enum gw_uevent_read_result {
	GW_UEVENT_READ_EVENT,	/* *ev holds an accepted uevent */
	GW_UEVENT_READ_DROPPED,	/* a datagram was read and dropped (counted); read again */
	GW_UEVENT_READ_AGAIN,	/* nothing pending */
	GW_UEVENT_READ_ERROR,	/* socket error (errno set) */
};

/* Opens a non-blocking listener. Returns 0 or -errno. */
int gw_uevent_listener_open(struct gw_uevent_listener *l, unsigned subsystems, int rcvbuf_bytes);
void gw_uevent_listener_close(struct gw_uevent_listener *l);

/* Reads at most one datagram. Call until GW_UEVENT_READ_AGAIN when the fd is readable. */
enum gw_uevent_read_result gw_uevent_listener_read(struct gw_uevent_listener *l, struct gw_uevent *ev);

/*
 * The decision for one received datagram (split out so it can be tested without a kernel):
 * from and cred may be NULL when the kernel did not supply them, which is itself a reason to drop.
 */
enum gw_uevent_read_result gw_uevent_listener_accept(struct gw_uevent_listener *l, const void *buf,
						     size_t len, const struct sockaddr_nl *from,
						     const struct ucred *cred, struct gw_uevent *ev);

/* GW_UEVENT_SUBSYS_* bit of a subsystem name, 0 when none. */
unsigned gw_uevent_subsystem_bit(const char *subsystem);

#endif
