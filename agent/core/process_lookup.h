/*
 * process_lookup.h - the process service every domain attributes things to: the table entry for a
 * pid (read from /proc when the table has not seen it) and the Process message for an entry.
 */
#ifndef GW_PROCESS_LOOKUP_H
#define GW_PROCESS_LOOKUP_H

#include <stdint.h>

#include "agent.h"

/* A Process message (in the arena) for a table entry. */
Ghostwatch__V1__Process *process_proto(struct gw_agent *a, const struct proc_entry *e);

/* The table entry for `pid`, loaded from /proc when the table does not know it; NULL if gone. */
struct proc_entry *process_lookup(struct gw_agent *a, uint32_t pid);

#endif
