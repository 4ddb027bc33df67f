/*
 * fake_sysfs.h - builds a sysfs tree the way the kernel lays it out (devices under /devices,
 * symlinks under /bus and /class) in a temp dir, for the device unit tests: a PiKVM-identity
 * composite device (boot keyboard + absolute mouse), a device with hostile strings, a uinput
 * device and a monitor with PiKVM's EDID.
 */
#ifndef GW_FAKE_SYSFS_H
#define GW_FAKE_SYSFS_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hid_descriptors.h"

static char root[64];

static void mkdirs(const char *path)
{
	char tmp[1024];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	}
	mkdir(tmp, 0755);
}

static void put(const char *rel, const void *data, size_t len)
{
	char path[1024], dir[1024];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	mkdirs(dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

static void puts_attr(const char *dir, const char *attr, const char *text)
{
	char rel[1024];

	snprintf(rel, sizeof(rel), "%s/%s", dir, attr);
	put(rel, text, strlen(text));
}

/* link rel -> target (target relative to root) */
static void link_to(const char *rel, const char *target)
{
	char path[1024], dst[1024], dir[1024];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dst, sizeof(dst), "%s/%s", root, target);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	mkdirs(dir);
	if (symlink(dst, path) < 0 && errno != EEXIST)
		abort();
}

static const uint8_t abs_mouse[] = {
	0x05, 0x01, 0x09, 0x02, 0xa1, 0x01, 0x09, 0x01, 0xa1, 0x00, 0x05, 0x09, 0x19, 0x01,
	0x29, 0x03, 0x15, 0x00, 0x25, 0x01, 0x95, 0x03, 0x75, 0x01, 0x81, 0x02, 0x95, 0x01,
	0x75, 0x05, 0x81, 0x01, 0x05, 0x01, 0x09, 0x30, 0x09, 0x31, 0x15, 0x00, 0x26, 0xff,
	0x7f, 0x75, 0x10, 0x95, 0x02, 0x81, 0x02, 0xc0, 0xc0,
};

#define USB_DEV "devices/pci0000:00/0000:00:04.0/usb1/1-1"
#define KBD_IF USB_DEV "/1-1:1.0"
#define KBD_HID KBD_IF "/0003:1D6B:0104.0001"
#define MOUSE_IF USB_DEV "/1-1:1.1"
#define MOUSE_HID MOUSE_IF "/0003:1D6B:0104.0002"
#define ODD_DEV "devices/pci0000:00/0000:00:04.0/usb1/1-2"
#define BLOCKED_DEV "devices/pci0000:00/0000:00:04.0/usb1/1-3"
#define UINPUT "devices/virtual/input/input9"
#define CONNECTOR "devices/pci0000:00/0000:00:02.0/drm/card0/card0-HDMI-A-1"

static void make_edid(uint8_t *d)
{
	static const uint8_t magic[8] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };
	uint8_t sum = 0;

	memset(d, 0, 128);
	memcpy(d, magic, 8);
	d[8] = 0x31; /* "LNX" */
	d[9] = 0xd8;
	d[10] = 0x70;
	d[11] = 0x77;
	memcpy(d + 72, "\0\0\0\xfc\0PiKVM\n       ", 18);
	memcpy(d + 90, "\0\0\0\xff\0CAFEBABE\n    ", 18);
	for (int i = 0; i < 127; i++)
		sum = (uint8_t)(sum + d[i]);
	d[127] = (uint8_t)(0x100 - sum);
}

static void build_tree(void)
{
	static char long_str[5000];
	uint8_t edid[128];

	/* the PiKVM composite gadget: boot keyboard + absolute mouse */
	puts_attr(USB_DEV, "idVendor", "1d6b\n");
	puts_attr(USB_DEV, "idProduct", "0104\n");
	puts_attr(USB_DEV, "bcdDevice", "0100\n");
	puts_attr(USB_DEV, "bDeviceClass", "00\n");
	puts_attr(USB_DEV, "bDeviceSubClass", "00\n");
	puts_attr(USB_DEV, "bDeviceProtocol", "00\n");
	puts_attr(USB_DEV, "version", " 2.00\n");
	puts_attr(USB_DEV, "manufacturer", "PiKVM\n");
	puts_attr(USB_DEV, "product", "PiKVM Composite Device\n");
	puts_attr(USB_DEV, "serial", "CAFEBABE\n");
	puts_attr(USB_DEV, "busnum", "1\n");
	puts_attr(USB_DEV, "devnum", "2\n");
	puts_attr(USB_DEV, "devpath", "1\n");
	puts_attr(USB_DEV, "speed", "480\n");
	puts_attr(USB_DEV, "removable", "removable\n");
	puts_attr(KBD_IF, "bInterfaceNumber", "00\n");
	puts_attr(KBD_IF, "bInterfaceClass", "03\n");
	puts_attr(KBD_IF, "bInterfaceSubClass", "01\n");
	puts_attr(KBD_IF, "bInterfaceProtocol", "01\n");
	link_to(KBD_IF "/driver", "bus/usb/drivers/usbhid");
	put(KBD_HID "/report_descriptor", boot_keyboard, sizeof(boot_keyboard));
	puts_attr(KBD_HID, "uevent", "DRIVER=hid-generic\nHID_ID=0003:00001D6B:00000104\n"
				     "HID_NAME=PiKVM PiKVM Composite Device\n"
				     "HID_PHYS=usb-0000:00:04.0-1/input0\nHID_UNIQ=CAFEBABE\n");
	puts_attr(KBD_HID "/input/input3", "name", "PiKVM PiKVM Composite Device\n");
	puts_attr(KBD_HID "/input/input3", "phys", "usb-0000:00:04.0-1/input0\n");
	puts_attr(KBD_HID "/input/input3", "uniq", "CAFEBABE\n");
	puts_attr(KBD_HID "/input/input3/id", "bustype", "0003\n");
	puts_attr(KBD_HID "/input/input3/id", "vendor", "1d6b\n");
	puts_attr(KBD_HID "/input/input3/id", "product", "0104\n");
	puts_attr(KBD_HID "/input/input3/capabilities", "ev", "120013\n");
	puts_attr(KBD_HID "/input/input3/capabilities", "key",
		  "1000000000007 ff800000000007ff febeffdff3cfffff fffffffffffffffe\n");
	puts_attr(KBD_HID "/input/input3", "properties", "0\n");

	puts_attr(MOUSE_IF, "bInterfaceNumber", "01\n");
	puts_attr(MOUSE_IF, "bInterfaceClass", "03\n");
	puts_attr(MOUSE_IF, "bInterfaceSubClass", "00\n");
	puts_attr(MOUSE_IF, "bInterfaceProtocol", "00\n");
	put(MOUSE_HID "/report_descriptor", abs_mouse, sizeof(abs_mouse));
	puts_attr(MOUSE_HID, "uevent", "HID_NAME=PiKVM PiKVM Composite Device\n");
	puts_attr(MOUSE_HID "/input/input4", "name", "PiKVM PiKVM Composite Device Mouse\n");
	puts_attr(MOUSE_HID "/input/input4/id", "bustype", "0003\n");
	puts_attr(MOUSE_HID "/input/input4/capabilities", "ev", "1f\n");
	puts_attr(MOUSE_HID "/input/input4/capabilities", "abs", "3\n");
	puts_attr(MOUSE_HID "/input/input4/capabilities", "rel", "800\n");
	puts_attr(MOUSE_HID "/input/input4/capabilities", "key", "70000 0 0 0 0\n");

	/* a device with hostile strings */
	memset(long_str, 'A', sizeof(long_str) - 2);
	long_str[sizeof(long_str) - 2] = '\n';
	puts_attr(ODD_DEV, "idVendor", "zzzz\n");
	puts_attr(ODD_DEV, "manufacturer", long_str);
	put(ODD_DEV "/product", "Evil\xff\x1b[2J\n", 10);

	/* a uinput device: bus type claims USB, the path says virtual */
	puts_attr(UINPUT, "name", "ydotoold virtual device\n");
	puts_attr(UINPUT "/id", "bustype", "0003\n");
	puts_attr(UINPUT "/capabilities", "ev", "7\n");
	puts_attr(UINPUT "/capabilities", "rel", "3\n");
	puts_attr(UINPUT "/capabilities", "key", "70000 0 0 0 fffffffffffffffe\n");

	make_edid(edid);
	put(CONNECTOR "/edid", edid, sizeof(edid));
	puts_attr(CONNECTOR, "status", "connected\n");
	puts_attr("devices/pci0000:00/0000:00:02.0/drm/card0/card0-DP-1", "status",
		  "disconnected\n");
	put("devices/pci0000:00/0000:00:02.0/drm/card0/card0-DP-1/edid", "", 0);

	/* a device USBGuard blocked: authorized 0, never configured */
	puts_attr(BLOCKED_DEV, "idVendor", "1d6b\n");
	puts_attr(BLOCKED_DEV, "idProduct", "0104\n");
	puts_attr(BLOCKED_DEV, "product", "Blocked Gadget\n");
	puts_attr(BLOCKED_DEV, "authorized", "0\n");
	link_to("bus/usb/devices/1-3", BLOCKED_DEV);

	link_to("bus/usb/devices/1-1", USB_DEV);
	link_to("bus/usb/devices/1-1:1.0", KBD_IF);
	link_to("bus/usb/devices/1-1:1.1", MOUSE_IF);
	link_to("bus/usb/devices/1-2", ODD_DEV);
	link_to("bus/usb/devices/usb1", "devices/pci0000:00/0000:00:04.0/usb1");
	link_to("bus/hid/devices/0003:1D6B:0104.0001", KBD_HID);
	link_to("bus/hid/devices/0003:1D6B:0104.0002", MOUSE_HID);
	link_to(KBD_HID "/input/input3/device", KBD_HID);
	link_to(MOUSE_HID "/input/input4/device", MOUSE_HID);
	link_to("class/input/input3", KBD_HID "/input/input3");
	link_to("class/input/input4", MOUSE_HID "/input/input4");
	link_to("class/input/input9", UINPUT);
	link_to("class/input/event3", KBD_HID "/input/input3");
	link_to("class/drm/card0", "devices/pci0000:00/0000:00:02.0/drm/card0");
	link_to("class/drm/card0-HDMI-A-1", CONNECTOR);
	link_to("class/drm/card0-DP-1", "devices/pci0000:00/0000:00:02.0/drm/card0/card0-DP-1");
}


/* Creates the tree in a fresh temp dir (root); returns 0 or -1. */
static int fake_sysfs_create(void)
{
	snprintf(root, sizeof(root), "/tmp/gw-sysfs.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	build_tree();
	return 0;
}

static int fake_sysfs_remove(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
