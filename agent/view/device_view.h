/*
 * device_view.h - the compact debug line of a device event: what it is, its identity, and which
 * path saw it, e.g.
 *   attach usb 1-1 1d6b:0104 "PiKVM" "PiKVM Composite Device" serial=CAFEBABE 480M
 *          ifaces=hid_boot_keyboard,hid hid=keyboard,abs_xy[0..32767] via=fentry fp=3f2a91c0
 */
#ifndef GW_DEVICE_VIEW_H
#define GW_DEVICE_VIEW_H

#include <stdio.h>

#include "ghostwatch.pb-c.h"

/* Writes the line body (no time, tag or newline). Strings are escaped for the terminal. */
void device_view_write(FILE *out, const Ghostwatch__V1__DeviceEvent *d);

#endif
