#include "exe_hash.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/lru_pool.h"

#define QUEUE_LEN 32

struct cache_entry {
	struct lru_node node;
	struct exe_hash_key key;
	char sha256[EXE_HASH_HEX_LEN + 1];
	bool user_writable;
	const char *state;
	uint64_t dirs_checked_s;
};

struct job {
	struct exe_hash_key key;
	char path[PATH_MAX];
};

struct done {
	struct exe_hash_key key;
	char sha256[EXE_HASH_HEX_LEN + 1]; /* "" when the file could not be read as that version */
};

struct exe_hash {
	struct lru_pool cache;
	struct exe_hash_counts counts;
	pthread_t worker;
	bool worker_started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	/* jobs in flight plus results not drained never exceed QUEUE_LEN */
	struct job jobs[QUEUE_LEN];
	uint32_t job_head, n_jobs;
	struct done done[QUEUE_LEN];
	uint32_t n_done;
};

static void key_of(const struct stat *st, struct exe_hash_key *k)
{
	memset(k, 0, sizeof(*k));
	k->dev = st->st_dev;
	k->ino = st->st_ino;
	k->size = (uint64_t)st->st_size;
	k->mtime_sec = st->st_mtim.tv_sec;
	k->mtime_nsec = st->st_mtim.tv_nsec;
}

int exe_hash_fd(int fd, char out[EXE_HASH_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char buf[64 << 10], md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	ssize_t n;

	while (ok && (n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ok = 0;
			break;
		}
		ok = EVP_DigestUpdate(ctx, buf, (size_t)n);
	}
	if (ok)
		ok = EVP_DigestFinal_ex(ctx, md, &md_len) && md_len == EXE_HASH_HEX_LEN / 2;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	for (unsigned int i = 0; i < md_len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[EXE_HASH_HEX_LEN] = 0;
	return 0;
}

/* Hashes `path` if it still is the version `key`; 0, or -1. */
static int hash_version(const char *path, const struct exe_hash_key *key,
			char out[EXE_HASH_HEX_LEN + 1])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct exe_hash_key now;
	struct stat st;
	int rc = -1;

	if (fd < 0)
		return -1;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode)) {
		key_of(&st, &now);
		if (!memcmp(&now, key, sizeof(now)))
			rc = exe_hash_fd(fd, out);
	}
	close(fd);
	return rc;
}

/* Whether a non-root user may write in directory `st`. */
static bool dir_user_writable(const struct stat *st)
{
	return (st->st_uid != 0 && (st->st_mode & S_IWUSR)) ||
	       (st->st_gid != 0 && (st->st_mode & S_IWGRP)) || (st->st_mode & S_IWOTH);
}

bool exe_hash_user_writable(const char *path)
{
	char dir[PATH_MAX];
	struct stat st;
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir) || dir[0] != '/')
		return false;
	while ((slash = strrchr(dir, '/'))) {
		if (slash == dir)
			slash[1] = 0; /* "/" itself */
		else
			*slash = 0;
		if (stat(dir, &st))
			return false;
		if (dir_user_writable(&st))
			return true;
		if (slash == dir)
			break;
	}
	return false;
}

static void *worker_main(void *arg)
{
	struct exe_hash *h = arg;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		struct job job;
		struct done d;

		while (!h->stop && !h->n_jobs)
			pthread_cond_wait(&h->wake, &h->lock);
		if (h->stop)
			break;
		job = h->jobs[h->job_head];
		h->job_head = (h->job_head + 1) % QUEUE_LEN;
		h->n_jobs--;
		pthread_mutex_unlock(&h->lock);

		memset(&d, 0, sizeof(d));
		d.key = job.key;
		if (hash_version(job.path, &job.key, d.sha256))
			d.sha256[0] = 0;

		pthread_mutex_lock(&h->lock);
		h->done[h->n_done++] = d;
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

struct exe_hash *exe_hash_new(size_t capacity)
{
	struct exe_hash *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	if (lru_pool_init(&h->cache, capacity, sizeof(struct cache_entry),
			  offsetof(struct cache_entry, node), offsetof(struct cache_entry, key),
			  sizeof(struct exe_hash_key))) {
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->wake, NULL);
	return h;
}

int exe_hash_start(struct exe_hash *h)
{
	sigset_t all, old;
	int err;

	if (h->worker_started)
		return 0;
	/* the worker blocks every signal: the agent's reach it only through its signalfd */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&h->worker, NULL, worker_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	h->worker_started = !err;
	return -err;
}

void exe_hash_free(struct exe_hash *h)
{
	if (!h)
		return;
	if (h->worker_started) {
		pthread_mutex_lock(&h->lock);
		h->stop = true;
		pthread_cond_signal(&h->wake);
		pthread_mutex_unlock(&h->lock);
		pthread_join(h->worker, NULL);
	}
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->wake);
	lru_pool_destroy(&h->cache);
	free(h);
}

/* Queues a big file for the worker; false when the queue is full. */
static bool submit(struct exe_hash *h, const char *path, const struct exe_hash_key *key)
{
	bool queued = false;

	if (!h->worker_started || strlen(path) >= PATH_MAX)
		return false;
	pthread_mutex_lock(&h->lock);
	if (h->n_jobs + h->n_done < QUEUE_LEN) {
		struct job *j = &h->jobs[(h->job_head + h->n_jobs) % QUEUE_LEN];

		j->key = *key;
		snprintf(j->path, sizeof(j->path), "%s", path);
		h->n_jobs++;
		queued = true;
		pthread_cond_signal(&h->wake);
	}
	pthread_mutex_unlock(&h->lock);
	return queued;
}

static void fill(struct exe_hash_result *out, const struct cache_entry *e)
{
	memcpy(out->sha256, e->sha256, sizeof(out->sha256));
	out->user_writable = e->user_writable;
	out->state = e->state;
	out->key = e->key;
}

void exe_hash_lookup(struct exe_hash *h, const char *path, uint64_t now_s,
		     struct exe_hash_result *out)
{
	struct cache_entry *e;
	struct exe_hash_key key;
	struct stat st;

	memset(out, 0, sizeof(*out));
	if (!path || path[0] != '/' || stat(path, &st)) {
		h->counts.unreadable++;
		out->state = "unreadable";
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		out->state = "not_regular";
		return;
	}
	key_of(&st, &key);
	e = lru_pool_find(&h->cache, &key);
	if (e) {
		h->counts.cache_hits++;
		lru_pool_touch(&h->cache, e);
		if (now_s - e->dirs_checked_s >= EXE_HASH_DIR_TTL_S) {
			e->user_writable = exe_hash_user_writable(path);
			e->dirs_checked_s = now_s;
		}
		fill(out, e);
		return;
	}
	if (lru_pool_full(&h->cache)) {
		lru_pool_remove(&h->cache, lru_pool_oldest(&h->cache));
		h->counts.evicted++;
	}
	e = lru_pool_insert(&h->cache, &key);
	if (!e) {
		out->state = "unreadable";
		return;
	}
	e->user_writable = exe_hash_user_writable(path);
	e->dirs_checked_s = now_s;
	if (key.size > EXE_HASH_MAX) {
		h->counts.too_large++;
		e->state = "too_large";
	} else if (key.size > EXE_HASH_SYNC_MAX) {
		if (submit(h, path, &key)) {
			e->state = "pending";
		} else {
			/* not kept: the next exec of it tries again */
			h->counts.queue_full++;
			out->user_writable = e->user_writable;
			out->state = "pending";
			out->key = key;
			lru_pool_remove(&h->cache, e);
			return;
		}
	} else if (!hash_version(path, &key, e->sha256)) {
		h->counts.hashed_sync++;
		e->state = "hashed";
	} else {
		h->counts.unreadable++;
		out->user_writable = e->user_writable;
		out->state = "unreadable";
		out->key = key;
		lru_pool_remove(&h->cache, e);
		return;
	}
	fill(out, e);
}

bool exe_hash_has_done(struct exe_hash *h)
{
	bool any;

	pthread_mutex_lock(&h->lock);
	any = h->n_done > 0;
	pthread_mutex_unlock(&h->lock);
	return any;
}

size_t exe_hash_drain(struct exe_hash *h,
		      void (*fn)(const struct exe_hash_key *key, const char *sha256, void *ctx),
		      void *ctx)
{
	struct done done[QUEUE_LEN];
	uint32_t n;

	pthread_mutex_lock(&h->lock);
	n = h->n_done;
	memcpy(done, h->done, n * sizeof(done[0]));
	h->n_done = 0;
	pthread_mutex_unlock(&h->lock);
	for (uint32_t i = 0; i < n; i++) {
		struct cache_entry *e = lru_pool_find(&h->cache, &done[i].key);

		if (!done[i].sha256[0]) {
			h->counts.unreadable++;
			if (e)
				lru_pool_remove(&h->cache, e);
			continue;
		}
		h->counts.hashed_async++;
		if (e) {
			memcpy(e->sha256, done[i].sha256, sizeof(e->sha256));
			e->state = "hashed";
		}
		if (fn)
			fn(&done[i].key, done[i].sha256, ctx);
	}
	return n;
}

const struct exe_hash_counts *exe_hash_counts(const struct exe_hash *h)
{
	return &h->counts;
}
