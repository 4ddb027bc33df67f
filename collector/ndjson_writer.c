#include "ndjson_writer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int open_live(struct ndjson_writer *w)
{
	struct stat st;

	w->fd = open(w->live_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (w->fd < 0)
		return -errno;
	if (fstat(w->fd, &st) < 0) {
		int e = -errno;
		close(w->fd);
		w->fd = -1;
		return e;
	}
	w->size = st.st_size;
	return 0;
}

int ndjson_writer_open(struct ndjson_writer *w, const char *dir, const char *name,
		       uint64_t max_bytes, unsigned keep)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->dir_fd = -1;
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	w->dir = strdup(dir);
	w->name = strdup(name);
	if (!w->dir || !w->name || asprintf(&w->live_path, "%s/%s.ndjson", dir, name) < 0) {
		w->live_path = NULL;
		ndjson_writer_close(w);
		return -ENOMEM;
	}
	w->max_bytes = max_bytes;
	w->keep = keep;
	w->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dir_fd < 0) {
		int e = -errno;
		ndjson_writer_close(w);
		return e;
	}
	int rc = open_live(w);
	if (rc < 0)
		ndjson_writer_close(w);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Deletes the oldest rotated files beyond keep. Rotated names sort by time. */
static void prune(struct ndjson_writer *w)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0, plen = strlen(w->name);

	if (!w->keep)
		return;
	d = opendir(w->dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len <= plen + 8 || strncmp(de->d_name, w->name, plen) != 0 ||
		    de->d_name[plen] != '-' || strcmp(de->d_name + len - 7, ".ndjson") != 0)
			continue;
		if (n == cap) {
			char **p = realloc(names, (cap ? cap * 2 : 16) * sizeof(*names));
			if (!p)
				break;
			names = p;
			cap = cap ? cap * 2 : 16;
		}
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i + w->keep < n; i++)
		if (unlinkat(w->dir_fd, names[i], 0) == 0)
			w->deleted++;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int rotate(struct ndjson_writer *w)
{
	char stamp[32], path[4096];
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	if (fdatasync(w->fd) < 0)
		return -errno;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (unsigned n = 0;; n++) {
		snprintf(path, sizeof(path), "%s/%s-%s-%04u.ndjson", w->dir, w->name, stamp, n);
		if (access(path, F_OK) < 0)
			break;
	}
	if (rename(w->live_path, path) < 0)
		return -errno;
	close(w->fd);
	w->fd = -1;
	rc = open_live(w);
	if (rc < 0)
		return rc;
	fsync(w->dir_fd);	/* make the rename and the new file durable */
	w->rotations++;
	prune(w);
	return 0;
}

int ndjson_writer_write(struct ndjson_writer *w, const char *buf, size_t len)
{
	uint64_t before;
	size_t done = 0;
	int rc;

	if (w->fd < 0) {
		rc = open_live(w);
		if (rc < 0)
			return rc;
	}
	if (w->size > 0 && w->size + len > w->max_bytes) {
		rc = rotate(w);
		if (rc < 0 && w->fd < 0)
			return rc;
	}
	before = w->size;
	while (done < len) {
		ssize_t n = write(w->fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? -errno : -EIO;
			/* Never leave half a group (or half a line) for a tailer to read. */
			if (ftruncate(w->fd, before) == 0)
				w->size = before;
			return e;
		}
		done += n;
	}
	w->size += len;
	w->bytes_written += len;
	return 0;
}

int ndjson_writer_sync(struct ndjson_writer *w)
{
	if (w->fd >= 0 && fdatasync(w->fd) < 0)
		return -errno;
	return 0;
}

void ndjson_writer_close(struct ndjson_writer *w)
{
	if (w->fd >= 0) {
		fdatasync(w->fd);
		close(w->fd);
	}
	if (w->dir_fd >= 0)
		close(w->dir_fd);
	free(w->dir);
	free(w->name);
	free(w->live_path);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->dir_fd = -1;
}
