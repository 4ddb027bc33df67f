/*
 * text.h - making untrusted bytes safe to show: process names, argv, paths and device strings come
 * from whoever ran the process or built the device, and may hold any byte.
 *
 * This module holds the one UTF-8 decoder of the agent and the collector and the one JSON string
 * rule: gw_utf8_sanitize makes valid UTF-8 (protobuf strings must be; invalid bytes become U+FFFD),
 * gw_json_* write a JSON string body, gw_display_escape writes a single terminal-safe line.
 * text_sanitize.h builds the device-string rule on the same decoder.
 *
 * The JSON rule keeps any input on one line of valid JSON: quotes, backslashes and control
 * characters are escaped, so are the Unicode line ends NEL, LS and PS (Python's splitlines breaks
 * on them), and a byte that is not part of valid UTF-8 is written as \u00XX of its value.
 */
#ifndef GW_TEXT_H
#define GW_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Length (1..4) of the valid UTF-8 sequence at `s`, reading at most `avail` (>= 1) bytes; 0 if the
 * bytes there are not one (RFC 3629: no overlong forms, surrogates or code points past U+10FFFF). */
size_t gw_utf8_seq_len(const void *s, size_t avail);

/* Whether s[0..len) is valid UTF-8. */
bool gw_utf8_valid(const char *s, size_t len);

/* Copies at most `len` bytes of `in` (stopping at NUL) into `out` as valid UTF-8, always
 * NUL-terminated; returns the output length. `out_size` of 3 * len + 1 never truncates. */
size_t gw_utf8_sanitize(const char *in, size_t len, char *out, size_t out_size);

/*
 * The JSON rule, for any writer: returns how many bytes at the start of s[0..len) go out as they
 * are. If that is less than len, the bytes after them go out as `esc` (NUL-terminated) and
 * `*skip` of them are consumed by it.
 */
size_t gw_json_plain_run(const char *s, size_t len, char esc[8], size_t *skip);

/* Writes s[0..len) as the body of a JSON string (no quotes). */
void gw_json_escape_len(FILE *out, const char *s, size_t len);

/* The same for a NUL-terminated string. */
void gw_json_escape(FILE *out, const char *s);

/* Writes `s` for a human on one line: control characters as \n, \t, \xNN. */
void gw_display_escape(FILE *out, const char *s);

#endif
