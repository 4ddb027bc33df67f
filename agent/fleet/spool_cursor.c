/* spool_cursor.c - the ack cursor file: written by write + rename, read back (v1 or v2) at open. */
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

int spool_cursor_write(struct gw_spool *s)
{
	uint8_t buf[CURSOR_SIZE] = { 0 };
	const struct segment *seg = &s->segs[s->cursor_idx];
	int fd, rc = 0;

	put32(buf, CURSOR_MAGIC);
	put32(buf + 4, CURSOR_VERSION);
	put64(buf + 8, seg->id);
	put64(buf + 16, s->cursor_off);
	put64(buf + 24, s->acked_seq);
	put64(buf + 32, s->high_seq);
	put64(buf + 40, s->st.pending_dropped_batches);
	put64(buf + 48, s->st.pending_dropped_events);
	put64(buf + 56, s->attempted_seq);
	put32(buf + 64, (uint32_t)crc32(0L, buf, 64));

	fd = openat(s->dirfd, "cursor.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	errno = 0;
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		rc = errno ? -errno : -EIO;
	/* the new cursor's bytes, then its name, must be on disk before an ack relies on them */
	if (!rc && fdatasync(fd))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && renameat(s->dirfd, "cursor.tmp", s->dirfd, "cursor"))
		rc = -errno;
	if (!rc && fsync(s->dirfd))
		rc = -errno;
	if (!rc) {
		s->cursor_unsaved_acks = 0;
		s->cursor_saved_ns = mono_ns();
	}
	return rc;
}

/* 1 = read, 0 = absent, -1 = present but unreadable or corrupt */
int spool_cursor_read(struct gw_spool *s, struct cursor_file *c)
{
	uint8_t buf[CURSOR_SIZE];
	int fd = openat(s->dirfd, "cursor", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n == CURSOR_V1_SIZE && get32(buf) == CURSOR_MAGIC && get32(buf + 4) == 1 &&
	    get32(buf + 56) == (uint32_t)crc32(0L, buf, 56))
		put64(buf + 56, 0);
	else if (n != (ssize_t)sizeof(buf) || get32(buf) != CURSOR_MAGIC ||
		 get32(buf + 4) != CURSOR_VERSION || get32(buf + 64) != (uint32_t)crc32(0L, buf, 64))
		return -1;
	c->seg = get64(buf + 8);
	c->off = get64(buf + 16);
	c->acked_seq = get64(buf + 24);
	c->high_seq = get64(buf + 32);
	c->dropped_batches = get64(buf + 40);
	c->dropped_events = get64(buf + 48);
	c->attempted_seq = get64(buf + 56);
	return 1;
}
