/*
 * device_fingerprint.h - stable SHA-256 fingerprints of devices, so a fleet can see the same KVM
 * box, or the same default identity (PiKVM's serial CAFEBABE), on many hosts.
 *
 * Two per device:
 *  - model: what the device claims to be, without the serial: VID, PID, bcdDevice, classes,
 *    manufacturer, product, interface classes and the HID report descriptors (for USB); bus, VID,
 *    PID, name and report descriptor (for HID); bus, VID, PID, version, name and capability bits
 *    (for input); manufacturer, product code and name (for monitors).
 *    Every PiKVM with default settings has the same model fingerprint.
 *  - instance: the model plus the serial. Equal instance fingerprints on two hosts mean one box
 *    moved, or a cloned/default serial.
 * Host-specific facts (bus number, port path, speed, input numbering) are left out on purpose.
 * The input is a tagged, length-prefixed encoding, so no two field lists hash alike.
 */
#ifndef GW_DEVICE_FINGERPRINT_H
#define GW_DEVICE_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

#include "device_sysfs.h"

#define GW_FP_LEN 32
#define GW_FP_HEX_LEN (2 * GW_FP_LEN + 1)

struct gw_fingerprints {
	uint8_t model[GW_FP_LEN];
	uint8_t instance[GW_FP_LEN];
};

/* Return 0, or -1 when libcrypto fails (out of memory). */
int gw_fingerprint_usb(const struct gw_usb_info *usb, struct gw_fingerprints *fp);
int gw_fingerprint_hid(const struct gw_hid_info *hid, struct gw_fingerprints *fp);
int gw_fingerprint_input(const struct gw_input_info *in, struct gw_fingerprints *fp);
int gw_fingerprint_monitor(const struct gw_edid *edid, struct gw_fingerprints *fp);

/* digest = SHA-256(digest || data): folds a list of blobs into one digest, order-sensitive. */
int gw_sha256_chain(uint8_t digest[GW_FP_LEN], const void *data, size_t len);

void gw_fingerprint_hex(const uint8_t fp[GW_FP_LEN], char out[GW_FP_HEX_LEN]);

#endif
