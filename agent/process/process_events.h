/*
 * process_events.h - turns exec, fork and exit records into process-table updates and into
 * ProcessExec / ProcessFork / ProcessExit events with identity and ancestry.
 */
#ifndef GW_PROCESS_EVENTS_H
#define GW_PROCESS_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/agent.h"
#include "gw_events.h"

/* Registers the process domain (exec, fork and exit records). */
int process_register(struct gw_agent *a);

int process_handle_exec(struct gw_agent *a, const struct gw_exec_event *ev, size_t size);
int process_handle_fork(struct gw_agent *a, const struct gw_fork_event *ev, size_t size);
int process_handle_exit(struct gw_agent *a, const struct gw_exit_event *ev, size_t size);

/* Reassembles leaf-first dentry names ("ls\0bin\0usr\0") into "/usr/bin/ls". */
size_t process_join_path(const char *parts, size_t parts_size, uint32_t depth, char *out,
			 size_t out_size);

#endif
