/* exfil_upload.c - per process and destination byte sums over a sliding window. See
 * exfil_upload.h. */
#include "exfil_upload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

struct exfil_upload_entry {
	UT_hash_handle hh;
	uint64_t process_id;
	uint64_t epoch[EXFIL_UPLOAD_BUCKETS]; /* bucket number + 1 of what each slot holds */
	uint64_t bytes[EXFIL_UPLOAD_BUCKETS];
	uint64_t reported_epoch;	      /* bucket number + 1 when last reported, 0 never */
	char key[]; /* process id (hex) "/" destination */
};

void exfil_uploads_init(struct exfil_uploads *u, size_t capacity, uint64_t window_ns,
			uint64_t threshold)
{
	memset(u, 0, sizeof(*u));
	u->capacity = capacity;
	u->window_ns = window_ns ? window_ns : 1;
	u->bucket_ns = u->window_ns / EXFIL_UPLOAD_BUCKETS ? u->window_ns / EXFIL_UPLOAD_BUCKETS : 1;
	u->threshold = threshold;
}

static void drop(struct exfil_uploads *u, struct exfil_upload_entry *e)
{
	HASH_DEL(u->by_key, e);
	free(e);
	u->n--;
}

void exfil_uploads_free(struct exfil_uploads *u)
{
	struct exfil_upload_entry *e, *tmp;

	HASH_ITER(hh, u->by_key, e, tmp)
		drop(u, e);
}

/* Sum of the buckets inside the window ending with bucket `now` (numbers + 1), oldest's start. */
static uint64_t window_sum(const struct exfil_upload_entry *e, uint64_t now, uint64_t *oldest)
{
	uint64_t sum = 0;

	*oldest = now;
	for (int i = 0; i < EXFIL_UPLOAD_BUCKETS; i++)
		if (e->epoch[i] && e->epoch[i] + EXFIL_UPLOAD_BUCKETS > now) {
			sum += e->bytes[i];
			if (e->epoch[i] < *oldest)
				*oldest = e->epoch[i];
		}
	return sum;
}

bool exfil_uploads_add(struct exfil_uploads *u, uint64_t process_id, const char *dest,
		       uint64_t bytes, uint64_t now_ns, struct exfil_upload_hit *hit)
{
	uint64_t now = now_ns / u->bucket_ns + 1, oldest, sum;
	char key[EXFIL_DEST_MAX + 24];
	struct exfil_upload_entry *e;
	size_t len;
	int slot;

	if (!bytes)
		return false;
	len = (size_t)snprintf(key, sizeof(key), "%llx/%s", (unsigned long long)process_id, dest);
	if (len >= sizeof(key))
		len = sizeof(key) - 1;
	HASH_FIND(hh, u->by_key, key, len, e);
	if (!e) {
		if (u->n >= u->capacity) {
			exfil_uploads_expire(u, now_ns);
			if (u->n >= u->capacity) {
				u->dropped++;
				return false;
			}
		}
		e = calloc(1, sizeof(*e) + len + 1);
		if (!e) {
			u->dropped++;
			return false;
		}
		e->process_id = process_id;
		memcpy(e->key, key, len);
		HASH_ADD_KEYPTR(hh, u->by_key, e->key, len, e);
		u->n++;
	}
	slot = (int)(now % EXFIL_UPLOAD_BUCKETS);
	if (e->epoch[slot] != now) {
		e->epoch[slot] = now;
		e->bytes[slot] = 0;
	}
	e->bytes[slot] += bytes;
	sum = window_sum(e, now, &oldest);
	if (sum < u->threshold ||
	    (e->reported_epoch && e->reported_epoch + EXFIL_UPLOAD_BUCKETS > now))
		return false;
	e->reported_epoch = now;
	hit->bytes = sum;
	hit->first_ns = (oldest - 1) * u->bucket_ns;
	return true;
}

void exfil_uploads_expire(struct exfil_uploads *u, uint64_t now_ns)
{
	uint64_t now = now_ns / u->bucket_ns + 1, oldest;
	struct exfil_upload_entry *e, *tmp;

	HASH_ITER(hh, u->by_key, e, tmp)
		if (!window_sum(e, now, &oldest) &&
		    !(e->reported_epoch && e->reported_epoch + EXFIL_UPLOAD_BUCKETS > now))
			drop(u, e);
}
