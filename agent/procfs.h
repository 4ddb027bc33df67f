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

#include <stdint.h>

#include "proc_id.h"
#include "proc_table.h"

/* Reads /proc/<pid> (under proc_root) into a fresh table entry. Returns it, or NULL when the
 * process is gone or unreadable (the table is left without an entry for pid). */
struct proc_entry *procfs_load_process(struct proc_table *t, const struct gw_boot *boot,
				       const char *proc_root, uint32_t pid);

/* Loads every process under proc_root, then links parents. Returns how many were loaded. */
int procfs_seed(struct proc_table *t, const struct gw_boot *boot, const char *proc_root);

/* "pts3" / "tty1" / "" from a stat tty_nr, the way the kernel names the tty. */
void procfs_tty_name(uint32_t tty_nr, char *out, size_t out_size);

#endif
