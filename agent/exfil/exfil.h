/*
 * exfil.h - the exfiltration domain: what leaves the machine. It raises behaviour findings
 * (category exfil) from facts other domains publish and from its own block-layer hook:
 *  - bulk upload: one process sent more than upload_bytes to one destination within the window
 *    (flushed flows, with the name the process looked up);
 *  - unlisted remote: git push, rsync, scp, sftp or rclone to a host not on allowed_remotes, from
 *    the command line and from the connections the tool (or the ssh it starts) opens;
 *  - removable storage: bytes written to a USB mass-storage disk beyond removable_bytes in the
 *    window (exfil_removable.h).
 * Offboarding raises each finding's severity one step and halves its thresholds. Only byte
 * counts, process identities, host names and device names are kept: no paths, URLs or content.
 */
#ifndef GW_EXFIL_H
#define GW_EXFIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/agent.h"

#define EXFIL_OPT_REMOTES_MAX 256

struct exfil_options {
	uint64_t upload_bytes;	    /* bulk upload threshold; 0: off */
	uint32_t upload_window_s;
	uint64_t removable_bytes;   /* removable storage threshold; 0: no block hook */
	uint32_t removable_window_s;
	bool offboarding;
	const char *sys_root;	    /* sysfs, to tell USB disks from the rest */
	const char *allowed_remotes[EXFIL_OPT_REMOTES_MAX];
	size_t n_allowed_remotes;
};

void exfil_options_defaults(struct exfil_options *o);
/* 0, or -EINVAL (a bad allowed remote, said on stderr) / -ENOMEM / agent_register's error. */
int exfil_register(struct gw_agent *a, const struct exfil_options *o);

#endif
