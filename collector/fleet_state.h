/*
 * fleet_state.h - a host of the fleet view as the protobuf FleetHostState the bucket holds
 * (proto/collector_state.proto), and the fleet's unattributed counters as a FleetState. Packing
 * covers every field of struct fleet_host a collector keeps; unpacking merges into a view (a host
 * read into an empty view is that host exactly), and refuses values it could not have written.
 */
#ifndef GWC_FLEET_STATE_H
#define GWC_FLEET_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "fleet_view.h"

/* h as a packed FleetHostState in *out (malloc'd): 0 or -ENOMEM. */
int fleet_state_pack_host(const struct fleet_host *h, uint8_t **out, size_t *out_len);

/* Merges a packed FleetHostState into v and returns its host, or NULL when the bytes are not one
 * (or hold an invalid host id or sequence range). The view's totals are not touched. */
struct fleet_host *fleet_state_merge_host(struct fleet_view *v, const uint8_t *buf, size_t len);

/* The rejections no host owns (verdict counts) as a packed FleetState, and back (adding). */
int fleet_state_pack_unattributed(const uint64_t rejected[BATCH_VERDICT_COUNT], uint8_t **out,
				  size_t *out_len);
int fleet_state_merge_unattributed(uint64_t rejected[BATCH_VERDICT_COUNT], const uint8_t *buf,
				   size_t len);

#endif
