/*
 * proc_id.h - stable process identity.
 *
 * A process id must come out the same whether the agent computed it from a BPF event or from /proc
 * at start, and must not repeat when a pid is reused or across reboots. So it is a hash of the boot
 * id, the pid and the start time in clock ticks: the resolution /proc/<pid>/stat gives, to which
 * the BPF side's nanoseconds are rounded down the way the kernel itself rounds them.
 */
#ifndef GW_PROC_ID_H
#define GW_PROC_ID_H

#include <stdint.h>

#define GW_BOOT_ID_LEN 37 /* uuid text + NUL */

struct gw_boot {
	char boot_id[GW_BOOT_ID_LEN];
	uint64_t ns_per_tick; /* NSEC_PER_SEC / USER_HZ */
};

/* Reads /proc/sys/kernel/random/boot_id (or `path`); 0 on success, -errno on failure. */
int gw_boot_init(struct gw_boot *boot, const char *path);

uint64_t gw_start_ns_to_ticks(const struct gw_boot *boot, uint64_t start_boottime_ns);

/* The id from a start time already in clock ticks (procfs) or from nanoseconds (BPF). */
uint64_t gw_process_id_from_ticks(const struct gw_boot *boot, uint32_t pid, uint64_t start_ticks);
uint64_t gw_process_id(const struct gw_boot *boot, uint32_t pid, uint64_t start_boottime_ns);

#endif
