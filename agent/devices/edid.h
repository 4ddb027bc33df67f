/*
 * edid.h - parses the base block of a monitor's EDID (/sys/class/drm/<card>-<connector>/edid).
 *
 * An IP-KVM's HDMI capture side shows up on the laptop as a monitor, and its EDID names it: PiKVM
 * ships manufacturer "LNX", product 0x7770, name "PiKVM", serial descriptor "CAFEBABE". Only the
 * identity is kept: manufacturer PNP id, product code, serial number, week/year, the monitor name
 * (0xFC) and serial (0xFF) descriptors. The bytes come from the attached device: everything is
 * bounds-checked and the text is sanitized.
 */
#ifndef GW_EDID_H
#define GW_EDID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_EDID_BLOCK 128
#define GW_EDID_TEXT_MAX 64 /* a descriptor holds 13 bytes; escapes can make it 4x longer */

enum gw_edid_status {
	GW_EDID_OK = 0,
	GW_EDID_ERR_SHORT,	/* fewer than 128 bytes (an empty file: nothing connected) */
	GW_EDID_ERR_HEADER,	/* no 00 FF FF FF FF FF FF 00 magic */
};

struct gw_edid {
	char manufacturer[4];	/* PNP id, e.g. "LNX"; "?" for letters out of range */
	uint16_t product_code;
	uint32_t serial_number;
	uint8_t week, version, revision;
	uint16_t year;
	bool checksum_ok;
	uint8_t extensions;	/* extension blocks announced */
	char monitor_name[GW_EDID_TEXT_MAX];	/* 0xFC descriptor, "" when absent */
	char monitor_serial[GW_EDID_TEXT_MAX];	/* 0xFF descriptor */
	char text[GW_EDID_TEXT_MAX];		/* 0xFE unspecified text */
};

enum gw_edid_status gw_edid_parse(const uint8_t *d, size_t len, struct gw_edid *edid);

#endif
