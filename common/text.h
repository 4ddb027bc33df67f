/*
 * text.h - making untrusted bytes safe to show: process names, argv, paths and device strings come
 * from whoever ran the process or built the device, and may hold any byte.
 *
 * gw_utf8_sanitize makes valid UTF-8 (protobuf strings must be; invalid bytes become U+FFFD),
 * gw_json_escape writes a JSON string body, gw_display_escape writes a single terminal-safe line.
 */
#ifndef GW_TEXT_H
#define GW_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* Copies at most `len` bytes of `in` (stopping at NUL) into `out` as valid UTF-8, always
 * NUL-terminated; returns the output length. `out_size` of 3 * len + 1 never truncates. */
size_t gw_utf8_sanitize(const char *in, size_t len, char *out, size_t out_size);

/* Writes `s` (valid UTF-8) as the body of a JSON string: quotes, backslashes and every control
 * character escaped, so the result never spans lines. */
void gw_json_escape(FILE *out, const char *s);

/* Writes `s` for a human on one line: control characters as \n, \t, \xNN. */
void gw_display_escape(FILE *out, const char *s);

#endif
