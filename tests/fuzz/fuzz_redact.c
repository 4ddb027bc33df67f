// fuzz: agent/core/redact.c agent/core/redact_pattern.c common/text.c
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "core/redact.h"

#define MAX_ARGV 4096

/*
 * The input as the agent would store it (NUL-separated, sanitized to UTF-8), redacted with the
 * shipped patterns and byte-level config regexes: the output holds exactly argc strings in
 * out_len bytes, and stays valid UTF-8. An input starting with 'R' first offers its first string
 * as a config pattern: one redact_pattern_problem() accepts must compile and match in bounded
 * time and memory (libFuzzer's timeout and RSS limit).
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct redact r;
	static int ready;
	struct redact custom, *use = &r;
	static const char *const patterns[] = { "key:(.)", "[^a-z ]{3}", "(x|y)+z" };
	char clean[3 * MAX_ARGV + 1];
	size_t i = 0, o = 0, out_len = 0, n;
	uint32_t argc = 0;
	const char *out, *p;

	if (!ready) {
		char err[128];

		if (redact_init(&r, patterns, 3, err, sizeof(err)))
			abort();
		ready = 1;
	}
	if (size > 1 && data[0] == 'R') {
		char pat[300], why[128], err[128];
		size_t n = strnlen((const char *)data + 1, size - 1);
		const char *one[1] = { pat };

		if (n < sizeof(pat)) {
			memcpy(pat, data + 1, n);
			pat[n] = '\0';
			if (!redact_pattern_problem(pat, why, sizeof(why))) {
				if (redact_init(&custom, one, 1, err, sizeof(err)))
					abort(); /* accepted, so it must compile */
				use = &custom;
			}
		}
		data += n + 1 < size ? n + 2 : size;
		size -= n + 1 < size ? n + 2 : size;
	}
	if (size > MAX_ARGV)
		size = MAX_ARGV;
	while (i < size) {
		size_t len = strnlen((const char *)data + i, size - i);

		o += gw_utf8_sanitize((const char *)data + i, len, clean + o,
				      sizeof(clean) - o) + 1;
		argc++;
		i += len + 1;
	}
	if (!argc)
		goto done;
	out = redact_argv(use, clean, o, argc, &out_len);
	if (!out)
		abort(); /* a well-formed block always redacts (memory permitting) */
	p = out;
	for (uint32_t k = 0; k < argc; k++) {
		if (p >= out + out_len)
			abort();
		n = strnlen(p, (size_t)(out + out_len - p));
		if (p + n >= out + out_len || !gw_utf8_valid(p, n))
			abort();
		p += n + 1;
	}
	if (p != out + out_len)
		abort();
done:
	if (use == &custom)
		redact_free(&custom);
	return 0;
}
