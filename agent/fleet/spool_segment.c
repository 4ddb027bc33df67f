/* spool_segment.c - the segment files: naming, listing, opening, deleting, and skipped holes. */
#include "spool_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

void spool_segment_name(uint64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "%020" PRIu64 ".seg", id);
}

int spool_segment_push(struct gw_spool *s, uint64_t id)
{
	if (s->n_segs == s->cap_segs) {
		size_t cap = s->cap_segs ? s->cap_segs * 2 : 16;
		struct segment *p = realloc(s->segs, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->segs = p;
		s->cap_segs = cap;
	}
	s->segs[s->n_segs++] = (struct segment){ .id = id };
	return 0;
}

static int cmp_segment(const void *a, const void *b)
{
	uint64_t x = ((const struct segment *)a)->id, y = ((const struct segment *)b)->id;

	return x < y ? -1 : x > y;
}

int spool_segment_list(struct gw_spool *s)
{
	int fd = dup(s->dirfd);
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while (!rc && (de = readdir(d))) {
		char expect[32];
		uint64_t id;

		if (strlen(de->d_name) != 24 || sscanf(de->d_name, "%20" SCNu64, &id) != 1)
			continue;
		spool_segment_name(id, expect, sizeof(expect));
		if (strcmp(expect, de->d_name) == 0 && id > 0)
			rc = spool_segment_push(s, id);
	}
	closedir(d);
	if (!rc && s->n_segs)
		qsort(s->segs, s->n_segs, sizeof(*s->segs), cmp_segment);
	return rc;
}

void spool_segment_close_read(struct gw_spool *s)
{
	if (s->read_fd >= 0)
		close(s->read_fd);
	s->read_fd = -1;
	s->read_seg = 0;
}

int spool_segment_remove(struct gw_spool *s, uint64_t id)
{
	char name[32];

	if (s->read_seg == id)
		spool_segment_close_read(s);
	spool_segment_name(id, name, sizeof(name));
	if (unlinkat(s->dirfd, name, 0) && errno != ENOENT)
		return -errno;
	return 0;
}

/* Drops segs[idx] from the array (the file is already gone). */
void spool_segment_forget(struct gw_spool *s, size_t idx)
{
	for (size_t i = 0; i < s->n_holes;)
		if (s->holes[i].seg == s->segs[idx].id)
			s->holes[i] = s->holes[--s->n_holes];
		else
			i++;
	s->st.bytes -= s->segs[idx].bytes;
	memmove(&s->segs[idx], &s->segs[idx + 1], (s->n_segs - idx - 1) * sizeof(*s->segs));
	s->n_segs--;
	if (s->cursor_idx > idx)
		s->cursor_idx--;
}

int spool_segment_add_hole(struct gw_spool *s, uint64_t seg, uint64_t off, uint64_t end)
{
	if (s->n_holes == s->cap_holes) {
		size_t cap = s->cap_holes ? s->cap_holes * 2 : 8;
		struct hole *p = realloc(s->holes, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->holes = p;
		s->cap_holes = cap;
	}
	s->holes[s->n_holes++] = (struct hole){ seg, off, end };
	return 0;
}

/* The end of the hole starting at off in segment seg, or 0. */
uint64_t spool_segment_hole_end(const struct gw_spool *s, uint64_t seg, uint64_t off)
{
	for (size_t i = 0; i < s->n_holes; i++)
		if (s->holes[i].seg == seg && s->holes[i].off == off)
			return s->holes[i].end;
	return 0;
}

int spool_segment_open_active(struct gw_spool *s, bool create)
{
	char name[32];
	int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0);

	spool_segment_name(active(s)->id, name, sizeof(name));
	s->active_fd = openat(s->dirfd, name, flags, 0600);
	if (s->active_fd < 0)
		return -errno;
	if (create ? fsync(s->dirfd) : fdatasync(s->active_fd))
		return -errno;
	s->active_synced = active(s)->bytes;
	s->unsynced = false;
	return 0;
}

int spool_segment_open_read(struct gw_spool *s, uint64_t id)
{
	char name[32];

	if (s->read_fd >= 0 && s->read_seg == id)
		return 0;
	spool_segment_close_read(s);
	spool_segment_name(id, name, sizeof(name));
	s->read_fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (s->read_fd < 0)
		return -errno;
	s->read_seg = id;
	return 0;
}
