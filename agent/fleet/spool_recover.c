/* spool_recover.c - recovery at open: scans segments, skips or cuts bad bytes, finds the cursor. */
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

/*
 * Scans one segment at open: keeps every valid record, skips a bad one up to the next record whose
 * magic and CRC check out, and truncates a bad tail. Records lost that way are counted unless they
 * were acked already (`acked`, or before the cursor); *prev_seq is the last good seq seen, across
 * segments, so a gap in seqs says how many went. cursor_off (or UINT64_MAX when the cursor is not
 * in this segment) is snapped to a record boundary at or before it, and the acked records before
 * it are counted.
 */
static int scan_segment(struct gw_spool *s, struct segment *seg, uint64_t *cursor_off, bool acked,
			uint64_t *prev_seq)
{
	char name[32];
	struct stat sb;
	uint64_t off = 0, boundary = 0, acked_r = 0, acked_e = 0;
	bool cut = false;
	int fd, rc;

	spool_segment_name(seg->id, name, sizeof(name));
	fd = openat(s->dirfd, name, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb)) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		uint64_t seq, next;
		uint32_t events, len;

		rc = spool_record_read(s, fd, (uint64_t)sb.st_size, off, &seq, &events, &len);
		if (rc == 0)
			break;
		if (rc == -EBADMSG) {
			bool lost_unacked = !acked && (!cursor_off || *cursor_off == UINT64_MAX ||
						       off >= *cursor_off);

			if (!cut)
				s->st.recovered_segments++;
			cut = true;
			rc = spool_record_find_next(s, fd, (uint64_t)sb.st_size, off, &next, &seq);
			if (rc < 0)
				goto out;
			if (rc == 0) {
				/* a torn tail: the write of one record did not finish */
				s->st.recovered_bytes += (uint64_t)sb.st_size - off;
				if (lost_unacked)
					spool_record_count_lost(s, 1);
				if (ftruncate(fd, (off_t)off) || fdatasync(fd)) {
					rc = -errno;
					goto out;
				}
				break;
			}
			s->st.recovered_bytes += next - off;
			rc = spool_segment_add_hole(s, seg->id, off, next);
			if (rc)
				goto out;
			if (lost_unacked)
				spool_record_count_lost(s, *prev_seq && seq > *prev_seq + 1 ?
								   seq - *prev_seq - 1 : 1);
			off = next;
			continue;
		}
		if (rc < 0)
			goto out;
		if (cursor_off && off < *cursor_off && *cursor_off != UINT64_MAX) {
			/* record starts before the cursor: acked only if it also ends by it */
			if (off + GW_SPOOL_RECORD_HDR + len <= *cursor_off) {
				boundary = off + GW_SPOOL_RECORD_HDR + len;
				acked_r++;
				acked_e += events;
			}
		}
		seg->records++;
		seg->events += events;
		if (seq > s->high_seq)
			s->high_seq = seq;
		*prev_seq = seq;
		off += GW_SPOOL_RECORD_HDR + len;
	}
	rc = 0;
	seg->bytes = off;
	if (cursor_off && *cursor_off != UINT64_MAX) {
		*cursor_off = boundary;
		s->cursor_acked_records = acked_r;
		s->cursor_acked_events = acked_e;
	}
out:
	close(fd);
	return rc;
}

int spool_recover(struct gw_spool *s)
{
	struct cursor_file c = { 0 };
	int have = spool_cursor_read(s, &c);
	uint64_t prev_seq = 0;
	size_t i;
	int rc;

	if (have < 0) {
		s->st.cursor_reset = true;
		memset(&c, 0, sizeof(c));
	}
	rc = spool_segment_list(s);
	if (rc)
		return rc;
	s->acked_seq = c.acked_seq;
	s->high_seq = c.high_seq > c.acked_seq ? c.high_seq : c.acked_seq;
	s->st.pending_dropped_batches = c.dropped_batches;
	s->st.pending_dropped_events = c.dropped_events;
	s->attempted_seq = s->attempted_at_open = c.attempted_seq;

	/* The cursor segment is the first one at or after the saved id; earlier ones were acked. */
	s->cursor_idx = s->n_segs;
	for (i = 0; i < s->n_segs; i++) {
		if (s->segs[i].id >= c.seg) {
			s->cursor_idx = i;
			break;
		}
	}
	s->cursor_off = 0;
	for (i = 0; i < s->n_segs; i++) {
		uint64_t off = UINT64_MAX;
		bool at_cursor = i == s->cursor_idx && s->segs[i].id == c.seg;

		if (at_cursor)
			off = c.off;
		rc = scan_segment(s, &s->segs[i], at_cursor ? &off : NULL, i < s->cursor_idx,
				  &prev_seq);
		if (rc)
			return rc;
		if (at_cursor)
			s->cursor_off = off;
		s->st.bytes += s->segs[i].bytes;
	}
	/* Segments wholly before the cursor were acked; a crash kept them from being deleted. */
	while (s->cursor_idx > 0 && s->cursor_idx < s->n_segs) {
		rc = spool_segment_remove(s, s->segs[0].id);
		if (rc)
			return rc;
		spool_segment_forget(s, 0);
	}
	if (s->n_segs == 0 || s->cursor_idx == s->n_segs) {
		/* Nothing (left) to read: start a fresh active segment and put the cursor on it. */
		uint64_t id = s->n_segs ? active(s)->id + 1 : (c.seg ? c.seg + 1 : 1);

		while (s->n_segs) {
			rc = spool_segment_remove(s, s->segs[0].id);
			if (rc)
				return rc;
			spool_segment_forget(s, 0);
		}
		rc = spool_segment_push(s, id);
		if (rc)
			return rc;
		s->cursor_idx = 0;
		s->cursor_off = 0;
		s->cursor_acked_records = s->cursor_acked_events = 0;
		rc = spool_segment_open_active(s, true);
	} else {
		rc = spool_segment_open_active(s, false);
	}
	if (rc)
		return rc;
	for (i = s->cursor_idx; i < s->n_segs; i++) {
		s->st.unacked_batches += s->segs[i].records;
		s->st.unacked_events += s->segs[i].events;
	}
	s->st.unacked_batches -= s->cursor_acked_records;
	s->st.unacked_events -= s->cursor_acked_events;
	s->st.segments = s->n_segs;
	return spool_cursor_write(s);
}
