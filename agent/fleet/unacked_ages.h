/*
 * unacked_ages.h - when the spool's unacknowledged batches were spooled, for the age of the oldest
 * one (the spool's records carry no time). Batches are acked in seq order, so a FIFO of (last seq,
 * time) runs does it; when it is full the newest run grows to cover the new seqs and keeps its
 * older time, so the age may then come out larger than it is. Batches an earlier run left in the
 * spool count from this run's start: their real time is unknown here. Not thread-safe: the
 * forwarder holds its spool lock.
 */
#ifndef GW_UNACKED_AGES_H
#define GW_UNACKED_AGES_H

#include <stddef.h>
#include <stdint.h>

#define UNACKED_AGES_MAX 256

struct unacked_ages {
	struct {
		uint64_t last_seq;
		uint64_t time_ns;
	} run[UNACKED_AGES_MAX];
	size_t head, len;
};

/* Batches up to seq were spooled at or after time_ns (realtime). */
void unacked_ages_push(struct unacked_ages *u, uint64_t seq, uint64_t time_ns);
/* Every batch up to seq is acknowledged (or gone). */
void unacked_ages_ack(struct unacked_ages *u, uint64_t seq);
/* The time of the oldest unacknowledged batch, 0 when none is noted. */
uint64_t unacked_ages_oldest(const struct unacked_ages *u);

#endif
