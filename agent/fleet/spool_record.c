/* spool_record.c - reading one spool record back and finding the next good one past bad bytes. */
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

static int grow_scratch(struct gw_spool *s, size_t need)
{
	uint8_t *p;

	if (need <= s->scratch_cap)
		return 0;
	p = realloc(s->scratch, need);
	if (!p)
		return -ENOMEM;
	s->scratch = p;
	s->scratch_cap = need;
	return 0;
}

static int full_pread(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		done += (size_t)n;
	}
	return 0;
}

/*
 * Reads and verifies the record at off. Returns 1 with the header fields and the payload in
 * s->scratch, 0 at a clean end of segment, -EBADMSG for a short/garbled record, other -errno for
 * I/O errors.
 */
int spool_record_read(struct gw_spool *s, int fd, uint64_t size, uint64_t off, uint64_t *seq,
		      uint32_t *events, uint32_t *len)
{
	uint8_t hdr[GW_SPOOL_RECORD_HDR];
	uint32_t crc;
	int rc;

	if (off == size)
		return 0;
	if (size - off < GW_SPOOL_RECORD_HDR)
		return -EBADMSG;
	rc = full_pread(fd, hdr, sizeof(hdr), off);
	if (rc)
		return rc == -ENODATA ? -EBADMSG : rc;
	*len = get32(hdr);
	/* 0: a record written before records carried the magic, still valid by its CRC */
	if (*len > GW_SPOOL_MAX_RECORD || *len > size - off - GW_SPOOL_RECORD_HDR ||
	    (get32(hdr + 20) != RECORD_MAGIC && get32(hdr + 20) != 0))
		return -EBADMSG;
	rc = grow_scratch(s, *len ? *len : 1);
	if (rc)
		return rc;
	rc = full_pread(fd, s->scratch, *len, off + GW_SPOOL_RECORD_HDR);
	if (rc)
		return rc == -ENODATA ? -EBADMSG : rc;
	crc = (uint32_t)crc32(0L, hdr + 8, GW_SPOOL_RECORD_HDR - 8);
	crc = (uint32_t)crc32(crc, s->scratch, *len);
	if (crc != get32(hdr + 4))
		return -EBADMSG;
	*seq = get64(hdr + 8);
	*events = get32(hdr + 16);
	return 1;
}

/*
 * After a bad record at off: the offset of the next record past it whose magic and CRC check out,
 * with its seq. Returns 1 when found, 0 when nothing valid follows (a torn tail), or -errno.
 */
int spool_record_find_next(struct gw_spool *s, int fd, uint64_t size, uint64_t off,
			   uint64_t *next, uint64_t *next_seq)
{
	uint8_t buf[RESYNC_CHUNK];
	uint64_t pos = off + 1;

	while (pos + GW_SPOOL_RECORD_HDR <= size) {
		size_t want = size - pos < sizeof(buf) ? (size_t)(size - pos) : sizeof(buf);
		int rc = full_pread(fd, buf, want, pos);

		if (rc)
			return rc == -ENODATA ? 0 : rc;
		for (size_t i = 20; i + 4 <= want; i++) {
			uint32_t events, len;
			uint64_t seq;

			if (get32(buf + i) != RECORD_MAGIC)
				continue;
			rc = spool_record_read(s, fd, size, pos + i - 20, &seq, &events, &len);
			if (rc == 1) {
				*next = pos + i - 20;
				*next_seq = seq;
				return 1;
			}
			if (rc < 0 && rc != -EBADMSG)
				return rc;
		}
		/* the next window overlaps by a header so a magic on the edge is not missed */
		if (want < GW_SPOOL_RECORD_HDR + 4 || pos + want >= size)
			break;
		pos += want - GW_SPOOL_RECORD_HDR - 4 + 1;
	}
	return 0;
}

/* Records lost to corruption: reported in the next batch like the cap's drops. */
void spool_record_count_lost(struct gw_spool *s, uint64_t n)
{
	s->st.lost_records += n;
	s->st.pending_dropped_batches += n;
	s->st.total_dropped_batches += n;
}
