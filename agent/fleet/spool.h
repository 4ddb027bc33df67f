/*
 * spool.h - the agent's disk spool: every batch is written here before it is published, and only
 * removed once the collector's JetStream acknowledged it, so restarts, SIGKILL and collector outages
 * lose nothing (up to the size cap, and what the cap drops is counted).
 *
 * Layout of the spool directory:
 *   00000000000000000001.seg ...  append-only segments, named by increasing id. A segment is a run of
 *                                records: [u32 len][u32 crc32][u64 seq][u32 events][u32 magic]
 *                                [len bytes] (little endian; magic "GWSR", 0 in older records; the
 *                                crc covers everything after itself). The payload
 *                                is the zlib-compressed batch; seq and events let the spool count and
 *                                order batches without decoding them.
 *   cursor                       the ack cursor (segment id, offset, last acked seq, drops not yet
 *                                reported, the highest seq that may have been published), replaced
 *                                by write + rename so it is never half-written.
 *   lock                         flock()ed while a process owns the spool.
 *   nonce                        16 random hex digits made with the spool, part of every batch's
 *                                Nats-Msg-Id: another host cannot predict the id of this one's
 *                                batches and so cannot make JetStream discard them as duplicates.
 *
 * Recovery at open skips a short or bad-CRC record (a garbled disk) up to the next record whose magic
 * and CRC check out, and truncates a bad tail (a write interrupted by a crash); it counts the bytes
 * skipped and the records lost (by the gap in their seqs), which are reported like the cap's drops. The batch sequence number lives here
 * too: the next seq is one past the highest ever appended or acked, so it keeps increasing across
 * restarts even when every segment has been acknowledged and deleted.
 *
 * Durability: gw_spool_sync() fdatasyncs the active segment; callers append a group of batches and
 * sync once. The cursor is written, fdatasynced, renamed and its directory fsynced, after an ack only
 * every 64 acks / 250 ms (and whenever a segment is deleted, the spool goes idle, or it is closed):
 * after a crash or power loss it may be a little behind, which only re-sends batches that
 * JetStream's duplicate window (Nats-Msg-Id) discards.
 *
 * Not thread-safe: the forwarder serialises access with its own lock.
 */
#ifndef GW_SPOOL_H
#define GW_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_SPOOL_RECORD_HDR 24u
#define GW_SPOOL_MAX_RECORD (64u << 20) /* anything larger in a header is corruption */
#define GW_SPOOL_NONCE_LEN 16
#define GW_SPOOL_ATTEMPT_AHEAD 64 /* the cursor notes attempts this many seqs ahead */

struct gw_spool;

struct gw_spool_limits {
	uint64_t max_bytes;	/* total segment bytes; oldest segments are dropped past this */
	uint64_t segment_bytes; /* start a new segment once the active one reaches this */
};

/* What open found and what the cap has done; all counters are since open unless noted. */
struct gw_spool_stats {
	uint64_t bytes;			/* segment bytes on disk */
	uint64_t segments;
	uint64_t unacked_batches;
	uint64_t unacked_events;
	uint64_t pending_dropped_batches; /* dropped by the cap, not yet reported in a batch */
	uint64_t pending_dropped_events;
	uint64_t total_dropped_batches;
	uint64_t total_dropped_events;
	uint64_t recovered_bytes;	/* cut off at open: torn or corrupt tails */
	uint64_t recovered_segments;	/* segments that needed a cut */
	uint64_t lost_records;		/* records lost to corruption (also in the dropped counts) */
	bool cursor_reset;		/* the cursor file was unreadable: restarted from the oldest */
	uint64_t appended;
	uint64_t acked;
	uint64_t syncs;
};

struct gw_spool_record {
	uint64_t seq;
	uint32_t events;
	uint32_t len;
	uint8_t *data; /* malloc'd payload, the caller frees it */
	/* where it was: an ack only applies while the cursor is still there */
	uint64_t segment;
	uint64_t offset;
};

/*
 * Opens (creating it 0700 if needed) and recovers a spool directory. Returns NULL with a message in
 * err when the directory cannot be used or another process holds it.
 */
struct gw_spool *gw_spool_open(const char *dir, const struct gw_spool_limits *limits, char *err,
			       size_t errlen);
void gw_spool_close(struct gw_spool *s);

void gw_spool_set_limits(struct gw_spool *s, const struct gw_spool_limits *limits);

/*
 * Called before the first publish of seq: keeps the cursor's "may have been published" mark at or
 * past it (one cursor write per GW_SPOOL_ATTEMPT_AHEAD seqs). 0 or -errno.
 */
int gw_spool_note_attempt(struct gw_spool *s, uint64_t seq);

/*
 * Whether an earlier process may have published seq: then JetStream answering "duplicate" to its
 * first publish here is that earlier publish, not another host's doing.
 */
bool gw_spool_may_have_sent(const struct gw_spool *s, uint64_t seq);

/* The spool's nonce (GW_SPOOL_NONCE_LEN lowercase hex digits), the same for its whole life. */
const char *gw_spool_nonce(const struct gw_spool *s);

/* The seq the next appended batch must carry (one past the highest ever seen). */
uint64_t gw_spool_next_seq(const struct gw_spool *s);

/*
 * Appends one batch (seq must be gw_spool_next_seq()). Makes room first by deleting the oldest
 * segments past the cap, counting their unacknowledged batches and events as pending drops.
 * `reported_batches/events` are drops the caller has just put into this batch's SpoolState: they are
 * subtracted from the pending drops once the record is written. Returns 0 or -errno (the spool is
 * left as it was: a failed write is truncated away).
 */
int gw_spool_append(struct gw_spool *s, uint64_t seq, uint32_t events, const void *data, size_t len,
		    uint64_t reported_batches, uint64_t reported_events);

/* fdatasync the active segment (no-op when nothing was appended since the last sync). */
int gw_spool_sync(struct gw_spool *s);

/*
 * Reads the oldest unacknowledged batch that is synced to disk (an unsynced one could vanish in a
 * power cut after being published, and its seq be re-used). Returns 1 and fills rec, 0 when everything is acked, or
 * -errno. A record that turns out corrupt on re-read is skipped and counted as recovered bytes
 * and lost records.
 */
int gw_spool_peek(struct gw_spool *s, struct gw_spool_record *rec);

/*
 * Acknowledges a record returned by gw_spool_peek(): moves the cursor past it and deletes segments
 * that are then fully acknowledged. Returns 0, or 1 when the record was meanwhile dropped by the cap
 * (nothing to do), or -errno.
 */
int gw_spool_ack(struct gw_spool *s, const struct gw_spool_record *rec);

void gw_spool_get_stats(const struct gw_spool *s, struct gw_spool_stats *st);

#endif
