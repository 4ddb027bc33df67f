/*
 * cadence.h - the input cadence domain: every window it drains the kernel's per-device input
 * aggregates (cadence_hooks.h), turns them into InputCadence events with typing-rhythm and
 * pointer-burst features (cadence_features.h), knows each device's kind from the device events
 * the agent emits (it watches them as a sink: USB, IP-KVM gadget, uinput with its creator,
 * Bluetooth), and publishes what it recognises as behaviour facts (facts.h) that the detections
 * raise as findings: a jiggler (periodic synthetic pointer motion, naming the device) and input
 * injected by a process, the subject, through a virtual device.
 * Remote operator distance: the network publishes each remote TCP connection's smoothed RTT as a
 * fact (loopback peers are left out); a virtual-input behaviour of that process carries it in its
 * why.
 */
#ifndef GW_CADENCE_H
#define GW_CADENCE_H

#include <stddef.h>
#include <stdint.h>

#include "cadence_features.h"
#include "cadence_hooks.h"

struct gw_agent;
struct cadence_device;
struct cadence_usb;
struct cadence_rtt;

struct cadence_domain {
	struct cadence_hooks hooks;
	struct cadence_jiggler_params params;
	struct cadence_device *devices;	/* by input sysfs name */
	struct cadence_usb *usb;	/* by USB sysfs name: the identity behind an input device */
	struct cadence_rtt *rtt;	/* by process id */
	size_t n_devices, n_usb, n_rtt;
	uint32_t window_s, idle_ms;	/* window 0: cadence off */
	enum cadence_hook_mode hook_mode;
	uint64_t window_ns, horizon_ns;
	uint64_t last_drain_ns;
	uint64_t windows, findings, not_remembered;
};

/* Registers the domain: at start it loads the hook (after the process hooks) and watches the
 * device events as a sink; it handles GW_EV_CADENCE_WINDOW records, drains a finished window every
 * window_s and the last partial one at the end. */
int cadence_register(struct gw_agent *a, uint32_t window_s, uint32_t idle_ms,
		     enum cadence_hook_mode hook_mode);

/* "usb", "usb_gadget", "ip_kvm", "uinput", "bluetooth", "unknown" from what the device reported. */
const char *cadence_device_kind(const char *bus, int is_virtual, uint32_t usb_vid, uint32_t usb_pid,
				const char *usb_manufacturer);

#endif
