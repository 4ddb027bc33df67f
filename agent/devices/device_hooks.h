/*
 * device_hooks.h - loading the BPF device hooks (bpf/device.bpf.c), one flavour chain per signal
 * (core/hook_chain): fentry/fexit, else kprobe/kretprobe, else nothing (the uevent listener then
 * covers the signal).
 *
 * The three signals (usb, hid, input) load as one object; a refusal moves only the signal whose
 * program was refused along its chain, so a kernel that refuses one (hid not loaded, usbcore built
 * without BTF) keeps the others. The functions live in modules (usbcore, hid): the programs load
 * only once those are loaded. The object shares the process object's ring buffer and drop counters.
 */
#ifndef GW_DEVICE_HOOKS_H
#define GW_DEVICE_HOOKS_H

#include <stddef.h>

#include "core/hook_chain.h"
#include "core/hooks.h"

enum gw_device_signal {
	GW_DEVSIG_USB,
	GW_DEVSIG_HID,
	GW_DEVSIG_INPUT,
	GW_DEVSIG_COUNT,
};

/* What serves a signal; also the "source" of the events it produces. */
enum gw_device_source {
	GW_DEVSRC_NONE = 0,
	GW_DEVSRC_FENTRY,
	GW_DEVSRC_KPROBE,
	GW_DEVSRC_UEVENT,
	GW_DEVSRC_SYSFS,	/* inventory at start */
};

/* Which hooks to try: auto (fentry, kprobe, uevent) or one forced flavour. */
enum gw_device_mode {
	GW_DEVMODE_AUTO = 0,
	GW_DEVMODE_FENTRY,
	GW_DEVMODE_KPROBE,
	GW_DEVMODE_UEVENT,	/* no BPF device hooks at all */
};

struct gw_device;

#define GW_DEVICE_SIGNAL_PROGS 3

struct gw_device_hooks {
	struct gw_device *skel;				/* every signal's live flavour */
	struct bpf_link *links[GW_DEVSIG_COUNT][GW_DEVICE_SIGNAL_PROGS];
	enum gw_device_source live[GW_DEVSIG_COUNT];	/* FENTRY, KPROBE or NONE */
	char why[GW_DEVSIG_COUNT][HOOK_CHAIN_WHY_MAX];	/* why better flavours were refused */
};

/* Tries the chain for every signal; never fails as a whole (a signal without a BPF hook is left
 * to the uevent listener). Needs the process hooks loaded (the shared maps). */
void device_hooks_load(struct gw_device_hooks *dh, struct gw_hooks *h,
		       const struct gw_hook_options *opt, enum gw_device_mode mode);
void device_hooks_close(struct gw_device_hooks *dh);

const char *device_signal_name(enum gw_device_signal sig);	/* "device_usb", ... */
const char *device_source_name(enum gw_device_source src);	/* "fentry", "uevent", ... */
/* The attach function a live flavour hooks, e.g. "fexit/usb_new_device". */
const char *device_hook_name(enum gw_device_signal sig, enum gw_device_source src);

#endif
