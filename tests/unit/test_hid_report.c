#include "devices/hid_report.h"
#include "hid_descriptors.h"
#include "testing.h"

/* Boot mouse: three buttons, relative X/Y in -127..127. */
static const uint8_t boot_mouse[] = {
	0x05, 0x01, 0x09, 0x02, 0xa1, 0x01, 0x09, 0x01, 0xa1, 0x00, 0x05, 0x09, 0x19, 0x01,
	0x29, 0x03, 0x15, 0x00, 0x25, 0x01, 0x95, 0x03, 0x75, 0x01, 0x81, 0x02, 0x95, 0x01,
	0x75, 0x05, 0x81, 0x01, 0x05, 0x01, 0x09, 0x30, 0x09, 0x31, 0x15, 0x81, 0x25, 0x7f,
	0x75, 0x08, 0x95, 0x02, 0x81, 0x06, 0xc0, 0xc0,
};

/* An IP-KVM style absolute pointer: X/Y 0..32767 (2-byte max), wheel relative. */
static const uint8_t abs_mouse[] = {
	0x05, 0x01, 0x09, 0x02, 0xa1, 0x01, 0x09, 0x01, 0xa1, 0x00, 0x05, 0x09, 0x19, 0x01,
	0x29, 0x03, 0x15, 0x00, 0x25, 0x01, 0x95, 0x03, 0x75, 0x01, 0x81, 0x02, 0x95, 0x01,
	0x75, 0x05, 0x81, 0x01, 0x05, 0x01, 0x09, 0x30, 0x09, 0x31, 0x15, 0x00, 0x26, 0xff,
	0x7f, 0x75, 0x10, 0x95, 0x02, 0x81, 0x02, 0x09, 0x38, 0x15, 0x81, 0x25, 0x7f, 0x75,
	0x08, 0x95, 0x01, 0x81, 0x06, 0xc0, 0xc0,
};

TEST(boot_keyboard_is_keyboard_with_leds)
{
	struct gw_hid_facts f;

	CHECK(gw_hid_report_parse(boot_keyboard, sizeof(boot_keyboard), &f) == 0);
	CHECK(f.caps == (GW_HID_KEYBOARD | GW_HID_LEDS));
	CHECK(f.n_applications == 1);
	CHECK(f.applications[0] == 0x00010006);
	CHECK(f.n_report_ids == 0);
}

TEST(boot_mouse_is_relative)
{
	struct gw_hid_facts f;

	CHECK(gw_hid_report_parse(boot_mouse, sizeof(boot_mouse), &f) == 0);
	CHECK(f.caps == (GW_HID_MOUSE | GW_HID_REL_XY | GW_HID_BUTTONS));
}

TEST(kvm_absolute_pointer_range)
{
	struct gw_hid_facts f;
	char names[128];

	CHECK(gw_hid_report_parse(abs_mouse, sizeof(abs_mouse), &f) == 0);
	CHECK(f.caps & GW_HID_ABS_XY);
	CHECK(!(f.caps & GW_HID_REL_XY));
	CHECK(f.caps & GW_HID_WHEEL);
	CHECK(f.abs_x.min == 0 && f.abs_x.max == 32767);
	CHECK(f.abs_y.min == 0 && f.abs_y.max == 32767);
	gw_hid_caps_string(f.caps, names, sizeof(names));
	CHECK_STR(names, "mouse,abs_xy,buttons,wheel");
}

TEST(short_logical_max_read_unsigned)
{
	/* Logical Max 0xFF in one byte reads -1 signed: the kernel (and we) take it as 255 */
	static const uint8_t d[] = { 0x05, 0x01, 0x09, 0x01, 0xa1, 0x01, 0x09, 0x30, 0x09, 0x31,
				     0x15, 0x00, 0x25, 0xff, 0x75, 0x08, 0x95, 0x02, 0x81, 0x02,
				     0xc0 };
	struct gw_hid_facts f;

	CHECK(gw_hid_report_parse(d, sizeof(d), &f) == 0);
	CHECK(f.caps & GW_HID_ABS_XY);
	CHECK(f.abs_x.max == 255);
}

TEST(composite_with_report_ids_and_push_pop)
{
	/* keyboard (id 1) + consumer (id 2) + vendor (id 3), a push/pop around the consumer page */
	static const uint8_t d[] = {
		0x05, 0x01, 0x09, 0x06, 0xa1, 0x01, 0x85, 0x01, 0x05, 0x07, 0x19, 0x00, 0x29, 0x65,
		0x81, 0x00, 0xc0, 0xa4, 0x05, 0x0c, 0x09, 0x01, 0xa1, 0x01, 0x85, 0x02, 0x09, 0xe9,
		0x81, 0x02, 0xc0, 0xb4, 0x06, 0x00, 0xff, 0x09, 0x01, 0xa1, 0x01, 0x85, 0x03, 0x85,
		0x03, 0x09, 0x01, 0x81, 0x02, 0xc0,
	};
	struct gw_hid_facts f;

	CHECK(gw_hid_report_parse(d, sizeof(d), &f) == 0);
	CHECK(f.caps == (GW_HID_KEYBOARD | GW_HID_CONSUMER | GW_HID_VENDOR));
	CHECK(f.n_report_ids == 3);
	CHECK(f.n_applications == 3);
	CHECK(f.applications[1] == 0x000c0001);
	CHECK(f.applications[2] == 0xff000001);
}

TEST(touchscreen_digitizer)
{
	static const uint8_t d[] = { 0x05, 0x0d, 0x09, 0x04, 0xa1, 0x01, 0x09, 0x42, 0x15, 0x00,
				     0x25, 0x01, 0x75, 0x01, 0x95, 0x01, 0x81, 0x02, 0x05, 0x01,
				     0x09, 0x30, 0x09, 0x31, 0x26, 0x00, 0x10, 0x75, 0x10, 0x95,
				     0x02, 0x81, 0x02, 0xc0 };
	struct gw_hid_facts f;

	CHECK(gw_hid_report_parse(d, sizeof(d), &f) == 0);
	CHECK(f.caps == (GW_HID_DIGITIZER | GW_HID_TOUCH | GW_HID_ABS_XY));
	CHECK(f.abs_x.max == 4096);
}

TEST(keyboard_page_outside_keyboard_app_is_not_keyboard)
{
	static const uint8_t d[] = { 0x06, 0x00, 0xff, 0x09, 0x01, 0xa1, 0x01, 0x05, 0x07, 0x19,
				     0x00, 0x29, 0x65, 0x81, 0x00, 0xc0 };
	struct gw_hid_facts f;

	CHECK(gw_hid_report_parse(d, sizeof(d), &f) == 0);
	CHECK(f.caps == GW_HID_VENDOR);
}

TEST(hostile_descriptors_flagged)
{
	uint8_t d[256];
	struct gw_hid_facts f;

	CHECK(gw_hid_report_parse(NULL, 0, &f) == -1);
	CHECK(f.errors == GW_HID_ERR_EMPTY);
	/* item claims 4 data bytes, has 1 */
	CHECK(gw_hid_report_parse((const uint8_t[]){ 0x27, 0xff }, 2, &f) == -1);
	CHECK(f.errors & GW_HID_ERR_TRUNCATED);
	/* long item running past the end */
	CHECK(gw_hid_report_parse((const uint8_t[]){ 0xfe, 0x10, 0x00, 0x01 }, 4, &f) == -1);
	CHECK(f.errors & GW_HID_ERR_TRUNCATED);
	/* a well-formed long item is skipped */
	CHECK(gw_hid_report_parse((const uint8_t[]){ 0xfe, 0x01, 0x00, 0x01 }, 4, &f) == 0);
	/* pop without push, end collection without collection, unclosed collections */
	CHECK(gw_hid_report_parse((const uint8_t[]){ 0xb4 }, 1, &f) == -1);
	CHECK(f.errors & GW_HID_ERR_STACK);
	CHECK(gw_hid_report_parse((const uint8_t[]){ 0xc0 }, 1, &f) == -1);
	memset(d, 0xa1, sizeof(d));
	for (size_t i = 1; i < sizeof(d); i += 2)
		d[i] = 0x00;
	CHECK(gw_hid_report_parse(d, sizeof(d), &f) == -1);
	CHECK(f.errors & GW_HID_ERR_STACK);
	/* too many pushes */
	memset(d, 0xa4, sizeof(d));
	CHECK(gw_hid_report_parse(d, 20, &f) == -1);
	CHECK(f.errors & GW_HID_ERR_STACK);
	/* too many usages */
	for (size_t i = 0; i < sizeof(d); i += 2) {
		d[i] = 0x09;
		d[i + 1] = 0x30;
	}
	CHECK(gw_hid_report_parse(d, sizeof(d), &f) == -1);
	CHECK(f.errors & GW_HID_ERR_TOO_MANY_USAGES);
	/* reserved item type */
	CHECK(gw_hid_report_parse((const uint8_t[]){ 0x0c }, 1, &f) == -1);
	CHECK(f.errors & GW_HID_ERR_RESERVED);
}

int main(void)
{
	RUN(boot_keyboard_is_keyboard_with_leds);
	RUN(boot_mouse_is_relative);
	RUN(kvm_absolute_pointer_range);
	RUN(short_logical_max_read_unsigned);
	RUN(composite_with_report_ids_and_push_pop);
	RUN(touchscreen_digitizer);
	RUN(keyboard_page_outside_keyboard_app_is_not_keyboard);
	RUN(hostile_descriptors_flagged);
	return test_summary();
}
