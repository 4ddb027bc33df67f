/*
 * exe_hash.h - what an executable is beyond its name: the SHA-256 of the file and whether it lives
 * in a directory a non-root user could write (so its content could be swapped without root).
 *
 * A file is hashed once per version, keyed by (device, inode, size, mtime): a bounded cache makes
 * every later exec of it one stat(2). A file up to EXE_HASH_SYNC_MAX bytes is hashed on the exec
 * path the first time it is seen (milliseconds, once); a bigger one goes to a worker thread and
 * its exec is reported with the state "pending": the hash is in the cache for the next exec of the
 * same version (and in its event), and the live processes running that version get it when the
 * worker is done (exe_hash_drain). Files above EXE_HASH_MAX are not hashed ("too_large").
 *
 * The user-writable test walks the path's directories: one writable by a non-root owner, by a
 * group other than root's, or by anyone (/tmp, a home directory) is where a user drops programs
 * without root. The answer is kept with the version and checked again after EXE_HASH_DIR_TTL_S.
 */
#ifndef GW_EXE_HASH_H
#define GW_EXE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define EXE_HASH_SYNC_MAX (2u << 20)
#define EXE_HASH_MAX (512u << 20)
#define EXE_HASH_DIR_TTL_S 60
#define EXE_HASH_HEX_LEN 64

struct exe_hash;

/* A file version: what the cache is keyed on. */
struct exe_hash_key {
	uint64_t dev, ino, size;
	int64_t mtime_sec, mtime_nsec;
};

struct exe_hash_result {
	char sha256[EXE_HASH_HEX_LEN + 1]; /* lower-case hex, "" when not (yet) known */
	bool user_writable;
	const char *state; /* "hashed", "pending", "unreadable", "too_large", "not_regular" */
	struct exe_hash_key key;
};

struct exe_hash_counts {
	uint64_t cache_hits;
	uint64_t hashed_sync, hashed_async;
	uint64_t unreadable;	 /* stat/open/read failed: the file is gone or not ours to read */
	uint64_t queue_full;	 /* a big file not hashed: the worker's queue was full (drop) */
	uint64_t evicted;	 /* cache entries recycled */
	uint64_t too_large;
};

/* A cache of `capacity` versions; NULL on failure. Big files wait for exe_hash_start. */
struct exe_hash *exe_hash_new(size_t capacity);
/* Starts the worker thread that hashes big files: once the agent has dropped its privileges
 * (capabilities are per thread, core/privs.h). 0 or -errno; until then a big file is counted in
 * queue_full and hashed at a later exec. */
int exe_hash_start(struct exe_hash *h);
void exe_hash_free(struct exe_hash *h);

/* What is known of the file at `path` (an absolute path as the kernel resolved it). */
void exe_hash_lookup(struct exe_hash *h, const char *path, uint64_t now_s,
		     struct exe_hash_result *out);

/* Moves the worker's finished hashes into the cache and calls fn with each; the number done. */
size_t exe_hash_drain(struct exe_hash *h,
		      void (*fn)(const struct exe_hash_key *key, const char *sha256, void *ctx),
		      void *ctx);

/* Whether the worker has finished hashes to drain (cheap; for the tick). */
bool exe_hash_has_done(struct exe_hash *h);

const struct exe_hash_counts *exe_hash_counts(const struct exe_hash *h);

/* The SHA-256 of an open file as lower-case hex into out[65]; 0, or -1 on a read error. */
int exe_hash_fd(int fd, char out[EXE_HASH_HEX_LEN + 1]);

/* Whether a non-root user could replace the file at `path` (see above). */
bool exe_hash_user_writable(const char *path);

#endif
