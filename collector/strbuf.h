/*
 * strbuf.h - a growable byte buffer for building output lines (NDJSON, report rows) and the
 * inflated bytes of a batch. Owns its memory; append failures (out of memory, over the buffer's
 * cap) are sticky in `failed` so callers check once at the end instead of after every append.
 */
#ifndef GWC_STRBUF_H
#define GWC_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;	/* 0 = unbounded */
	bool failed;
};

void strbuf_init(struct strbuf *sb, size_t max);
void strbuf_free(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
/* Makes room for `extra` more bytes; false (and failed set) past max or on ENOMEM. */
bool strbuf_reserve(struct strbuf *sb, size_t extra);
void strbuf_append(struct strbuf *sb, const void *data, size_t len);
void strbuf_puts(struct strbuf *sb, const char *s);
void strbuf_putc(struct strbuf *sb, char c);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Decimal integer, without printf. */
void strbuf_u64(struct strbuf *sb, uint64_t v);
/* A JSON string literal (with quotes), by the one rule of common/text.h: any input gives one
 * valid line of JSON. */
void strbuf_json_string(struct strbuf *sb, const char *s, size_t len);

#endif
