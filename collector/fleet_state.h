/*
 * fleet_state.h - the collector's state file: its fleet view as one protobuf FleetState message
 * (proto/collector_state.proto), so `report` and a restarted collector read exactly what was kept.
 *
 * Saving replaces the file atomically (write path.tmp, fsync, rename, fsync the directory): a
 * crash leaves the old file or the new one. Loading merges into a view, so the files of several
 * collectors sharing one durable consumer add up to the whole fleet.
 */
#ifndef GWC_FLEET_STATE_H
#define GWC_FLEET_STATE_H

#include "fleet_view.h"

/* 0 or -errno. */
int fleet_state_save(const struct fleet_view *v, const char *path);

/* Merges the file into v: 0, -ENOENT for a missing file, -EINVAL for one that is not a state file
 * (or holds an invalid host id or sequence range), another -errno on a read error. */
int fleet_state_load(struct fleet_view *v, const char *path);

#endif
