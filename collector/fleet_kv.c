/* fleet_kv.c - the fleet view in a JetStream key-value bucket. See fleet_kv.h. */
#include "fleet_kv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_state.h"

#define HOST_KEY_PREFIX "host."
#define FLEET_KEY "fleet"
#define LOAD_WAIT_MS 15000	/* a cluster under load or electing a leader is slow */

int fleet_kv_open(kvStore **kv, jsCtx *js, const char *bucket, int replicas, bool create,
		  const struct gw_log *log)
{
	kvConfig cfg;
	natsStatus s = js_KeyValue(kv, js, bucket);

	if (s == NATS_OK)
		return 0;
	if (s != NATS_NOT_FOUND || !create) {
		gw_err(log, "fleet bucket %s: %s %s", bucket, natsStatus_GetText(s),
		       nats_GetLastError(NULL));
		return -1;
	}
	kvConfig_Init(&cfg);
	cfg.Bucket = bucket;
	cfg.Description = "ghostwatch fleet view: one FleetHostState per host";
	cfg.History = 1;
	cfg.StorageType = js_FileStorage;
	cfg.Replicas = replicas;
	s = js_CreateKeyValue(kv, js, &cfg);
	if (s != NATS_OK) {
		gw_err(log, "creating fleet bucket %s: %s %s", bucket, natsStatus_GetText(s),
		       nats_GetLastError(NULL));
		return -1;
	}
	gw_info(log, "created fleet bucket %s (file storage, %d replicas)", bucket, replicas);
	return 0;
}

static void host_key(char *key, size_t len, const char *host_id)
{
	snprintf(key, len, HOST_KEY_PREFIX "%s", host_id);
}

/* A value's host becomes the cached one: read from the bucket at `rev`. */
static struct fleet_host *adopt_value(struct fleet_view *v, const char *host_id,
				      const void *data, int len, uint64_t rev)
{
	struct fleet_host *h = fleet_state_merge_host(v, data, (size_t)len);

	if (!h || strcmp(h->id, host_id) != 0)
		return NULL;
	h->kv_rev = rev;
	return h;
}

int fleet_kv_load(kvStore *kv, struct fleet_view *v, uint64_t *skipped, const struct gw_log *log)
{
	kvWatcher *w = NULL;
	kvWatchOptions wo;
	natsStatus s;
	int rc = 0;

	*skipped = 0;
	kvWatchOptions_Init(&wo);
	wo.IgnoreDeletes = true;
	s = kvStore_WatchAll(&w, kv, &wo);
	while (s == NATS_OK) {
		kvEntry *e = NULL;
		const char *key;
		struct fleet_counts now;
		struct fleet_host *h;

		s = kvWatcher_Next(&e, w, LOAD_WAIT_MS);
		if (s != NATS_OK || !e)
			break;	/* NULL: every value present when the watch began was read */
		key = kvEntry_Key(e);
		if (strcmp(key, FLEET_KEY) == 0) {
			if (fleet_state_merge_unattributed(v->rejected, kvEntry_Value(e),
							   (size_t)kvEntry_ValueLen(e)))
				(*skipped)++;
		} else if (strncmp(key, HOST_KEY_PREFIX, strlen(HOST_KEY_PREFIX)) == 0 &&
			   (h = adopt_value(v, key + strlen(HOST_KEY_PREFIX), kvEntry_Value(e),
					    kvEntry_ValueLen(e), kvEntry_Revision(e)))) {
			fleet_host_counts(h, &now);
			fleet_view_account(v, &now, NULL);
		} else {
			(*skipped)++;
		}
		kvEntry_Destroy(e);
	}
	if (s != NATS_OK) {
		gw_err(log, "reading the fleet bucket: %s %s", natsStatus_GetText(s),
		       nats_GetLastError(NULL));
		rc = -1;
	}
	kvWatcher_Destroy(w);
	return rc;
}

int fleet_kv_refresh(kvStore *kv, struct fleet_view *v, const struct gw_log *log)
{
	size_t prefix = strlen(HOST_KEY_PREFIX);
	kvWatcher *w = NULL;
	kvWatchOptions wo;
	natsStatus s;

	kvWatchOptions_Init(&wo);
	wo.IgnoreDeletes = true;
	s = kvStore_WatchAll(&w, kv, &wo);
	while (s == NATS_OK) {
		struct fleet_counts before, now;
		struct fleet_host *h;
		kvEntry *e = NULL;
		const char *key;

		s = kvWatcher_Next(&e, w, LOAD_WAIT_MS);
		if (s != NATS_OK || !e)
			break;
		key = kvEntry_Key(e);
		if (strncmp(key, HOST_KEY_PREFIX, prefix) == 0 &&
		    host_id_valid(key + prefix, strlen(key + prefix))) {
			HASH_FIND(hh, v->hosts, key + prefix, strlen(key + prefix), h);
			if (!h || h->kv_rev < kvEntry_Revision(e)) {
				memset(&before, 0, sizeof(before));
				if (h) {
					fleet_host_counts(h, &before);
					fleet_view_drop(v, h);
				}
				h = adopt_value(v, key + prefix, kvEntry_Value(e),
						kvEntry_ValueLen(e), kvEntry_Revision(e));
				if (h) {
					fleet_host_counts(h, &now);
					fleet_view_account(v, &now, &before);
				}
			}
		}
		kvEntry_Destroy(e);
	}
	kvWatcher_Destroy(w);
	if (s != NATS_OK) {
		gw_warn(log, "refreshing the fleet view from the bucket: %s %s",
			natsStatus_GetText(s), nats_GetLastError(NULL));
		return -1;
	}
	return 0;
}

/* Whether the last kvStore_Update/Create failed because the value's revision moved on. */
static bool last_was_conflict(void)
{
	const char *e = nats_GetLastError(NULL);

	return e && (strstr(e, "wrong last sequence") || strstr(e, "key exists"));
}

/* Re-reads host_id's value into the cache (or an empty host when there is none). */
static struct fleet_host *reread(kvStore *kv, struct fleet_view *v, const char *host_id,
				 const char *key, const struct gw_log *log)
{
	struct fleet_host *h;
	kvEntry *e = NULL;
	natsStatus s = kvStore_Get(&e, kv, key);

	h = fleet_view_host(v, host_id);
	if (h)
		fleet_view_drop(v, h);
	if (s == NATS_NOT_FOUND) {
		h = fleet_view_host(v, host_id);
		if (h)
			h->kv_rev = 0;
		return h;
	}
	if (s != NATS_OK) {
		gw_warn(log, "reading %s from the fleet bucket: %s %s", key, natsStatus_GetText(s),
			nats_GetLastError(NULL));
		return NULL;
	}
	h = adopt_value(v, host_id, kvEntry_Value(e), kvEntry_ValueLen(e), kvEntry_Revision(e));
	if (!h) {
		/* a value no collector writes: replaced, rather than wedge the host for ever */
		gw_warn(log, "%s in the fleet bucket is not a host value: replaced", key);
		h = fleet_view_host(v, host_id);
		if (h)
			fleet_view_drop(v, h);
		h = fleet_view_host(v, host_id);
		if (h)
			h->kv_rev = kvEntry_Revision(e);
	}
	kvEntry_Destroy(e);
	return h;
}

int fleet_kv_update_host(kvStore *kv, struct fleet_view *v, const char *host_id,
			 fleet_kv_apply_fn apply, void *closure, uint64_t *conflicts,
			 const struct gw_log *log)
{
	char key[sizeof(HOST_KEY_PREFIX) + GW_HOST_ID_MAX + 1];
	struct fleet_host *h = fleet_view_host(v, host_id);
	struct fleet_counts before, after;

	host_key(key, sizeof(key), host_id);
	for (int attempt = 0; h && attempt <= FLEET_KV_CONFLICT_RETRIES; attempt++) {
		uint8_t *buf = NULL;
		size_t len = 0;
		uint64_t rev = 0;
		natsStatus s;

		fleet_host_counts(h, &before);
		apply(h, closure);
		if (fleet_state_pack_host(h, &buf, &len))
			break;
		if (h->kv_rev)
			s = kvStore_Update(&rev, kv, key, buf, (int)len, h->kv_rev);
		else
			s = kvStore_Create(&rev, kv, key, buf, (int)len);
		free(buf);
		if (s == NATS_OK) {
			h->kv_rev = rev;
			fleet_host_counts(h, &after);
			fleet_view_account(v, &after, &before);
			return 0;
		}
		if (!last_was_conflict()) {
			gw_warn(log, "storing %s in the fleet bucket: %s %s", key,
				natsStatus_GetText(s), nats_GetLastError(NULL));
			break;
		}
		/* another collector wrote it since: apply ours again onto what it wrote */
		(*conflicts)++;
		h = reread(kv, v, host_id, key, log);
	}
	h = fleet_view_host(v, host_id);
	if (h)
		fleet_view_drop(v, h);
	return -1;
}

int fleet_kv_add_unattributed(kvStore *kv, struct fleet_view *v,
			      const uint64_t add[BATCH_VERDICT_COUNT], const struct gw_log *log)
{
	for (int attempt = 0; attempt <= FLEET_KV_CONFLICT_RETRIES; attempt++) {
		uint64_t counts[BATCH_VERDICT_COUNT] = { 0 }, rev = 0, last = 0;
		kvEntry *e = NULL;
		uint8_t *buf = NULL;
		size_t len = 0;
		natsStatus s = kvStore_Get(&e, kv, FLEET_KEY);

		if (s == NATS_OK) {
			last = kvEntry_Revision(e);
			fleet_state_merge_unattributed(counts, kvEntry_Value(e),
						       (size_t)kvEntry_ValueLen(e));
			kvEntry_Destroy(e);
		} else if (s != NATS_NOT_FOUND) {
			break;
		}
		for (int r = 0; r < BATCH_VERDICT_COUNT; r++)
			counts[r] += add[r];
		if (fleet_state_pack_unattributed(counts, &buf, &len))
			break;
		s = last ? kvStore_Update(&rev, kv, FLEET_KEY, buf, (int)len, last)
			 : kvStore_Create(&rev, kv, FLEET_KEY, buf, (int)len);
		free(buf);
		if (s == NATS_OK) {
			for (int r = 0; r < BATCH_VERDICT_COUNT; r++)
				v->rejected[r] += add[r];
			return 0;
		}
		if (!last_was_conflict())
			break;
	}
	gw_warn(log, "storing unattributed rejections in the fleet bucket: %s",
		nats_GetLastError(NULL));
	return -1;
}
