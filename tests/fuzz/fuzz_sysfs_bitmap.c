// fuzz: agent/devices/device_sysfs.c agent/core/small_file.c agent/devices/device_fingerprint.c agent/devices/hid_report.c agent/devices/edid.c common/text_sanitize.c common/text.c
/* Input capability bitmaps as sysfs prints them ("120013", "3 0 0 fffe"), from a kernel we do not
 * control; then classification and the input fingerprint over whatever came out. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device_fingerprint.h"
#include "devices/device_sysfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gw_input_info in;
	struct gw_fingerprints fp;
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&in, 0, sizeof(in));
	gw_sysfs_parse_bitmap(text, in.key_bits, GW_INPUT_KEY_WORDS);
	gw_sysfs_parse_bitmap(text, &in.ev_bits, 1);
	gw_sysfs_parse_bitmap(text, &in.abs_bits, 1);
	in.rel_bits = in.key_bits[1];
	in.prop_bits = in.key_bits[2];
	in.classes = gw_input_classify(&in);
	memcpy(in.dev_name, text, size < sizeof(in.dev_name) ? size : sizeof(in.dev_name) - 1);
	gw_fingerprint_input(&in, &fp);
	free(text);
	return 0;
}
