/*
 * spool_internal.h - what the spool's pieces share: the on-disk constants, the spool's state,
 * and the record, cursor, segment and recovery helpers the public calls in spool.c are built on.
 * Private to agent/fleet/spool*.c; the API is spool.h.
 */
#ifndef SPOOL_INTERNAL_H
#define SPOOL_INTERNAL_H

#include "spool.h"

#include <stdint.h>
#include <time.h>

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

struct cursor_file {
	uint64_t seg, off, acked_seq, high_seq, dropped_batches, dropped_events, attempted_seq;
};

static inline void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline struct segment *active(struct gw_spool *s)
{
	return &s->segs[s->n_segs - 1];
}

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* spool_record.c */
int spool_record_read(struct gw_spool *s, int fd, uint64_t size, uint64_t off, uint64_t *seq,
		      uint32_t *events, uint32_t *len);
int spool_record_find_next(struct gw_spool *s, int fd, uint64_t size, uint64_t off,
			   uint64_t *next, uint64_t *next_seq);
void spool_record_count_lost(struct gw_spool *s, uint64_t n);

/* spool_cursor.c */
int spool_cursor_write(struct gw_spool *s);
int spool_cursor_read(struct gw_spool *s, struct cursor_file *c);

/* spool_segment.c */
void spool_segment_name(uint64_t id, char *buf, size_t len);
int spool_segment_push(struct gw_spool *s, uint64_t id);
int spool_segment_list(struct gw_spool *s);
void spool_segment_close_read(struct gw_spool *s);
int spool_segment_remove(struct gw_spool *s, uint64_t id);
void spool_segment_forget(struct gw_spool *s, size_t idx);
int spool_segment_add_hole(struct gw_spool *s, uint64_t seg, uint64_t off, uint64_t end);
uint64_t spool_segment_hole_end(const struct gw_spool *s, uint64_t seg, uint64_t off);
int spool_segment_open_active(struct gw_spool *s, bool create);
int spool_segment_open_read(struct gw_spool *s, uint64_t id);

/* spool_recover.c */
int spool_recover(struct gw_spool *s);

#endif
