#include "edid.h"

#include <string.h>

#include "common/text_sanitize.h"

static const uint8_t edid_magic[8] = { 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00 };

#define DESCRIPTOR_FIRST 54
#define DESCRIPTOR_SIZE 18
#define DESCRIPTOR_COUNT 4
#define DESCRIPTOR_TEXT_LEN 13
#define TAG_MONITOR_SERIAL 0xff
#define TAG_TEXT 0xfe
#define TAG_MONITOR_NAME 0xfc

/* Descriptor text ends at the first 0x0A and is padded with spaces. */
static void descriptor_text(char *dst, size_t size, const uint8_t *text)
{
	size_t n = 0;

	while (n < DESCRIPTOR_TEXT_LEN && text[n] != 0x0a)
		n++;
	while (n > 0 && text[n - 1] == ' ')
		n--;
	gw_text_sanitize(dst, size, text, n);
}

enum gw_edid_status gw_edid_parse(const uint8_t *d, size_t len, struct gw_edid *e)
{
	uint8_t sum = 0;
	uint16_t mfg;

	memset(e, 0, sizeof(*e));
	if (!d || len < GW_EDID_BLOCK)
		return GW_EDID_ERR_SHORT;
	if (memcmp(d, edid_magic, sizeof(edid_magic)) != 0)
		return GW_EDID_ERR_HEADER;
	for (size_t i = 0; i < GW_EDID_BLOCK; i++)
		sum = (uint8_t)(sum + d[i]);
	e->checksum_ok = sum == 0;

	/* three 5-bit letters, 1 = 'A', big-endian */
	mfg = (uint16_t)(d[8] << 8 | d[9]);
	for (int i = 0; i < 3; i++) {
		unsigned letter = (mfg >> (10 - 5 * i)) & 0x1f;

		e->manufacturer[i] = letter >= 1 && letter <= 26 ? (char)('A' + letter - 1) : '?';
	}
	e->product_code = (uint16_t)(d[10] | d[11] << 8);
	e->serial_number = (uint32_t)d[12] | (uint32_t)d[13] << 8 | (uint32_t)d[14] << 16 |
			   (uint32_t)d[15] << 24;
	e->week = d[16];
	e->year = (uint16_t)(1990 + d[17]);
	e->version = d[18];
	e->revision = d[19];
	e->extensions = d[126];

	for (int i = 0; i < DESCRIPTOR_COUNT; i++) {
		const uint8_t *desc = d + DESCRIPTOR_FIRST + i * DESCRIPTOR_SIZE;

		/* display descriptors start 00 00 00 <tag> 00; others are detailed timings */
		if (desc[0] != 0 || desc[1] != 0 || desc[2] != 0)
			continue;
		switch (desc[3]) {
		case TAG_MONITOR_NAME:
			if (!e->monitor_name[0])
				descriptor_text(e->monitor_name, sizeof(e->monitor_name), desc + 5);
			break;
		case TAG_MONITOR_SERIAL:
			if (!e->monitor_serial[0])
				descriptor_text(e->monitor_serial, sizeof(e->monitor_serial), desc + 5);
			break;
		case TAG_TEXT:
			if (!e->text[0])
				descriptor_text(e->text, sizeof(e->text), desc + 5);
			break;
		default:
			break;
		}
	}
	return GW_EDID_OK;
}
