/*
 * ring_audit.h - whether the agent's ring buffer still carries what its programs produce, checked
 * against what the kernel itself keeps, for the tamper domain (core owns the ring and the limits;
 * the tamper domain decides what is a finding). A root user can silence the agent without
 * detaching anything:
 *  - by consuming its records: the ring is a map anyone with root opens by id and maps. Only the
 *    agent's reader should move the ring's consumer position, and by exactly the bytes of the
 *    records it was handed; the audit maps the consumer page read-only and compares. The bytes
 *    past that are records the agent never saw.
 *  - by rewriting the flood limits (gw_limits) so that every record is refused: the audit keeps
 *    what the agent wrote, reads the map back, and writes it again.
 */
#ifndef GW_RING_AUDIT_H
#define GW_RING_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_events.h"

/* The kernel's ring record header (BPF_RINGBUF_HDR_SZ) and record alignment. */
#define GW_RING_HDR_BYTES 8u

struct gw_ring_audit {
	const volatile uint64_t *consumer_pos; /* the ring's first page, mapped read-only */
	size_t page_size;
	uint64_t start;		/* the consumer position when the audit opened */
	uint64_t seen;		/* bytes of the records the reader handed to the agent */
	uint64_t taken;		/* bytes consumed by anyone else, in total */
	int limits_fd;		/* -1: the limits are not checked */
	struct gw_limits limits; /* as the agent wrote them */
	uint64_t limits_rewritten;
};

/* What one check found since the previous one. */
struct gw_ring_audit_result {
	uint64_t taken_bytes;	  /* consumed by someone else */
	bool limits_changed;	  /* gw_limits was not what the agent wrote (now written again) */
	bool limits_restored;	  /* ... and writing it again worked */
	struct gw_limits found;	  /* what was there instead */
};

/* Once the agent wrote the flood limits to limits_fd: what a check expects to read back. */
void ring_audit_expect_limits(struct gw_ring_audit *r, int limits_fd,
			      const struct gw_limits *written);

/* Before the first record is read: maps the consumer page of the ring behind events_fd. 0 or
 * -errno (the consumer check is then off; the limits are still checked). */
int ring_audit_open(struct gw_ring_audit *r, int events_fd);

/* The reader was handed a record of `len` bytes: the ring moved by its header and padding too. */
static inline void ring_audit_saw(struct gw_ring_audit *r, size_t len)
{
	r->seen += (len + GW_RING_HDR_BYTES + 7) & ~(uint64_t)7;
}

/* Between two reads of the ring (never from inside the reader's callback). */
void ring_audit_check(struct gw_ring_audit *r, struct gw_ring_audit_result *out);

void ring_audit_close(struct gw_ring_audit *r);

#endif
