/* The sysfs readers and fingerprints against a fake sysfs tree built in a temp dir. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device_fingerprint.h"
#include "device_sysfs.h"
#include "testing.h"

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

static const uint8_t boot_keyboard[] = {
	0x05, 0x01, 0x09, 0x06, 0xa1, 0x01, 0x05, 0x07, 0x19, 0xe0, 0x29, 0xe7, 0x15, 0x00,
	0x25, 0x01, 0x75, 0x01, 0x95, 0x08, 0x81, 0x02, 0x95, 0x01, 0x75, 0x08, 0x81, 0x01,
	0x95, 0x05, 0x75, 0x01, 0x05, 0x08, 0x19, 0x01, 0x29, 0x05, 0x91, 0x02, 0x95, 0x01,
	0x75, 0x03, 0x91, 0x01, 0x95, 0x06, 0x75, 0x08, 0x15, 0x00, 0x25, 0x65, 0x05, 0x07,
	0x19, 0x00, 0x29, 0x65, 0x81, 0x00, 0xc0,
};

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

	link_to("bus/usb/devices/1-1", USB_DEV);
	link_to("bus/usb/devices/1-1:1.0", KBD_IF);
	link_to("bus/usb/devices/1-1:1.1", MOUSE_IF);
	link_to("bus/usb/devices/1-2", ODD_DEV);
	link_to("bus/usb/devices/usb1", "devices/pci0000:00/0000:00:04.0/usb1");
	link_to("bus/hid/devices/0003:1D6B:0104.0001", KBD_HID);
	link_to("bus/hid/devices/0003:1D6B:0104.0002", MOUSE_HID);
	link_to("class/input/input3", KBD_HID "/input/input3");
	link_to("class/input/input4", MOUSE_HID "/input/input4");
	link_to("class/input/input9", UINPUT);
	link_to("class/input/event3", KBD_HID "/input/input3");
	link_to("class/drm/card0", "devices/pci0000:00/0000:00:02.0/drm/card0");
	link_to("class/drm/card0-HDMI-A-1", CONNECTOR);
	link_to("class/drm/card0-DP-1", "devices/pci0000:00/0000:00:02.0/drm/card0/card0-DP-1");
}

TEST(usb_device_full_identity)
{
	struct gw_usb_info u;

	REQUIRE(gw_sysfs_read_usb(root, "1-1", &u) == 0);
	CHECK(u.vendor_id == 0x1d6b && u.product_id == 0x0104 && u.bcd_device == 0x0100);
	CHECK_STR(u.manufacturer, "PiKVM");
	CHECK_STR(u.product, "PiKVM Composite Device");
	CHECK_STR(u.serial, "CAFEBABE");
	CHECK_STR(u.usb_version, "2.00");
	CHECK_STR(u.port_path, "1");
	CHECK_STR(u.speed, "480");
	CHECK_STR(u.removable, "removable");
	CHECK(u.busnum == 1 && u.devnum == 2);
	REQUIRE(u.n_interfaces == 2);
	CHECK(u.interfaces[0].iface_class == 3 && u.interfaces[0].iface_subclass == 1 &&
	      u.interfaces[0].iface_protocol == 1);
	CHECK_STR(u.interfaces[0].driver, "usbhid");
	CHECK(u.interfaces[1].number == 1 && u.interfaces[1].iface_protocol == 0);
	CHECK(u.n_hid == 2);
	CHECK(u.hid_caps & GW_HID_KEYBOARD);
	CHECK(u.hid_caps & GW_HID_ABS_XY);
	CHECK(u.abs_x.max == 32767 && u.abs_y.max == 32767);
	CHECK(u.string_flags == 0);
}

TEST(odd_strings_bounded_and_escaped)
{
	struct gw_usb_info u;

	REQUIRE(gw_sysfs_read_usb(root, "1-2", &u) == 0);
	CHECK(u.vendor_id == 0); /* "zzzz" is not hex: left unknown */
	CHECK(strlen(u.manufacturer) == GW_DEV_STR_MAX - 1);
	CHECK_STR(u.product, "Evil\\xff\\x1b[2J");
	CHECK(u.string_flags == (GW_DEV_STR_ESCAPED | GW_DEV_STR_TRUNCATED));
	CHECK(u.n_interfaces == 0);
	CHECK_STR(u.port_path, "2"); /* from the name when devpath is missing */
}

TEST(missing_and_hostile_names)
{
	struct gw_usb_info u;
	struct gw_input_info in;

	CHECK(gw_sysfs_read_usb(root, "9-9", &u) == -ENOENT);
	CHECK(gw_sysfs_read_usb(root, "../../etc", &u) == -EINVAL);
	CHECK(gw_sysfs_read_usb(root, "..", &u) == -EINVAL);
	CHECK(gw_sysfs_read_input(root, "", &in) == -EINVAL);
}

TEST(hid_device)
{
	static struct gw_hid_info h;

	REQUIRE(gw_sysfs_read_hid(root, "0003:1D6B:0104.0001", &h) == 0);
	CHECK(h.bus == 3 && h.vendor_id == 0x1d6b && h.product_id == 0x0104);
	CHECK_STR(h.hid_name, "PiKVM PiKVM Composite Device");
	CHECK_STR(h.uniq, "CAFEBABE");
	CHECK_STR(h.usb_parent, "1-1");
	CHECK(h.descriptor_len == sizeof(boot_keyboard));
	CHECK(h.facts.caps & GW_HID_KEYBOARD);
	REQUIRE(gw_sysfs_read_hid(root, "0003:1D6B:0104.0002", &h) == 0);
	CHECK(h.facts.caps & GW_HID_ABS_XY);
}

TEST(input_devices)
{
	struct gw_input_info in;
	char buf[16];

	REQUIRE(gw_sysfs_read_input(root, "input3", &in) == 0);
	CHECK_STR(in.dev_name, "PiKVM PiKVM Composite Device");
	CHECK(in.bustype == 3 && in.vendor_id == 0x1d6b);
	CHECK_STR(gw_bus_type_name(in.bustype, buf, sizeof(buf)), "usb");
	CHECK(!in.is_virtual);
	CHECK_STR(in.usb_parent, "1-1");
	CHECK(in.classes == GW_INPUT_KEYBOARD);
	CHECK(strncmp(in.devpath, "/devices/pci0000:00/", 20) == 0);

	REQUIRE(gw_sysfs_read_input(root, "input4", &in) == 0);
	CHECK(in.classes == GW_INPUT_ABS_POINTER);

	REQUIRE(gw_sysfs_read_input(root, "input9", &in) == 0);
	CHECK(in.is_virtual);
	CHECK_STR(in.usb_parent, "");
	CHECK(in.classes == (GW_INPUT_KEYBOARD | GW_INPUT_REL_POINTER));
	CHECK_STR(in.devpath, "/devices/virtual/input/input9");
	CHECK_STR(gw_bus_type_name(0x1234, buf, sizeof(buf)), "0x1234");
}

TEST(bitmap_parsing)
{
	uint64_t w[4];

	gw_sysfs_parse_bitmap("1 0 ffff\n", w, 4);
	CHECK(w[0] == 0xffff && w[1] == 0 && w[2] == 1 && w[3] == 0);
	gw_sysfs_parse_bitmap("", w, 4);
	CHECK(w[0] == 0);
	gw_sysfs_parse_bitmap("zz 12345678901234567 5", w, 4);
	CHECK(w[0] == 5 && w[1] == 0 && w[2] == 0);
	gw_sysfs_parse_bitmap("1 2 3 4 5 6", w, 2);
	CHECK(w[0] == 6 && w[1] == 5);
}

TEST(monitor_edid)
{
	struct gw_monitor_info m;

	REQUIRE(gw_sysfs_read_monitor(root, "card0-HDMI-A-1", &m) == 0);
	CHECK_STR(m.status, "connected");
	REQUIRE(m.has_edid);
	CHECK_STR(m.edid.manufacturer, "LNX");
	CHECK(m.edid.product_code == 0x7770);
	CHECK_STR(m.edid.monitor_name, "PiKVM");
	CHECK_STR(m.edid.monitor_serial, "CAFEBABE");
	REQUIRE(gw_sysfs_read_monitor(root, "card0-DP-1", &m) == 0);
	CHECK(!m.has_edid);
	CHECK(m.edid_status == GW_EDID_ERR_SHORT);
}

static void collect(const char *name, void *ctx)
{
	char *out = ctx;

	strcat(out, name);
	strcat(out, " ");
}

TEST(listing_in_name_order)
{
	char out[512];

	out[0] = '\0';
	CHECK(gw_sysfs_list(root, GW_SYSFS_USB, collect, out) == 2);
	CHECK_STR(out, "1-1 1-2 ");
	out[0] = '\0';
	CHECK(gw_sysfs_list(root, GW_SYSFS_HID, collect, out) == 2);
	out[0] = '\0';
	CHECK(gw_sysfs_list(root, GW_SYSFS_INPUT, collect, out) == 3);
	CHECK_STR(out, "input3 input4 input9 ");
	out[0] = '\0';
	CHECK(gw_sysfs_list(root, GW_SYSFS_DRM, collect, out) == 2);
	CHECK_STR(out, "card0-DP-1 card0-HDMI-A-1 ");
	CHECK(gw_sysfs_list("/nonexistent", GW_SYSFS_USB, collect, out) == -ENOENT);
}

TEST(fingerprints_stable_and_host_independent)
{
	struct gw_usb_info u, v;
	struct gw_fingerprints a, b;
	char hex[GW_FP_HEX_LEN];

	REQUIRE(gw_sysfs_read_usb(root, "1-1", &u) == 0);
	REQUIRE(gw_fingerprint_usb(&u, &a) == 0);
	/* the same box on another host: other bus, port and device numbers */
	v = u;
	v.busnum = 3;
	v.devnum = 17;
	snprintf(v.port_path, sizeof(v.port_path), "2.4");
	snprintf(v.speed, sizeof(v.speed), "12");
	REQUIRE(gw_fingerprint_usb(&v, &b) == 0);
	CHECK(memcmp(a.model, b.model, GW_FP_LEN) == 0);
	CHECK(memcmp(a.instance, b.instance, GW_FP_LEN) == 0);
	/* another PiKVM with a changed serial: same model, different instance */
	snprintf(v.serial, sizeof(v.serial), "DEADBEEF");
	REQUIRE(gw_fingerprint_usb(&v, &b) == 0);
	CHECK(memcmp(a.model, b.model, GW_FP_LEN) == 0);
	CHECK(memcmp(a.instance, b.instance, GW_FP_LEN) != 0);
	/* a different report descriptor changes the model */
	v.hid_digest[0] ^= 1;
	REQUIRE(gw_fingerprint_usb(&v, &b) == 0);
	CHECK(memcmp(a.model, b.model, GW_FP_LEN) != 0);
	gw_fingerprint_hex(a.model, hex);
	CHECK(strlen(hex) == 64);
	printf("# pikvm model fingerprint %s\n", hex);
}

TEST(fingerprint_fields_do_not_run_together)
{
	struct gw_usb_info u, v;
	struct gw_fingerprints a, b;

	memset(&u, 0, sizeof(u));
	memset(&v, 0, sizeof(v));
	snprintf(u.manufacturer, sizeof(u.manufacturer), "Pi");
	snprintf(u.product, sizeof(u.product), "KVM");
	snprintf(v.manufacturer, sizeof(v.manufacturer), "PiK");
	snprintf(v.product, sizeof(v.product), "VM");
	REQUIRE(gw_fingerprint_usb(&u, &a) == 0 && gw_fingerprint_usb(&v, &b) == 0);
	CHECK(memcmp(a.model, b.model, GW_FP_LEN) != 0);
}

TEST(hid_and_monitor_fingerprints)
{
	static struct gw_hid_info h;
	struct gw_monitor_info m;
	struct gw_fingerprints a, b;

	REQUIRE(gw_sysfs_read_hid(root, "0003:1D6B:0104.0001", &h) == 0);
	REQUIRE(gw_fingerprint_hid(&h, &a) == 0);
	h.descriptor[0] ^= 1;
	REQUIRE(gw_fingerprint_hid(&h, &b) == 0);
	CHECK(memcmp(a.model, b.model, GW_FP_LEN) != 0);
	REQUIRE(gw_sysfs_read_monitor(root, "card0-HDMI-A-1", &m) == 0);
	REQUIRE(gw_fingerprint_monitor(&m.edid, &a) == 0);
	m.edid.serial_number++;
	REQUIRE(gw_fingerprint_monitor(&m.edid, &b) == 0);
	CHECK(memcmp(a.model, b.model, GW_FP_LEN) == 0);
	CHECK(memcmp(a.instance, b.instance, GW_FP_LEN) != 0);
}

int main(void)
{
	char cmd[128];
	int rc;

	snprintf(root, sizeof(root), "/tmp/gw-sysfs.XXXXXX");
	if (!mkdtemp(root))
		return 1;
	build_tree();
	RUN(usb_device_full_identity);
	RUN(odd_strings_bounded_and_escaped);
	RUN(missing_and_hostile_names);
	RUN(hid_device);
	RUN(input_devices);
	RUN(bitmap_parsing);
	RUN(monitor_edid);
	RUN(listing_in_name_order);
	RUN(fingerprints_stable_and_host_independent);
	RUN(fingerprint_fields_do_not_run_together);
	RUN(hid_and_monitor_fingerprints);
	rc = test_summary();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
