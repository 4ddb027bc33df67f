// fuzz: agent/devices/edid.c common/text_sanitize.c common/text.c
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/edid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t magic[8] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };
	uint8_t block[GW_EDID_BLOCK];
	struct gw_edid e;

	/* most random inputs fail the magic; also parse them with the magic forced in */
	if (size >= GW_EDID_BLOCK) {
		memcpy(block, data, sizeof(block));
		memcpy(block, magic, sizeof(magic));
		gw_edid_parse(block, sizeof(block), &e);
	}
	if (gw_edid_parse(data, size, &e) == GW_EDID_OK) {
		if (strlen(e.monitor_name) >= sizeof(e.monitor_name) ||
		    strlen(e.monitor_serial) >= sizeof(e.monitor_serial) || strlen(e.manufacturer) != 3)
			abort();
	}
	return 0;
}
