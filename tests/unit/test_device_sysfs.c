/* The sysfs readers and fingerprints against a fake sysfs tree built in a temp dir. */
#include "devices/device_fingerprint.h"
#include "devices/device_sysfs.h"
#include "fake_sysfs.h"
#include "testing.h"

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
	CHECK(u.authorized);
	REQUIRE(gw_sysfs_read_usb(root, "1-3", &u) == 0);
	CHECK(!u.authorized);
	CHECK(u.n_interfaces == 0);
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

	CHECK(!in.has_abs_range);

	REQUIRE(gw_sysfs_read_input(root, "input4", &in) == 0);
	CHECK(in.classes == GW_INPUT_ABS_POINTER);
	/* sysfs has no absinfo: the range comes from the parent HID's report descriptor */
	CHECK(in.has_abs_range);
	CHECK(in.abs_x.min == 0 && in.abs_x.max == 32767 && in.abs_y.max == 32767);

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
	CHECK(gw_sysfs_list(root, GW_SYSFS_USB, collect, out) == 3);
	CHECK_STR(out, "1-1 1-2 1-3 ");
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
	int rc;

	if (fake_sysfs_create())
		return 1;
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
	if (fake_sysfs_remove())
		rc = 1;
	return rc;
}
