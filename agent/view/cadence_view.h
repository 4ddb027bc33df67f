/*
 * cadence_view.h - the compact debug line of an input cadence window: the device, its kind, typing
 * rhythm and pointer bursts, e.g.
 *   input7 "QEMU QEMU USB Tablet" usb keys=0 motion=24 clicks=0 bursts=2 still=2/2
 *          period=2000ms+-1% jiggler=1.00 via=fentry/input_handle_event
 *   input9 "gw cadence injector" uinput keys=6 interval=185ms hold=65ms coalesced=0%
 *          injector=gw-uinput[412] via=fentry/input_handle_event
 */
#ifndef GW_CADENCE_VIEW_H
#define GW_CADENCE_VIEW_H

#include <stdio.h>

#include "ghostwatch.pb-c.h"

/* Writes the line body (no time, tag or newline). Strings are escaped for the terminal. */
void cadence_view_write(FILE *out, const Ghostwatch__V1__InputCadence *c);

#endif
