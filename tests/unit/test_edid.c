#include "devices/edid.h"
#include "testing.h"

/* Builds a base block like PiKVM's: LNX 0x7770, serial 0x01010101, week 35 of 2016. */
static void make_edid(uint8_t *d, const char *name, const char *serial)
{
	static const uint8_t magic[8] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };
	uint16_t mfg = (uint16_t)(('L' - 'A' + 1) << 10 | ('N' - 'A' + 1) << 5 | ('X' - 'A' + 1));
	uint8_t sum = 0;

	memset(d, 0, 128);
	memcpy(d, magic, 8);
	d[8] = (uint8_t)(mfg >> 8);
	d[9] = (uint8_t)mfg;
	d[10] = 0x70;
	d[11] = 0x77;
	d[12] = d[13] = d[14] = d[15] = 0x01;
	d[16] = 35;
	d[17] = 2016 - 1990;
	d[18] = 1;
	d[19] = 3;
	d[54] = 0x01; /* a detailed timing descriptor first */
	d[55] = 0x1d;
	if (name) {
		uint8_t *desc = d + 72;

		desc[3] = 0xfc;
		memset(desc + 5, ' ', 13);
		memcpy(desc + 5, name, strlen(name) > 13 ? 13 : strlen(name));
		if (strlen(name) < 13)
			desc[5 + strlen(name)] = 0x0a;
	}
	if (serial) {
		uint8_t *desc = d + 90;

		desc[3] = 0xff;
		memset(desc + 5, ' ', 13);
		memcpy(desc + 5, serial, strlen(serial));
		desc[5 + strlen(serial)] = 0x0a;
	}
	for (int i = 0; i < 127; i++)
		sum = (uint8_t)(sum + d[i]);
	d[127] = (uint8_t)(0x100 - sum);
}

TEST(pikvm_edid)
{
	uint8_t d[128];
	struct gw_edid e;

	make_edid(d, "PiKVM", "CAFEBABE");
	REQUIRE(gw_edid_parse(d, sizeof(d), &e) == GW_EDID_OK);
	CHECK_STR(e.manufacturer, "LNX");
	CHECK(e.product_code == 0x7770);
	CHECK(e.serial_number == 0x01010101);
	CHECK(e.week == 35 && e.year == 2016);
	CHECK(e.version == 1 && e.revision == 3);
	CHECK(e.checksum_ok);
	CHECK_STR(e.monitor_name, "PiKVM");
	CHECK_STR(e.monitor_serial, "CAFEBABE");
	CHECK_STR(e.text, "");
}

TEST(bad_checksum_still_parsed_but_flagged)
{
	uint8_t d[128];
	struct gw_edid e;

	make_edid(d, "T749-fHD720", NULL);
	d[127] ^= 1;
	REQUIRE(gw_edid_parse(d, sizeof(d), &e) == GW_EDID_OK);
	CHECK(!e.checksum_ok);
	CHECK_STR(e.monitor_name, "T749-fHD720");
}

TEST(full_13_byte_name_and_hostile_text)
{
	uint8_t d[128];
	struct gw_edid e;

	make_edid(d, "ABCDEFGHIJKLMNOP", NULL);
	REQUIRE(gw_edid_parse(d, sizeof(d), &e) == GW_EDID_OK);
	CHECK_STR(e.monitor_name, "ABCDEFGHIJKLM");
	make_edid(d, "\x1b[2J\xff", NULL);
	REQUIRE(gw_edid_parse(d, sizeof(d), &e) == GW_EDID_OK);
	CHECK_STR(e.monitor_name, "\\x1b[2J\\xff");
}

TEST(short_or_wrong_input_rejected)
{
	uint8_t d[128];
	struct gw_edid e;

	CHECK(gw_edid_parse(NULL, 0, &e) == GW_EDID_ERR_SHORT);
	make_edid(d, "x", NULL);
	CHECK(gw_edid_parse(d, 127, &e) == GW_EDID_ERR_SHORT);
	d[0] = 1;
	CHECK(gw_edid_parse(d, 128, &e) == GW_EDID_ERR_HEADER);
	/* out-of-range manufacturer letters */
	make_edid(d, "x", NULL);
	d[8] = 0x7f;
	d[9] = 0xff;
	REQUIRE(gw_edid_parse(d, 128, &e) == GW_EDID_OK);
	CHECK_STR(e.manufacturer, "???");
}

int main(void)
{
	RUN(pikvm_edid);
	RUN(bad_checksum_still_parsed_but_flagged);
	RUN(full_13_byte_name_and_hostile_text);
	RUN(short_or_wrong_input_rejected);
	return test_summary();
}
