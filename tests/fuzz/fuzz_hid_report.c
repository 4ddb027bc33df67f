// fuzz: agent/devices/hid_report.c
#include <stdint.h>
#include <stdlib.h>

#include "devices/hid_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_hid_facts f;
	char caps[256];

	if (size > GW_HID_DESCRIPTOR_MAX)
		size = GW_HID_DESCRIPTOR_MAX;
	gw_hid_report_parse(data, size, &f);
	if (f.n_report_ids > 255)
		abort();
	gw_hid_caps_string(f.caps, caps, sizeof(caps));
	gw_hid_caps_string(f.caps, caps, 5);
	return 0;
}
