#include "text_sanitize.h"

#include <stdint.h>
#include <stdio.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not valid (RFC 3629). */
static size_t utf8_seq_len(const uint8_t *s, size_t avail)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	/* C1 controls (U+0080..U+009F) can drive terminals too */
	if (cp >= 0x80 && cp <= 0x9f)
		return 0;
	return n;
}

unsigned gw_text_sanitize(char *dst, size_t dst_size, const void *src, size_t len)
{
	const uint8_t *s = src;
	unsigned flags = 0;
	size_t out = 0;

	if (dst_size == 0)
		return len ? GW_TEXT_TRUNCATED : 0;
	for (size_t i = 0; i < len && s[i] != 0;) {
		size_t n = utf8_seq_len(s + i, len - i);
		/* backslash is escaped too, so an escape in the output always means a raw byte */
		bool printable = n > 1 || (n == 1 && s[i] >= 0x20 && s[i] != 0x7f && s[i] != '\\');

		if (printable) {
			if (out + n >= dst_size) {
				flags |= GW_TEXT_TRUNCATED;
				break;
			}
			for (size_t k = 0; k < n; k++)
				dst[out++] = (char)s[i + k];
			i += n;
		} else {
			if (out + 4 >= dst_size) {
				flags |= GW_TEXT_TRUNCATED;
				break;
			}
			snprintf(dst + out, 5, "\\x%02x", s[i]);
			out += 4;
			flags |= GW_TEXT_ESCAPED;
			i++;
		}
	}
	dst[out] = '\0';
	return flags;
}
