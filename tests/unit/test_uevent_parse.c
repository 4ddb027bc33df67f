#include <stdlib.h>

#include "testing.h"
#include "core/uevent_parse.h"

#define MSG(s) s, sizeof(s) - 1

static struct gw_uevent ev;

TEST(usb_add_parsed)
{
	static const char m[] =
		"add@/devices/pci0000:00/0000:00:04.0/usb1/1-1\0ACTION=add\0"
		"DEVPATH=/devices/pci0000:00/0000:00:04.0/usb1/1-1\0SUBSYSTEM=usb\0"
		"MAJOR=189\0MINOR=1\0DEVNAME=bus/usb/001/002\0DEVTYPE=usb_device\0"
		"PRODUCT=1d6b/104/100\0TYPE=0/0/0\0BUSNUM=001\0DEVNUM=002\0SEQNUM=2417\0";

	REQUIRE(gw_uevent_parse(MSG(m), &ev) == GW_UEVENT_OK);
	CHECK(ev.action == GW_UEVENT_ADD);
	CHECK_STR(ev.action_name, "add");
	CHECK_STR(ev.devpath, "/devices/pci0000:00/0000:00:04.0/usb1/1-1");
	CHECK_STR(ev.subsystem, "usb");
	CHECK_STR(ev.devtype, "usb_device");
	CHECK_STR(ev.devname, "bus/usb/001/002");
	CHECK(ev.seqnum == 2417);
	CHECK_STR(gw_uevent_get(&ev, "PRODUCT"), "1d6b/104/100");
	CHECK(gw_uevent_get(&ev, "NOPE") == NULL);
	CHECK(ev.flags == 0);
	CHECK(ev.nvars == 12);
}

TEST(bind_and_remove_actions)
{
	REQUIRE(gw_uevent_parse(MSG("bind@/devices/x/1-1\0SUBSYSTEM=usb\0DRIVER=usb\0"), &ev) ==
		GW_UEVENT_OK);
	CHECK(ev.action == GW_UEVENT_BIND);
	REQUIRE(gw_uevent_parse(MSG("remove@/devices/virtual/input/input9\0SUBSYSTEM=input\0"),
				&ev) == GW_UEVENT_OK);
	CHECK(ev.action == GW_UEVENT_REMOVE);
}

TEST(rejects_bad_headers)
{
	CHECK(gw_uevent_parse("", 0, &ev) == GW_UEVENT_ERR_EMPTY);
	CHECK(gw_uevent_parse(NULL, 5, &ev) == GW_UEVENT_ERR_EMPTY);
	CHECK(gw_uevent_parse(MSG("libudev\0\xfe\xed\xca\xfe"), &ev) == GW_UEVENT_ERR_UDEV);
	CHECK(gw_uevent_parse(MSG("add/devices/x\0SUBSYSTEM=usb\0"), &ev) == GW_UEVENT_ERR_HEADER);
	CHECK(gw_uevent_parse(MSG("explode@/devices/x\0SUBSYSTEM=usb\0"), &ev) ==
	      GW_UEVENT_ERR_HEADER);
	CHECK(gw_uevent_parse(MSG("add@devices\0SUBSYSTEM=usb\0"), &ev) == GW_UEVENT_ERR_HEADER);
	CHECK(gw_uevent_parse(MSG("@/devices\0SUBSYSTEM=usb\0"), &ev) == GW_UEVENT_ERR_HEADER);
	CHECK(gw_uevent_parse(MSG("add@/devices/x\0DEVTYPE=usb_device\0"), &ev) ==
	      GW_UEVENT_ERR_NO_SUBSYSTEM);
	CHECK(gw_uevent_parse(MSG("add@/devices/x\0SUBSYSTEM=\0"), &ev) ==
	      GW_UEVENT_ERR_NO_SUBSYSTEM);
}

TEST(header_must_agree_with_variables)
{
	CHECK(gw_uevent_parse(MSG("add@/devices/x\0ACTION=remove\0SUBSYSTEM=usb\0"), &ev) ==
	      GW_UEVENT_ERR_MISMATCH);
	CHECK(gw_uevent_parse(MSG("add@/devices/x\0DEVPATH=/devices/y\0SUBSYSTEM=usb\0"), &ev) ==
	      GW_UEVENT_ERR_MISMATCH);
}

TEST(bad_variables_skipped_and_counted)
{
	REQUIRE(gw_uevent_parse(MSG("add@/devices/x\0junk\0=v\0lower=x\0SUBSYSTEM=hid\0\0\0"
				    "HID_NAME=a=b"), &ev) == GW_UEVENT_OK);
	CHECK(ev.bad_vars == 3);
	CHECK(ev.flags & GW_UEVENT_BAD_VAR);
	CHECK(ev.flags & GW_UEVENT_UNTERMINATED);
	CHECK_STR(gw_uevent_get(&ev, "HID_NAME"), "a=b");
	CHECK(ev.seqnum == 0);
}

TEST(first_key_wins_and_seqnum_must_be_numeric)
{
	REQUIRE(gw_uevent_parse(MSG("add@/devices/x\0SUBSYSTEM=usb\0SUBSYSTEM=input\0SEQNUM=12ab\0"),
				&ev) == GW_UEVENT_OK);
	CHECK_STR(ev.subsystem, "usb");
	CHECK(ev.seqnum == 0);
}

TEST(bounded_size_and_variable_count)
{
	char *big = malloc(GW_UEVENT_MAX_SIZE + 100);
	size_t len = 0;

	REQUIRE(big);
	CHECK(gw_uevent_parse(big, GW_UEVENT_MAX_SIZE + 1, &ev) == GW_UEVENT_ERR_TOO_BIG);
	len += (size_t)sprintf(big, "add@/devices/x") + 1;
	len += (size_t)sprintf(big + len, "SUBSYSTEM=usb") + 1;
	for (int i = 0; i < 200; i++)
		len += (size_t)sprintf(big + len, "K%d=v", i) + 1;
	REQUIRE(len <= GW_UEVENT_MAX_SIZE);
	CHECK(gw_uevent_parse(big, len, &ev) == GW_UEVENT_OK);
	CHECK(ev.nvars == GW_UEVENT_MAX_VARS);
	CHECK(ev.flags & GW_UEVENT_TOO_MANY);
	/* exactly the maximum size is accepted, and the value keeps its bytes */
	memset(big, 'A', GW_UEVENT_MAX_SIZE);
	memcpy(big, "add@/d\0SUBSYSTEM=usb\0X=", 23);
	CHECK(gw_uevent_parse(big, GW_UEVENT_MAX_SIZE, &ev) == GW_UEVENT_OK);
	CHECK(strlen(gw_uevent_get(&ev, "X")) == GW_UEVENT_MAX_SIZE - 23);
	free(big);
}

TEST(status_names)
{
	CHECK_STR(gw_uevent_status_name(GW_UEVENT_ERR_UDEV), "udev_format");
	CHECK_STR(gw_uevent_status_name(GW_UEVENT_ERR_MAX), "unknown");
}

int main(void)
{
	RUN(usb_add_parsed);
	RUN(bind_and_remove_actions);
	RUN(rejects_bad_headers);
	RUN(header_must_agree_with_variables);
	RUN(bad_variables_skipped_and_counted);
	RUN(first_key_wins_and_seqnum_must_be_numeric);
	RUN(bounded_size_and_variable_count);
	RUN(status_names);
	return test_summary();
}
