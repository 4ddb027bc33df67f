/*
 * cadence.h - the input cadence domain: every window it drains the kernel's per-device input
 * aggregates (cadence_hooks.h), turns them into InputCadence events with typing-rhythm and
 * pointer-burst features (cadence_features.h), knows each device's kind from the device events
 * the agent emits (it watches them as a sink: USB, IP-KVM gadget, uinput with its creator,
 * Bluetooth), and raises findings through the detections (built-in rules GW-CADENCE-JIGGLER:
 * "periodic synthetic pointer motion", naming the device, and GW-CADENCE-VIRTUAL-INPUT: input
 * injected by a process, the subject, through a virtual device).
 * Remote operator distance: a process's connection RTT is handed in through cadence_note_rtt(); a
 * virtual-input finding for that process carries it in `matched`. The network module calls it at
 * each TCP close with the connection's smoothed RTT (network.c; loopback peers are left out).
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
	uint64_t window_ns, horizon_ns;
	uint64_t last_drain_ns;
	uint64_t windows, findings, not_remembered;
};

/* Loads the hook (after the process hooks) and registers the device-watching sink. */
int cadence_start(struct gw_agent *a);
void cadence_stop(struct gw_agent *a);
/* Drains a finished window when it is due (and always when `force`). */
void cadence_tick(struct gw_agent *a, uint64_t now_boot_ns, bool force);
/* GW_EV_CADENCE_WINDOW records; 0, or -1 for a malformed one. */
int cadence_handle_record(struct gw_agent *a, const void *data, size_t size);

/* The network module's hook: the smoothed RTT of a process's remote connections. */
void cadence_note_rtt(struct gw_agent *a, uint64_t process_id, uint32_t rtt_us);

#define GW_CADENCE_COUNTERS 6
size_t cadence_event_counters(const struct gw_agent *a, const char **names, uint64_t *values);

/* "usb", "usb_gadget", "ip_kvm", "uinput", "bluetooth", "unknown" from what the device reported. */
const char *cadence_device_kind(const char *bus, int is_virtual, uint32_t usb_vid, uint32_t usb_pid,
				const char *usb_manufacturer);

#endif
