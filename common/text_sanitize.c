#include "text_sanitize.h"

#include <stdint.h>
#include <stdio.h>

#include "text.h"

/* Length of the printable UTF-8 sequence at s, or 0: C1 controls (U+0080..U+009F) are valid UTF-8
 * but can drive terminals too. */
static size_t printable_seq_len(const uint8_t *s, size_t avail)
{
	size_t n = gw_utf8_seq_len(s, avail);

	if (n == 2 && s[0] == 0xc2 && s[1] < 0xa0)
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
		size_t n = printable_seq_len(s + i, len - i);
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
