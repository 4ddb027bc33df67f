#include "uevent_listener.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>
#include <linux/netlink.h>

/* The kernel's uevent multicast group; udevd re-broadcasts on group 2, which we do not trust. */
#define UEVENT_KERNEL_GROUP 1

unsigned gw_uevent_subsystem_bit(const char *subsystem)
{
	if (!subsystem)
		return 0;
	if (strcmp(subsystem, "usb") == 0)
		return GW_UEVENT_SUBSYS_USB;
	if (strcmp(subsystem, "hid") == 0)
		return GW_UEVENT_SUBSYS_HID;
	if (strcmp(subsystem, "input") == 0)
		return GW_UEVENT_SUBSYS_INPUT;
	if (strcmp(subsystem, "drm") == 0)
		return GW_UEVENT_SUBSYS_DRM;
	if (strcmp(subsystem, "net") == 0)
		return GW_UEVENT_SUBSYS_NET;
	return 0;
}

int gw_uevent_listener_open(struct gw_uevent_listener *l, unsigned subsystems, int rcvbuf_bytes)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = UEVENT_KERNEL_GROUP };
	int one = 1, fd, err;
	socklen_t optlen = sizeof(l->rcvbuf_bytes);

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->subsystems = subsystems;
	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	if (fd < 0)
		return -errno;
	/* SO_RCVBUFFORCE ignores rmem_max but needs CAP_NET_ADMIN; SO_RCVBUF is the fallback */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf_bytes, sizeof(rcvbuf_bytes)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf_bytes, sizeof(rcvbuf_bytes));
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &l->rcvbuf_bytes, &optlen) < 0)
		l->rcvbuf_bytes = 0;
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	l->fd = fd;
	return 0;
}

void gw_uevent_listener_close(struct gw_uevent_listener *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

enum gw_uevent_read_result gw_uevent_listener_accept(struct gw_uevent_listener *l, const void *buf,
						     size_t len, const struct sockaddr_nl *from,
						     const struct ucred *cred, struct gw_uevent *ev)
{
	enum gw_uevent_parse_status st;

	/* port id 0 is the kernel; a process cannot bind it. Credentials must say the same. */
	if (!from || from->nl_family != AF_NETLINK || from->nl_pid != 0 || !cred || cred->pid != 0 ||
	    cred->uid != 0) {
		l->stats.forged++;
		return GW_UEVENT_READ_DROPPED;
	}
	st = gw_uevent_parse(buf, len, ev);
	if (st != GW_UEVENT_OK) {
		l->stats.malformed++;
		l->stats.malformed_by_status[st]++;
		return GW_UEVENT_READ_DROPPED;
	}
	if (!(gw_uevent_subsystem_bit(ev->subsystem) & l->subsystems)) {
		l->stats.ignored++;
		return GW_UEVENT_READ_DROPPED;
	}
	l->stats.accepted++;
	return GW_UEVENT_READ_EVENT;
}

enum gw_uevent_read_result gw_uevent_listener_read(struct gw_uevent_listener *l, struct gw_uevent *ev)
{
	/* one byte more than we accept, so an over-long message shows up as MSG_TRUNC or as too big */
	char data[GW_UEVENT_MAX_SIZE + 1];
	char control[CMSG_SPACE(sizeof(struct ucred))];
	struct sockaddr_nl from;
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr msg = {
		.msg_name = &from,
		.msg_namelen = sizeof(from),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control,
		.msg_controllen = sizeof(control),
	};
	const struct ucred *cred = NULL;
	struct cmsghdr *cmsg;
	ssize_t n;

	memset(&from, 0, sizeof(from));
	n = recvmsg(l->fd, &msg, MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return GW_UEVENT_READ_AGAIN;
		if (errno == ENOBUFS) {
			/* the socket stays usable; the loss is what we report */
			l->stats.overflows++;
			return GW_UEVENT_READ_DROPPED;
		}
		return GW_UEVENT_READ_ERROR;
	}
	l->stats.received++;
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC) || (size_t)n > GW_UEVENT_MAX_SIZE) {
		l->stats.truncated++;
		return GW_UEVENT_READ_DROPPED;
	}
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg))
		if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_CREDENTIALS &&
		    cmsg->cmsg_len >= CMSG_LEN(sizeof(struct ucred)))
			cred = (const struct ucred *)CMSG_DATA(cmsg);
	return gw_uevent_listener_accept(l, data, (size_t)n,
					 msg.msg_namelen >= sizeof(from) ? &from : NULL, cred, ev);
}
