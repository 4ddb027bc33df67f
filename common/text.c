#include "text.h"

#include <stdint.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (at most `avail` bytes), or 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
	uint32_t cp;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* overlong forms, surrogates and out-of-range code points are not UTF-8 */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

size_t gw_utf8_sanitize(const char *in, size_t len, char *out, size_t out_size)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t end = strnlen(in, len), o = 0, i = 0;

	if (!out_size)
		return 0;
	while (i < end) {
		size_t n = utf8_seq_len(p + i, end - i);

		if (n) {
			if (o + n >= out_size)
				break;
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
		} else {
			if (o + 3 >= out_size)
				break;
			memcpy(out + o, "\xef\xbf\xbd", 3); /* U+FFFD */
			o += 3;
			i++;
		}
	}
	out[o] = 0;
	return o;
}

/* Bytes that need no escaping inside a JSON string (the multi-byte line separators are caught
 * at their lead bytes 0xc2 and 0xe2 and checked there). */
static int json_plain(unsigned char c)
{
	return c >= 0x20 && c != '"' && c != '\\' && c != 0x7f && c != 0xc2 && c != 0xe2;
}

/* Runs of plain bytes go out in one write: this is the hottest loop of the debug view. */
void gw_json_escape(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		const unsigned char *run = p;

		while (json_plain(*p))
			p++;
		if (p > run)
			fwrite_unlocked(run, 1, (size_t)(p - run), out);
		if (!*p)
			break;
		switch (*p) {
		case '"':
			fputs_unlocked("\\\"", out);
			break;
		case '\\':
			fputs_unlocked("\\\\", out);
			break;
		case '\n':
			fputs_unlocked("\\n", out);
			break;
		case '\r':
			fputs_unlocked("\\r", out);
			break;
		case '\t':
			fputs_unlocked("\\t", out);
			break;
		case 0xc2:
			/* NEL ends lines for some readers (Python's splitlines) */
			if (p[1] == 0x85) {
				fputs_unlocked("\\u0085", out);
				p++;
			} else {
				fputc_unlocked(*p, out);
			}
			break;
		case 0xe2:
			/* so do LS and PS */
			if (p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
				fputs_unlocked(p[2] == 0xa8 ? "\\u2028" : "\\u2029", out);
				p += 2;
			} else {
				fputc_unlocked(*p, out);
			}
			break;
		default:
			fprintf(out, "\\u%04x", *p);
		}
		p++;
	}
}

void gw_display_escape(FILE *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\n')
			fputs("\\n", out);
		else if (*p == '\t')
			fputs("\\t", out);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
}
