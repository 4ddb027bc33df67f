/*
 * exfil_upload.h - bytes one process sent to one destination over a sliding window, for the bulk
 * upload finding. The destination is the name the process looked up, else the peer's address.
 * Flushed flows are added as they come; a sum crossing the threshold is reported once per window.
 * Memory is bounded: `capacity` entries; when full, a new destination is dropped and counted.
 */
#ifndef GW_EXFIL_UPLOAD_H
#define GW_EXFIL_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXFIL_UPLOAD_BUCKETS 16
#define EXFIL_DEST_MAX 254

struct exfil_upload_entry;

struct exfil_uploads {
	struct exfil_upload_entry *by_key;
	size_t n, capacity;
	uint64_t window_ns, bucket_ns;
	uint64_t threshold;
	uint64_t dropped; /* destinations not tracked: the table was full */
};

/* What crossed the threshold: the window's sum at that moment. */
struct exfil_upload_hit {
	uint64_t bytes;
	uint64_t first_ns; /* the oldest bucket still in the window */
};

void exfil_uploads_init(struct exfil_uploads *u, size_t capacity, uint64_t window_ns,
			uint64_t threshold);
void exfil_uploads_free(struct exfil_uploads *u);
/*
 * Adds `bytes` sent by process_id to dest at now_ns (realtime). True (and *hit) when the window's
 * sum reaches the threshold and was not reported within the last window.
 */
bool exfil_uploads_add(struct exfil_uploads *u, uint64_t process_id, const char *dest,
		       uint64_t bytes, uint64_t now_ns, struct exfil_upload_hit *hit);
/* Forgets destinations with nothing in the window (an exited process's flows are flushed after
 * its exit, so entries go by age, not by exit). */
void exfil_uploads_expire(struct exfil_uploads *u, uint64_t now_ns);

#endif
