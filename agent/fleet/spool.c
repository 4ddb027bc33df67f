/* spool.c - append-only, CRC-checked, size-capped batch spool with an ack cursor. See spool.h. */
#include "spool.h"

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

#define CURSOR_MAGIC 0x43535747u /* "GWSC" */
#define CURSOR_VERSION 2u
#define CURSOR_SIZE 72u
#define CURSOR_V1_SIZE 64u	/* without the attempted seq: nothing was sent under a nonce id */
/* In every record header after the lengths and the seq: recovery finds the next record by it. */
#define RECORD_MAGIC 0x52535747u /* "GWSR" */
#define RESYNC_CHUNK 16384u
/*
 * An ack only rewrites the cursor file every this many acks or this long (and always when a
 * segment is deleted, when the spool goes idle and at close): a rename per batch capped a backlog
 * drain at ~2k batches/s here. A crash re-sends at most that many batches, which JetStream's
 * duplicate window discards.
 */
#define CURSOR_EVERY_ACKS 64u
#define CURSOR_EVERY_NS 250000000ull

struct segment {
	uint64_t id;
	uint64_t bytes;
	uint64_t records;
	uint64_t events;
};

/* A run of bad bytes that recovery skipped; the reader jumps over it without counting it again. */
struct hole {
	uint64_t seg;
	uint64_t off, end;
};

struct gw_spool {
	int dirfd;
	int lockfd;
	struct gw_spool_limits limits;

	struct segment *segs; /* ascending ids; the last one is the active (append) segment */
	size_t n_segs, cap_segs;
	int active_fd;
	bool unsynced;
	/*
	 * Bytes of the active segment known to be on disk. Only these are handed to the publisher: a
	 * batch published and then lost from the page cache by a power cut would have its seq re-used
	 * for different data, which JetStream's duplicate window would then silently discard.
	 */
	uint64_t active_synced;

	/* ack cursor: segs[cursor_idx] at cursor_off; records before it in that segment are acked */
	size_t cursor_idx;
	uint64_t cursor_off;
	uint64_t cursor_acked_records, cursor_acked_events;
	uint64_t acked_seq;
	uint64_t high_seq; /* highest seq ever appended */

	int read_fd;
	uint64_t read_seg;

	/*
	 * Seqs up to attempted_seq may have been published (the cursor keeps it a step ahead of the
	 * publisher); attempted_at_open is its value when this process opened the spool.
	 */
	uint64_t attempted_seq, attempted_at_open;

	unsigned cursor_unsaved_acks;
	uint64_t cursor_saved_ns;

	struct hole *holes;
	size_t n_holes, cap_holes;

	char nonce[GW_SPOOL_NONCE_LEN + 1];

	uint8_t *scratch; /* payload buffer for scans */
	size_t scratch_cap;

	struct gw_spool_stats st;
};

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void segment_name(uint64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "%020" PRIu64 ".seg", id);
}

static struct segment *active(struct gw_spool *s)
{
	return &s->segs[s->n_segs - 1];
}

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
static int read_record(struct gw_spool *s, int fd, uint64_t size, uint64_t off, uint64_t *seq,
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
static int find_next_record(struct gw_spool *s, int fd, uint64_t size, uint64_t off,
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
			rc = read_record(s, fd, size, pos + i - 20, &seq, &events, &len);
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
static void count_lost(struct gw_spool *s, uint64_t n)
{
	s->st.lost_records += n;
	s->st.pending_dropped_batches += n;
	s->st.total_dropped_batches += n;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int write_cursor(struct gw_spool *s)
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

struct cursor_file {
	uint64_t seg, off, acked_seq, high_seq, dropped_batches, dropped_events, attempted_seq;
};

/* 1 = read, 0 = absent, -1 = present but unreadable or corrupt */
static int read_cursor(struct gw_spool *s, struct cursor_file *c)
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

static int push_segment(struct gw_spool *s, uint64_t id)
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

static int list_segments(struct gw_spool *s)
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
		segment_name(id, expect, sizeof(expect));
		if (strcmp(expect, de->d_name) == 0 && id > 0)
			rc = push_segment(s, id);
	}
	closedir(d);
	if (!rc && s->n_segs)
		qsort(s->segs, s->n_segs, sizeof(*s->segs), cmp_segment);
	return rc;
}

static void close_read_fd(struct gw_spool *s)
{
	if (s->read_fd >= 0)
		close(s->read_fd);
	s->read_fd = -1;
	s->read_seg = 0;
}

static int remove_segment_file(struct gw_spool *s, uint64_t id)
{
	char name[32];

	if (s->read_seg == id)
		close_read_fd(s);
	segment_name(id, name, sizeof(name));
	if (unlinkat(s->dirfd, name, 0) && errno != ENOENT)
		return -errno;
	return 0;
}

/* Drops segs[idx] from the array (the file is already gone). */
static void forget_segment(struct gw_spool *s, size_t idx)
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

static int add_hole(struct gw_spool *s, uint64_t seg, uint64_t off, uint64_t end)
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
static uint64_t hole_end(const struct gw_spool *s, uint64_t seg, uint64_t off)
{
	for (size_t i = 0; i < s->n_holes; i++)
		if (s->holes[i].seg == seg && s->holes[i].off == off)
			return s->holes[i].end;
	return 0;
}

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

	segment_name(seg->id, name, sizeof(name));
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

		rc = read_record(s, fd, (uint64_t)sb.st_size, off, &seq, &events, &len);
		if (rc == 0)
			break;
		if (rc == -EBADMSG) {
			bool lost_unacked = !acked && (!cursor_off || *cursor_off == UINT64_MAX ||
						       off >= *cursor_off);

			if (!cut)
				s->st.recovered_segments++;
			cut = true;
			rc = find_next_record(s, fd, (uint64_t)sb.st_size, off, &next, &seq);
			if (rc < 0)
				goto out;
			if (rc == 0) {
				/* a torn tail: the write of one record did not finish */
				s->st.recovered_bytes += (uint64_t)sb.st_size - off;
				if (lost_unacked)
					count_lost(s, 1);
				if (ftruncate(fd, (off_t)off) || fdatasync(fd)) {
					rc = -errno;
					goto out;
				}
				break;
			}
			s->st.recovered_bytes += next - off;
			rc = add_hole(s, seg->id, off, next);
			if (rc)
				goto out;
			if (lost_unacked)
				count_lost(s, *prev_seq && seq > *prev_seq + 1 ? seq - *prev_seq - 1 : 1);
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

static int open_active(struct gw_spool *s, bool create)
{
	char name[32];
	int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0);

	segment_name(active(s)->id, name, sizeof(name));
	s->active_fd = openat(s->dirfd, name, flags, 0600);
	if (s->active_fd < 0)
		return -errno;
	if (create ? fsync(s->dirfd) : fdatasync(s->active_fd))
		return -errno;
	s->active_synced = active(s)->bytes;
	s->unsynced = false;
	return 0;
}

static int recover(struct gw_spool *s)
{
	struct cursor_file c = { 0 };
	int have = read_cursor(s, &c);
	uint64_t prev_seq = 0;
	size_t i;
	int rc;

	if (have < 0) {
		s->st.cursor_reset = true;
		memset(&c, 0, sizeof(c));
	}
	rc = list_segments(s);
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
		rc = remove_segment_file(s, s->segs[0].id);
		if (rc)
			return rc;
		forget_segment(s, 0);
	}
	if (s->n_segs == 0 || s->cursor_idx == s->n_segs) {
		/* Nothing (left) to read: start a fresh active segment and put the cursor on it. */
		uint64_t id = s->n_segs ? active(s)->id + 1 : (c.seg ? c.seg + 1 : 1);

		while (s->n_segs) {
			rc = remove_segment_file(s, s->segs[0].id);
			if (rc)
				return rc;
			forget_segment(s, 0);
		}
		rc = push_segment(s, id);
		if (rc)
			return rc;
		s->cursor_idx = 0;
		s->cursor_off = 0;
		s->cursor_acked_records = s->cursor_acked_events = 0;
		rc = open_active(s, true);
	} else {
		rc = open_active(s, false);
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
	return write_cursor(s);
}

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
	rc = recover(s);
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
		write_cursor(s);
	if (s->active_fd >= 0) {
		if (s->unsynced)
			fdatasync(s->active_fd);
		close(s->active_fd);
	}
	close_read_fd(s);
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
	return write_cursor(s);
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
	rc = push_segment(s, id);
	if (rc)
		return rc;
	close(s->active_fd);
	s->active_fd = -1;
	rc = open_active(s, true);
	if (rc) {
		s->n_segs--;
		/* reopen the previous active segment so appends keep working */
		if (open_active(s, false))
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
	rc = remove_segment_file(s, seg->id);
	if (rc)
		return rc;
	forget_segment(s, 0);
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
	return write_cursor(s);
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
		return write_cursor(s);
	}
	return 0;
}

static int open_read_fd(struct gw_spool *s, uint64_t id)
{
	char name[32];

	if (s->read_fd >= 0 && s->read_seg == id)
		return 0;
	close_read_fd(s);
	segment_name(id, name, sizeof(name));
	s->read_fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (s->read_fd < 0)
		return -errno;
	s->read_seg = id;
	return 0;
}

/* The cursor reached the end of a non-active segment: it is fully acked, delete it. */
static int advance_past_cursor_segment(struct gw_spool *s)
{
	int rc = remove_segment_file(s, s->segs[s->cursor_idx].id);

	if (rc)
		return rc;
	forget_segment(s, s->cursor_idx);
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
			return s->cursor_unsaved_acks ? write_cursor(s) : 0;
		if (s->cursor_off >= seg->bytes) {
			rc = advance_past_cursor_segment(s);
			if (rc)
				return rc;
			rc = write_cursor(s);
			if (rc)
				return rc;
			continue;
		}
		rc = open_read_fd(s, seg->id);
		if (rc)
			return rc;
		rc = read_record(s, s->read_fd, seg->bytes, s->cursor_off, &seq, &events, &len);
		if (rc == -EBADMSG && hole_end(s, seg->id, s->cursor_off)) {
			/* skipped and counted by recovery */
			s->cursor_off = hole_end(s, seg->id, s->cursor_off);
			continue;
		}
		if (rc == -EBADMSG) {
			uint64_t next, next_seq;

			/* garbled since it was written: skip to the next good record, counted */
			rc = find_next_record(s, s->read_fd, seg->bytes, s->cursor_off, &next,
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
				count_lost(s, lost);
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
			count_lost(s, lost_b);
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
		rc = write_cursor(s);
		if (rc)
			return rc;
		rc = remove_segment_file(s, s->segs[s->cursor_idx - 1].id);
		if (rc)
			return rc;
		forget_segment(s, s->cursor_idx - 1);
		s->st.segments = s->n_segs;
		return 0;
	}
	if (++s->cursor_unsaved_acks >= CURSOR_EVERY_ACKS ||
	    mono_ns() - s->cursor_saved_ns >= CURSOR_EVERY_NS)
		return write_cursor(s);
	return 0;
}

void gw_spool_get_stats(const struct gw_spool *s, struct gw_spool_stats *st)
{
	*st = s->st;
}
