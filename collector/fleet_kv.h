/*
 * fleet_kv.h - the fleet view's home: a JetStream key-value bucket (its stream KV_<bucket>
 * replicated like the telemetry stream) holding one FleetHostState per host under
 * "host.<host id>" and the rejections no host owns under "fleet" (fleet_state.h). Every collector
 * writes a host's value before it acks the batches it records, by compare-and-set on the value's
 * revision; when another collector wrote it in between, the value is read again and the batches
 * applied onto it, so sequence ranges union and counters add up across collectors. `report` reads
 * the whole bucket: nothing is merged at report time, and a collector killed at any point leaves
 * no batch that was acked unrecorded.
 */
#ifndef GWC_FLEET_KV_H
#define GWC_FLEET_KV_H

#include <stdbool.h>
#include <stdint.h>

#include <nats/nats.h>

#include "common/log.h"
#include "fleet_view.h"

#define FLEET_KV_DEFAULT_BUCKET "GHOSTWATCH_FLEET"
#define FLEET_KV_CONFLICT_RETRIES 32

/* Binds to the bucket, creating it (file storage, `replicas`) when `create` and it is missing.
 * 0, or -1 with the reason logged. */
int fleet_kv_open(kvStore **kv, jsCtx *js, const char *bucket, int replicas, bool create,
		  const struct gw_log *log);

/* Reads every value into v (hosts, totals, unattributed rejections): 0, or -1 logged. A value
 * that is not one a collector writes is skipped and counted in *skipped. */
int fleet_kv_load(kvStore *kv, struct fleet_view *v, uint64_t *skipped, const struct gw_log *log);

/* Brings the cached hosts up to date with the bucket: a value newer than the host's cached
 * revision (another collector wrote it) replaces it, a host new to this collector is added, and
 * the view's totals follow. 0, or -1 logged (the cache stays as it was for the rest). */
int fleet_kv_refresh(kvStore *kv, struct fleet_view *v, const struct gw_log *log);

/* Applies what the caller has for host_id to it and stores the result. `apply` runs on the
 * cached host first and, after a conflict, on the value read back (again for every conflict),
 * so it must apply the same things each time; the view's totals gain what changed. Returns 0, or
 * -1 (not stored; the host is dropped from the cache so the next try starts from the bucket).
 * *conflicts counts the retries. */
typedef void (*fleet_kv_apply_fn)(struct fleet_host *h, void *closure);
int fleet_kv_update_host(kvStore *kv, struct fleet_view *v, const char *host_id,
			 fleet_kv_apply_fn apply, void *closure, uint64_t *conflicts,
			 const struct gw_log *log);

/* Adds rejections no host owns (by verdict) to the "fleet" value: 0 or -1. */
int fleet_kv_add_unattributed(kvStore *kv, struct fleet_view *v,
			      const uint64_t add[BATCH_VERDICT_COUNT], const struct gw_log *log);

#endif
