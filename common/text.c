#include "text.h"

#include <stdint.h>
#include <string.h>

size_t gw_utf8_seq_len(const void *s, size_t avail)
{
	const unsigned char *p = s;
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

bool gw_utf8_valid(const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = gw_utf8_seq_len(s + i, len - i);

		if (!n)
			return false;
		i += n;
	}
	return true;
}

size_t gw_utf8_sanitize(const char *in, size_t len, char *out, size_t out_size)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t end = strnlen(in, len), o = 0, i = 0;

	if (!out_size)
		return 0;
	while (i < end) {
		size_t n = gw_utf8_seq_len(p + i, end - i);

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

/* ASCII bytes that need no escaping inside a JSON string. */
static bool json_plain_ascii(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

size_t gw_json_plain_run(const char *s, size_t len, char esc[8], size_t *skip)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	for (;;) {
		while (i < len && json_plain_ascii(p[i]))
			i++;
		if (i == len || p[i] < 0x80)
			break;
		n = gw_utf8_seq_len(p + i, len - i);
		/* NEL (U+0085), LS (U+2028), PS (U+2029) end lines for some readers */
		if (n < 2 || (n == 2 && p[i] == 0xc2 && p[i + 1] == 0x85) ||
		    (n == 3 && p[i] == 0xe2 && p[i + 1] == 0x80 && (p[i + 2] | 1) == 0xa9))
			break;
		i += n;
	}
	if (i == len)
		return i;
	*skip = 1;
	switch (p[i]) {
	case '"':
		strcpy(esc, "\\\"");
		break;
	case '\\':
		strcpy(esc, "\\\\");
		break;
	case '\n':
		strcpy(esc, "\\n");
		break;
	case '\r':
		strcpy(esc, "\\r");
		break;
	case '\t':
		strcpy(esc, "\\t");
		break;
	case 0xc2: /* NEL, or an invalid byte */
	case 0xe2: /* LS, PS, or an invalid byte */
		if (gw_utf8_seq_len(p + i, len - i) > 1) {
			*skip = p[i] == 0xc2 ? 2 : 3;
			strcpy(esc, p[i] == 0xc2 ? "\\u0085" : p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
			break;
		}
		/* fall through */
	default:
		memcpy(esc, "\\u00", 4);
		esc[4] = hex[p[i] >> 4];
		esc[5] = hex[p[i] & 15];
		esc[6] = 0;
	}
	return i;
}

/* Runs of plain bytes go out in one write: this is the hottest loop of the debug view. */
void gw_json_escape_len(FILE *out, const char *s, size_t len)
{
	while (len) {
		char esc[8];
		size_t skip, run = gw_json_plain_run(s, len, esc, &skip);

		if (run)
			fwrite_unlocked(s, 1, run, out);
		if (run == len)
			break;
		fputs_unlocked(esc, out);
		s += run + skip;
		len -= run + skip;
	}
}

void gw_json_escape(FILE *out, const char *s)
{
	const char *p = s;

	/* most strings are plain ASCII through to the end: one pass, one write */
	while (json_plain_ascii((unsigned char)*p))
		p++;
	if (p > s)
		fwrite_unlocked(s, 1, (size_t)(p - s), out);
	if (*p)
		gw_json_escape_len(out, p, strlen(p));
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
