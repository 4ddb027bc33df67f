/*
 * text_sanitize.h - turns untrusted bytes (sysfs attributes, USB string descriptors, uevent values,
 * EDID text) into bounded, valid, printable UTF-8 for events.
 *
 * A USB device chooses its own strings, so a hostile one can send invalid UTF-8, control characters
 * or escape sequences aimed at the terminal running `ghostwatch debug`. Valid printable UTF-8 passes
 * unchanged; every other byte becomes the four characters "\xNN" so the original bytes stay
 * recoverable and two different raw strings never sanitize to the same text by accident.
 */
#ifndef GW_TEXT_SANITIZE_H
#define GW_TEXT_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>

/* Result flags. */
#define GW_TEXT_ESCAPED   (1u << 0) /* at least one byte was written as \xNN */
#define GW_TEXT_TRUNCATED (1u << 1) /* dst was too small for the whole input */

/*
 * Copy src[0..len) into dst (always NUL-terminated when dst_size > 0), stopping at the first NUL in
 * src. Never splits an escape or a UTF-8 sequence at the truncation point. Returns GW_TEXT_* flags.
 */
unsigned gw_text_sanitize(char *dst, size_t dst_size, const void *src, size_t len);

#endif
