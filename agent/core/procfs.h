/*
 * procfs.h - process identity read from /proc.
 *
 * At start the agent seeds its process table from /proc so that processes that existed before it
 * (the remote-desktop tool started at boot) have identity and ancestry; later, a fork record from
 * the degraded hook or an event for an unknown pid is completed the same way. Every value is
 * treated as hostile: comm and argv are whatever the process chose.
 */
#ifndef GW_PROCFS_H
#define GW_PROCFS_H

#include <stdbool.h>
#include <stdint.h>

#include "proc_id.h"
#include "proc_table.h"

/*
 * Reads /proc/<pid> (under proc_root) into a fresh table entry. Returns it, or NULL when the
 * process is gone or unreadable (the table is left without an entry for pid). cgroup2_root is
 * where the cgroup v2 hierarchy is mounted: a cgroup's id is its directory's inode there, the
 * number BPF reports for the processes it sees start; NULL or "" leaves the id 0.
 */
struct proc_entry *procfs_load_process(struct proc_table *t, const struct gw_boot *boot,
				       const char *proc_root, const char *cgroup2_root,
				       uint32_t pid);

/* Whether a /proc directory entry's name is a number (a pid, an fd): all decimal digits, within
 * 32 bits; the number in *n. */
bool procfs_number(const char *name, uint32_t *n);

/* Loads every process under proc_root, then links parents. Returns how many were loaded. */
int procfs_seed(struct proc_table *t, const struct gw_boot *boot, const char *proc_root,
		const char *cgroup2_root);

/* Finds a mounted cgroup2 root in `mountinfo` (a /proc/<pid>/mountinfo); 0 and the path, or
 * -ENOENT / -errno. */
int procfs_find_cgroup2_root(const char *mountinfo, char *path, size_t path_size);

/* "pts3" / "tty1" / "" from a stat tty_nr, the way the kernel names the tty. */
void procfs_tty_name(uint32_t tty_nr, char *out, size_t out_size);

#endif
