#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "testing.h"
#include "core/uevent_listener.h"

#define MSG(s) s, sizeof(s) - 1

static const char usb_add[] = "add@/devices/pci0000:00/usb1/1-1\0SUBSYSTEM=usb\0"
			      "DEVTYPE=usb_device\0PRODUCT=1d6b/104/100\0SEQNUM=7\0";
static struct gw_uevent ev;

static struct gw_uevent_listener fake_listener(void)
{
	struct gw_uevent_listener l = { .fd = -1, .subsystems = GW_UEVENT_SUBSYS_ALL_DEVICES };

	return l;
}

TEST(kernel_message_accepted)
{
	struct gw_uevent_listener l = fake_listener();
	struct sockaddr_nl from = { .nl_family = AF_NETLINK, .nl_pid = 0 };
	struct ucred cred = { .pid = 0, .uid = 0, .gid = 0 };

	CHECK(gw_uevent_listener_accept(&l, MSG(usb_add), &from, &cred, &ev) ==
	      GW_UEVENT_READ_EVENT);
	CHECK(l.stats.accepted == 1);
	CHECK_STR(ev.subsystem, "usb");
}

TEST(forged_messages_dropped)
{
	struct gw_uevent_listener l = fake_listener();
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK, .nl_pid = 0 };
	struct sockaddr_nl process = { .nl_family = AF_NETLINK, .nl_pid = 4242 };
	struct ucred kcred = { .pid = 0, .uid = 0 }, pcred = { .pid = 4242, .uid = 0 };
	struct ucred ucred_user = { .pid = 0, .uid = 1000 };

	/* port id of a process */
	CHECK(gw_uevent_listener_accept(&l, MSG(usb_add), &process, &kcred, &ev) ==
	      GW_UEVENT_READ_DROPPED);
	/* port id 0 but credentials of a process */
	CHECK(gw_uevent_listener_accept(&l, MSG(usb_add), &kernel, &pcred, &ev) ==
	      GW_UEVENT_READ_DROPPED);
	CHECK(gw_uevent_listener_accept(&l, MSG(usb_add), &kernel, &ucred_user, &ev) ==
	      GW_UEVENT_READ_DROPPED);
	/* no credentials or no address at all */
	CHECK(gw_uevent_listener_accept(&l, MSG(usb_add), &kernel, NULL, &ev) ==
	      GW_UEVENT_READ_DROPPED);
	CHECK(gw_uevent_listener_accept(&l, MSG(usb_add), NULL, &kcred, &ev) ==
	      GW_UEVENT_READ_DROPPED);
	CHECK(l.stats.forged == 5);
	CHECK(l.stats.accepted == 0);
}

TEST(irrelevant_and_malformed_counted)
{
	struct gw_uevent_listener l = fake_listener();
	struct sockaddr_nl from = { .nl_family = AF_NETLINK };
	struct ucred cred = { 0 };

	CHECK(gw_uevent_listener_accept(&l, MSG("add@/devices/virtual/net/lo\0SUBSYSTEM=net\0"),
					&from, &cred, &ev) == GW_UEVENT_READ_DROPPED);
	CHECK(l.stats.ignored == 1);
	CHECK(gw_uevent_listener_accept(&l, MSG("garbage"), &from, &cred, &ev) ==
	      GW_UEVENT_READ_DROPPED);
	CHECK(l.stats.malformed == 1);
	CHECK(l.stats.malformed_by_status[GW_UEVENT_ERR_HEADER] == 1);
	l.subsystems = GW_UEVENT_SUBSYS_INPUT;
	CHECK(gw_uevent_listener_accept(&l, MSG(usb_add), &from, &cred, &ev) ==
	      GW_UEVENT_READ_DROPPED);
	CHECK(l.stats.ignored == 2);
}

TEST(subsystem_bits)
{
	CHECK(gw_uevent_subsystem_bit("usb") == GW_UEVENT_SUBSYS_USB);
	CHECK(gw_uevent_subsystem_bit("hid") == GW_UEVENT_SUBSYS_HID);
	CHECK(gw_uevent_subsystem_bit("input") == GW_UEVENT_SUBSYS_INPUT);
	CHECK(gw_uevent_subsystem_bit("drm") == GW_UEVENT_SUBSYS_DRM);
	CHECK(gw_uevent_subsystem_bit("net") == GW_UEVENT_SUBSYS_NET);
	CHECK(gw_uevent_subsystem_bit("netx") == 0);
	CHECK(gw_uevent_subsystem_bit("usbmisc") == 0);
	CHECK(gw_uevent_subsystem_bit(NULL) == 0);
}

/* Drains the listener for up to timeout_ms; returns accepted events seen. */
static int drain(struct gw_uevent_listener *l, int timeout_ms)
{
	struct pollfd p = { .fd = l->fd, .events = POLLIN };
	int events = 0;

	while (poll(&p, 1, timeout_ms) > 0) {
		enum gw_uevent_read_result r;

		while ((r = gw_uevent_listener_read(l, &ev)) != GW_UEVENT_READ_AGAIN) {
			if (r == GW_UEVENT_READ_ERROR)
				return -1;
			events += r == GW_UEVENT_READ_EVENT;
		}
		timeout_ms = 100;
	}
	return events;
}

/* Real sockets: the kernel's own uevent is taken, a root process's forgery is not. */
TEST(live_kernel_uevent_and_forgery)
{
	struct gw_uevent_listener l;
	struct sockaddr_nl group = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int fd, sender, rc;

	if (geteuid() != 0) {
		printf("# SKIP live_kernel_uevent_and_forgery: needs root to trigger and forge uevents\n");
		return;
	}
	rc = gw_uevent_listener_open(&l, GW_UEVENT_SUBSYS_ALL_DEVICES, GW_UEVENT_RCVBUF_BYTES);
	REQUIRE(rc == 0);
	CHECK(l.rcvbuf_bytes >= GW_UEVENT_RCVBUF_BYTES);

	/* the kernel sends "add@/devices/virtual/net/lo" for this write: read, then ignored */
	fd = open("/sys/class/net/lo/uevent", O_WRONLY);
	REQUIRE(fd >= 0);
	CHECK(write(fd, "add", 3) == 3);
	close(fd);
	CHECK(drain(&l, 2000) >= 0);
	CHECK(l.stats.ignored >= 1);
	CHECK(l.stats.forged == 0);

	/* a forged usb add from a userspace netlink socket */
	sender = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	REQUIRE(sender >= 0);
	CHECK(sendto(sender, usb_add, sizeof(usb_add) - 1, 0, (struct sockaddr *)&group,
		     sizeof(group)) == (ssize_t)(sizeof(usb_add) - 1));
	close(sender);
	CHECK(drain(&l, 2000) == 0);
	CHECK(l.stats.forged == 1);
	CHECK(l.stats.accepted == 0);
	gw_uevent_listener_close(&l);
	CHECK(l.fd == -1);
}

/* A receive buffer too small for a burst: the kernel drops, recvmsg says ENOBUFS, we count it. */
TEST(live_overflow_counted)
{
	struct gw_uevent_listener l;
	int fd;

	if (geteuid() != 0) {
		printf("# SKIP live_overflow_counted: needs root to trigger uevents\n");
		return;
	}
	REQUIRE(gw_uevent_listener_open(&l, GW_UEVENT_SUBSYS_ALL_DEVICES, 1) == 0);
	CHECK(l.rcvbuf_bytes < 8192); /* the kernel's minimum, a couple of messages */
	for (int i = 0; i < 50; i++) {
		fd = open("/sys/class/net/lo/uevent", O_WRONLY);
		REQUIRE(fd >= 0);
		CHECK(write(fd, "change", 6) == 6);
		close(fd);
	}
	CHECK(drain(&l, 1000) >= 0);
	CHECK(l.stats.overflows >= 1);
	CHECK(l.stats.ignored >= 1);
	gw_uevent_listener_close(&l);
}

int main(void)
{
	RUN(kernel_message_accepted);
	RUN(forged_messages_dropped);
	RUN(irrelevant_and_malformed_counted);
	RUN(subsystem_bits);
	RUN(live_kernel_uevent_and_forgery);
	RUN(live_overflow_counted);
	return test_summary();
}
