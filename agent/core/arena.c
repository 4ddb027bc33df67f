#include "arena.h"

#include <stdlib.h>
#include <string.h>

#include "common/text.h"

int gw_arena_init(struct gw_arena *a, size_t size)
{
	memset(a, 0, sizeof(*a));
	a->buf = malloc(size);
	if (!a->buf)
		return -1;
	a->size = size;
	return 0;
}

void gw_arena_free(struct gw_arena *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

void gw_arena_reset(struct gw_arena *a)
{
	a->used = 0;
}

void *gw_arena_alloc(struct gw_arena *a, size_t size)
{
	size_t start = (a->used + 7) & ~(size_t)7;

	if (start > a->size || size > a->size - start) {
		a->failed++;
		return NULL;
	}
	a->used = start + size;
	return memset(a->buf + start, 0, size);
}

char *gw_arena_text(struct gw_arena *a, const char *s, size_t len)
{
	size_t in = strnlen(s, len), cap = 3 * in + 1;
	char *out = gw_arena_alloc(a, cap);

	if (!out)
		return "";
	a->used -= cap - (gw_utf8_sanitize(s, in, out, cap) + 1);
	return out;
}
