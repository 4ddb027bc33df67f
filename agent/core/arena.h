/*
 * arena.h - scratch memory for building one outgoing event.
 *
 * A protobuf event points at many small strings and sub-messages; they live here until every sink
 * has seen the event, then the arena is reset. No per-event malloc/free on the hot path.
 */
#ifndef GW_ARENA_H
#define GW_ARENA_H

#include <stddef.h>

struct gw_arena {
	char *buf;
	size_t size;
	size_t used;
	size_t failed; /* allocations refused because the arena was full (counted, never fatal) */
};

int gw_arena_init(struct gw_arena *a, size_t size);
void gw_arena_free(struct gw_arena *a);
void gw_arena_reset(struct gw_arena *a);

/* Zeroed, 8-byte aligned; NULL when full. */
void *gw_arena_alloc(struct gw_arena *a, size_t size);

/* `len` bytes of `s` (up to a NUL) as valid UTF-8; "" when full. */
char *gw_arena_text(struct gw_arena *a, const char *s, size_t len);

#endif
