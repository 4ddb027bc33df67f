/* spool.c - append-only, CRC-checked, size-capped batch spool with an ack cursor. See spool.h. */
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

static bool nonce_valid(const char *n, size_t len)
{
	if (len != GW_SPOOL_NONCE_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f')))
			return false;
	return true;
}

/* Reads the spool's nonce, or makes one (random, durable before anything is published with it). */
static int load_nonce(struct gw_spool *s)
{
	uint8_t raw[GW_SPOOL_NONCE_LEN / 2];
	char buf[GW_SPOOL_NONCE_LEN + 1];
	int fd = openat(s->dirfd, "nonce", O_RDONLY | O_CLOEXEC), rc = 0;
	ssize_t n;

	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n == GW_SPOOL_NONCE_LEN && nonce_valid(buf, (size_t)n)) {
			memcpy(s->nonce, buf, GW_SPOOL_NONCE_LEN);
			s->nonce[GW_SPOOL_NONCE_LEN] = '\0';
			return 0;
		}
	}
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -EIO;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(s->nonce + 2 * i, 3, "%02x", raw[i]);
	fd = openat(s->dirfd, "nonce.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, s->nonce, GW_SPOOL_NONCE_LEN) != GW_SPOOL_NONCE_LEN || fdatasync(fd))
		rc = errno ? -errno : -EIO;
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && renameat(s->dirfd, "nonce.tmp", s->dirfd, "nonce"))
		rc = -errno;
	if (!rc && fsync(s->dirfd))
		rc = -errno;
	return rc;
}

struct gw_spool *gw_spool_open(const char *dir, const struct gw_spool_limits *limits, char *err,
			       size_t errlen)
{
	struct gw_spool *s = calloc(1, sizeof(*s));
	int rc;

	if (!s) {
		snprintf(err, errlen, "spool %s: out of memory", dir);
		return NULL;
	}
	s->dirfd = s->lockfd = s->active_fd = s->read_fd = -1;
	s->limits = *limits;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "spool %s: cannot create: %s", dir, strerror(errno));
		goto fail;
	}
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		snprintf(err, errlen, "spool %s: cannot open: %s", dir, strerror(errno));
		goto fail;
	}
	s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lockfd < 0 || flock(s->lockfd, LOCK_EX | LOCK_NB)) {
		snprintf(err, errlen, "spool %s: %s", dir,
			 errno == EWOULDBLOCK ? "in use by another ghostwatch process"
					      : strerror(errno));
		goto fail;
	}
	rc = load_nonce(s);
	if (rc) {
		snprintf(err, errlen, "spool %s: cannot make its nonce: %s", dir, strerror(-rc));
		goto fail;
	}
	rc = spool_recover(s);
	if (rc) {
		snprintf(err, errlen, "spool %s: recovery failed: %s", dir, strerror(-rc));
		goto fail;
	}
	return s;
fail:
	gw_spool_close(s);
	return NULL;
}

void gw_spool_close(struct gw_spool *s)
{
	if (!s)
		return;
	if (s->cursor_unsaved_acks && s->n_segs)
		spool_cursor_write(s);
	if (s->active_fd >= 0) {
		if (s->unsynced)
			fdatasync(s->active_fd);
		close(s->active_fd);
	}
	spool_segment_close_read(s);
	if (s->lockfd >= 0)
		close(s->lockfd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->segs);
	free(s->holes);
	free(s->scratch);
	free(s);
}

void gw_spool_set_limits(struct gw_spool *s, const struct gw_spool_limits *limits)
{
	s->limits = *limits;
}

int gw_spool_note_attempt(struct gw_spool *s, uint64_t seq)
{
	if (seq <= s->attempted_seq)
		return 0;
	s->attempted_seq = seq + GW_SPOOL_ATTEMPT_AHEAD;
	return spool_cursor_write(s);
}

bool gw_spool_may_have_sent(const struct gw_spool *s, uint64_t seq)
{
	return seq <= s->attempted_at_open;
}

const char *gw_spool_nonce(const struct gw_spool *s)
{
	return s->nonce;
}

uint64_t gw_spool_next_seq(const struct gw_spool *s)
{
	return s->high_seq + 1;
}

int gw_spool_sync(struct gw_spool *s)
{
	if (!s->unsynced)
		return 0;
	if (fdatasync(s->active_fd))
		return -errno;
	s->active_synced = active(s)->bytes;
	s->unsynced = false;
	s->st.syncs++;
	return 0;
}

static int rotate(struct gw_spool *s)
{
	uint64_t id = active(s)->id + 1;
	int rc = gw_spool_sync(s);

	if (rc)
		return rc;
	rc = spool_segment_push(s, id);
	if (rc)
		return rc;
	close(s->active_fd);
	s->active_fd = -1;
	rc = spool_segment_open_active(s, true);
	if (rc) {
		s->n_segs--;
		/* reopen the previous active segment so appends keep working */
		if (spool_segment_open_active(s, false))
			s->active_fd = -1;
		return rc;
	}
	s->st.segments = s->n_segs;
	return 0;
}

/* Deletes the oldest segment (never the active one), counting what had not been acked. */
static int evict_oldest(struct gw_spool *s)
{
	struct segment *seg = &s->segs[0];
	bool cursor_here = s->cursor_idx == 0;
	uint64_t lost_b = 0, lost_e = 0;
	int rc;

	if (cursor_here) {
		lost_b = seg->records - s->cursor_acked_records;
		lost_e = seg->events - s->cursor_acked_events;
	}
	rc = spool_segment_remove(s, seg->id);
	if (rc)
		return rc;
	spool_segment_forget(s, 0);
	if (cursor_here) {
		s->cursor_off = 0;
		s->cursor_acked_records = s->cursor_acked_events = 0;
	}
	s->st.unacked_batches -= lost_b;
	s->st.unacked_events -= lost_e;
	s->st.pending_dropped_batches += lost_b;
	s->st.pending_dropped_events += lost_e;
	s->st.total_dropped_batches += lost_b;
	s->st.total_dropped_events += lost_e;
	s->st.segments = s->n_segs;
	return spool_cursor_write(s);
}

int gw_spool_append(struct gw_spool *s, uint64_t seq, uint32_t events, const void *data, size_t len,
		    uint64_t reported_batches, uint64_t reported_events)
{
	uint8_t hdr[GW_SPOOL_RECORD_HDR];
	uint64_t rec = GW_SPOOL_RECORD_HDR + len;
	struct iovec iov[2];
	size_t done = 0;
	uint32_t crc;
	int rc;

	if (len > GW_SPOOL_MAX_RECORD)
		return -EMSGSIZE;
	if (seq <= s->high_seq)
		return -EINVAL;
	if (s->active_fd < 0)
		return -EBADF;
	if (active(s)->bytes && active(s)->bytes + rec > s->limits.segment_bytes) {
		rc = rotate(s);
		if (rc)
			return rc;
	}
	while (s->n_segs > 1 && s->st.bytes + rec > s->limits.max_bytes) {
		rc = evict_oldest(s);
		if (rc)
			return rc;
	}

	put32(hdr, (uint32_t)len);
	put64(hdr + 8, seq);
	put32(hdr + 16, events);
	put32(hdr + 20, RECORD_MAGIC);
	crc = (uint32_t)crc32(0L, hdr + 8, GW_SPOOL_RECORD_HDR - 8);
	crc = (uint32_t)crc32(crc, data, (uInt)len);
	put32(hdr + 4, crc);

	while (done < rec) {
		ssize_t n;

		if (done < GW_SPOOL_RECORD_HDR) {
			iov[0] = (struct iovec){ hdr + done, GW_SPOOL_RECORD_HDR - done };
			iov[1] = (struct iovec){ (void *)data, len };
			n = pwritev(s->active_fd, iov, 2, (off_t)(active(s)->bytes + done));
		} else {
			iov[0] = (struct iovec){ (char *)data + (done - GW_SPOOL_RECORD_HDR),
						 rec - done };
			n = pwritev(s->active_fd, iov, 1, (off_t)(active(s)->bytes + done));
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			/* leave no torn record behind for the reader */
			if (ftruncate(s->active_fd, (off_t)active(s)->bytes))
				rc = -errno;
			return rc;
		}
		done += (size_t)n;
	}
	active(s)->bytes += rec;
	active(s)->records++;
	active(s)->events += events;
	s->st.bytes += rec;
	s->st.unacked_batches++;
	s->st.unacked_events += events;
	s->st.appended++;
	s->high_seq = seq;
	s->unsynced = true;
	if (reported_batches || reported_events) {
		s->st.pending_dropped_batches -= reported_batches < s->st.pending_dropped_batches
							 ? reported_batches
							 : s->st.pending_dropped_batches;
		s->st.pending_dropped_events -= reported_events < s->st.pending_dropped_events
							? reported_events
							: s->st.pending_dropped_events;
		return spool_cursor_write(s);
	}
	return 0;
}

/* The cursor reached the end of a non-active segment: it is fully acked, delete it. */
static int advance_past_cursor_segment(struct gw_spool *s)
{
	int rc = spool_segment_remove(s, s->segs[s->cursor_idx].id);

	if (rc)
		return rc;
	spool_segment_forget(s, s->cursor_idx);
	s->cursor_off = 0;
	s->cursor_acked_records = s->cursor_acked_events = 0;
	s->st.segments = s->n_segs;
	return 0;
}

int gw_spool_peek(struct gw_spool *s, struct gw_spool_record *rec)
{
	for (;;) {
		struct segment *seg = &s->segs[s->cursor_idx];
		bool is_active = s->cursor_idx == s->n_segs - 1;
		uint64_t seq;
		uint32_t events, len;
		int rc;

		if (is_active && s->cursor_off >= s->active_synced)
			return s->cursor_unsaved_acks ? spool_cursor_write(s) : 0;
		if (s->cursor_off >= seg->bytes) {
			rc = advance_past_cursor_segment(s);
			if (rc)
				return rc;
			rc = spool_cursor_write(s);
			if (rc)
				return rc;
			continue;
		}
		rc = spool_segment_open_read(s, seg->id);
		if (rc)
			return rc;
		rc = spool_record_read(s, s->read_fd, seg->bytes, s->cursor_off, &seq, &events,
				       &len);
		if (rc == -EBADMSG && spool_segment_hole_end(s, seg->id, s->cursor_off)) {
			/* skipped and counted by recovery */
			s->cursor_off = spool_segment_hole_end(s, seg->id, s->cursor_off);
			continue;
		}
		if (rc == -EBADMSG) {
			uint64_t next, next_seq;

			/* garbled since it was written: skip to the next good record, counted */
			rc = spool_record_find_next(s, s->read_fd, seg->bytes, s->cursor_off, &next,
						    &next_seq);
			if (rc < 0)
				return rc;
			if (rc == 1) {
				uint64_t lost = next_seq > s->acked_seq + 1 ? next_seq - s->acked_seq - 1
									    : 1;
				uint64_t left = seg->records - s->cursor_acked_records;

				if (lost > left)
					lost = left;
				s->st.recovered_bytes += next - s->cursor_off;
				s->st.recovered_segments++;
				s->st.unacked_batches -= lost;
				s->cursor_acked_records += lost;
				s->cursor_off = next;
				spool_record_count_lost(s, lost);
				continue;
			}
			rc = -EBADMSG;
		}
		if (rc == -EBADMSG || rc == 0) {
			/* nothing good after it: give up the rest of this segment, counted */
			uint64_t lost_b = seg->records - s->cursor_acked_records;
			uint64_t lost_e = seg->events - s->cursor_acked_events;

			s->st.recovered_bytes += seg->bytes - s->cursor_off;
			s->st.recovered_segments++;
			s->st.unacked_batches -= lost_b;
			s->st.unacked_events -= lost_e;
			spool_record_count_lost(s, lost_b);
			s->st.pending_dropped_events += lost_e;
			s->st.total_dropped_events += lost_e;
			s->st.bytes -= seg->bytes - s->cursor_off;
			seg->records = s->cursor_acked_records;
			seg->events = s->cursor_acked_events;
			seg->bytes = s->cursor_off;
			if (is_active) {
				if (ftruncate(s->active_fd, (off_t)seg->bytes))
					return -errno;
				s->active_synced = seg->bytes;
			}
			continue;
		}
		if (rc < 0)
			return rc;
		rec->data = malloc(len ? len : 1);
		if (!rec->data)
			return -ENOMEM;
		memcpy(rec->data, s->scratch, len);
		rec->len = len;
		rec->seq = seq;
		rec->events = events;
		rec->segment = seg->id;
		rec->offset = s->cursor_off;
		return 1;
	}
}

int gw_spool_ack(struct gw_spool *s, const struct gw_spool_record *rec)
{
	struct segment *seg = &s->segs[s->cursor_idx];
	int rc;

	if (rec->segment != seg->id || rec->offset != s->cursor_off)
		return 1;
	s->cursor_off += GW_SPOOL_RECORD_HDR + rec->len;
	s->cursor_acked_records++;
	s->cursor_acked_events += rec->events;
	s->acked_seq = rec->seq;
	s->st.unacked_batches--;
	s->st.unacked_events -= rec->events;
	s->st.acked++;
	if (s->cursor_off >= seg->bytes && s->cursor_idx < s->n_segs - 1) {
		/* the cursor must name the next segment before this one disappears */
		s->cursor_idx++;
		s->cursor_off = 0;
		s->cursor_acked_records = s->cursor_acked_events = 0;
		rc = spool_cursor_write(s);
		if (rc)
			return rc;
		rc = spool_segment_remove(s, s->segs[s->cursor_idx - 1].id);
		if (rc)
			return rc;
		spool_segment_forget(s, s->cursor_idx - 1);
		s->st.segments = s->n_segs;
		return 0;
	}
	if (++s->cursor_unsaved_acks >= CURSOR_EVERY_ACKS ||
	    mono_ns() - s->cursor_saved_ns >= CURSOR_EVERY_NS)
		return spool_cursor_write(s);
	return 0;
}

void gw_spool_get_stats(const struct gw_spool *s, struct gw_spool_stats *st)
{
	*st = s->st;
}
