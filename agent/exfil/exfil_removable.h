/*
 * exfil_removable.h - bytes written to USB mass-storage disks: loads bpf/exfil.bpf.c (a per-disk
 * sum of written bytes on the block layer's request issue) with its flavour chain, reads the sums,
 * keeps only the disks sysfs places under a USB mass-storage interface, and reports a disk whose
 * writes within the window pass the threshold.
 *
 * Chain: tp_btf/block_rq_issue, tp/block/block_rq_issue. Every block device is counted in the
 * kernel (a loop device too: that is how this host tests the counting); the USB tie-in only
 * selects which are reported. At most 256 disks are counted; more are counted as untracked.
 */
#ifndef GW_EXFIL_REMOVABLE_H
#define GW_EXFIL_REMOVABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/attach_registry.h"
#include "core/hook_chain.h"
#include "exfil_upload.h"

#define EXFIL_DISKS_MAX 256

struct gw_exfil;
struct bpf_link;

/* What sysfs says a USB disk is. */
struct exfil_usb_disk {
	char name[32];	     /* "sdb" */
	uint16_t vid, pid;
	char product[128];
	char serial[128];    /* to tie it to the device event; never reported */
};

struct exfil_removable {
	struct gw_exfil *skel;
	struct bpf_link *link;
	char live[48];			/* the flavour, or "none" */
	char why[HOOK_CHAIN_WHY_MAX];	/* why better flavours were refused, or why none */
	const char *sys_root;
	struct exfil_uploads window;	/* per disk name */
	struct {
		uint32_t dev;
		uint64_t total;
	} seen[EXFIL_DISKS_MAX];
	size_t n_seen;
	uint64_t read_errors;
};

/* A USB disk past the threshold. */
struct exfil_removable_hit {
	const struct exfil_usb_disk *disk;
	uint32_t dev;
	uint64_t bytes; /* written within the window */
};

/* Loads and attaches; never fails as a whole (then live is "none" and why says why). `known` is
 * what the agent's hook chains learnt the kernel refuses (core/hook_chain.h); the link joins
 * `attached`, which the tamper domain checks (core/attach_registry.h). */
void exfil_removable_load(struct exfil_removable *r, struct hook_chain_known *known,
			  struct gw_attach_registry *attached, const char *sys_root,
			  uint64_t threshold, uint64_t window_ns);
bool exfil_removable_live(const struct exfil_removable *r);
/* Reads the kernel's sums; fn for each USB disk that crossed the threshold. */
void exfil_removable_poll(struct exfil_removable *r, uint64_t now_realtime_ns,
			  void (*fn)(const struct exfil_removable_hit *hit, void *ctx), void *ctx);
/* Disks the kernel could not count (its map was full). */
uint64_t exfil_removable_untracked(const struct exfil_removable *r);
/* Cumulative (run_time_ns, run_cnt) of the live program; needs kernel.bpf_stats_enabled. */
void exfil_removable_prog_stats(const struct exfil_removable *r, uint64_t *run_ns,
				uint64_t *run_cnt);
void exfil_removable_close(struct exfil_removable *r);

/* Whether dev (kernel encoding) is a disk under a USB mass-storage interface, per sysfs. */
bool exfil_usb_disk_of(const char *sys_root, uint32_t dev, struct exfil_usb_disk *out);

#endif
