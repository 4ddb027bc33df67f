/*
 * redact_pattern.c - the config's patterns for redact.h: checked, compiled, swapped in whole.
 * libc's regcomp copies a sub-expression once per repetition ({n}, and + as one more copy) and
 * its time grows faster than its size where repetitions nest or stack (a+*++++... took seconds,
 * a+++... gigabytes): a pattern may not repeat a repetition directly, its counts are at most 255
 * and its estimated size is bounded before it is compiled.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"

#define PATTERN_MAX_LEN 256
#define PATTERN_MAX_WEIGHT 4000 /* about the nodes regcomp builds, nullable ones counted twice */
#define PATTERN_MAX_COUNT 255
#define PATTERN_MAX_DEPTH 16

/* The largest count of a bound at p ("{n}", "{n,}", "{n,m}"); p is left on its '}'. */
static unsigned long bound_count(const char **p)
{
	unsigned long n = 0, m = 0;
	const char *q = *p + 1;

	while (*q >= '0' && *q <= '9' && n <= PATTERN_MAX_WEIGHT)
		n = n * 10 + (unsigned long)(*q++ - '0');
	if (*q == ',')
		for (q++; *q >= '0' && *q <= '9' && m <= PATTERN_MAX_WEIGHT; q++)
			m = m * 10 + (unsigned long)(*q - '0');
	while (*q && *q != '}')
		q++;
	*p = *q ? q : q - 1;
	return m > n ? m : (n ? n : 1);
}

static bool is_repetition(char c)
{
	return c == '*' || c == '+' || c == '?' || c == '{';
}

/* An estimate of the nodes regcomp builds, saturating just past PATTERN_MAX_WEIGHT; a repeated
 * repetition or a count past PATTERN_MAX_COUNT saturates it at once. */
static unsigned long pattern_weight(const char *p)
{
	unsigned long outer[PATTERN_MAX_DEPTH], cur = 0, last = 0;
	bool repeated = false;
	int depth = 0;

	for (; *p && cur <= PATTERN_MAX_WEIGHT && last <= PATTERN_MAX_WEIGHT; p++) {
		if (is_repetition(*p) && repeated)
			return PATTERN_MAX_WEIGHT + 1;
		repeated = is_repetition(*p);
		switch (*p) {
		case '(':
			if (depth == PATTERN_MAX_DEPTH)
				return PATTERN_MAX_WEIGHT + 1;
			outer[depth++] = cur;
			cur = last = 0;
			break;
		case ')':
			last = cur ? cur : 1;
			cur = (depth ? outer[--depth] : 0) + last;
			break;
		case '+':
		case '*':
		case '?':
			cur += last;
			last *= 2;
			break;
		case '{': {
			unsigned long n = bound_count(&p);

			if (n > PATTERN_MAX_COUNT)
				return PATTERN_MAX_WEIGHT + 1;
			cur += last * (n - 1);
			last *= n;
			break;
		}
		case '[': /* one node, whatever it holds */
			if (p[1] == '^')
				p++;
			if (p[1] == ']')
				p++;
			while (p[1] && p[1] != ']')
				p++;
			if (p[1])
				p++;
			cur++;
			last = 1;
			break;
		case '\\':
			if (p[1] >= '1' && p[1] <= '9') /* a back-reference: exponential matching */
				return PATTERN_MAX_WEIGHT + 1;
			if (p[1])
				p++;
			/* fallthrough */
		default:
			cur++;
			last = 1;
		}
	}
	return cur > last ? cur : last;
}

static int compile_all(regex_t *res, const char *const *patterns, size_t n, char *err,
		       size_t errlen)
{
	char why[256];

	for (size_t i = 0; i < n; i++) {
		const char *problem = redact_pattern_problem(patterns[i], why, sizeof(why));

		if (!problem && regcomp(&res[i], patterns[i], REG_EXTENDED))
			problem = "does not compile";
		if (problem) {
			snprintf(err, errlen, "\"%s\": %s", patterns[i], problem);
			while (i--)
				regfree(&res[i]);
			return -1;
		}
	}
	return 0;
}

const char *redact_pattern_problem(const char *pattern, char *buf, size_t len)
{
	regex_t re;
	int rc;

	if (strlen(pattern) > PATTERN_MAX_LEN)
		return "is longer than 256 characters";
	if (pattern_weight(pattern) > PATTERN_MAX_WEIGHT)
		return "repeats too much (a repetition of a repetition such as a+*, a count "
		       "over 255, nested counts multiplying past 4000, a back-reference): libc "
		       "would take seconds or gigabytes on it";
	rc = regcomp(&re, pattern, REG_EXTENDED);
	if (rc) {
		regerror(rc, &re, buf, len);
		return buf;
	}
	rc = regexec(&re, "", 0, NULL, 0);
	regfree(&re);
	return rc == 0 ? "matches the empty string, so it would redact nothing useful" : NULL;
}

int redact_set_patterns(struct redact *r, const char *const *patterns, size_t n, char *err,
			size_t errlen)
{
	regex_t *res = NULL;

	if (n > REDACT_PATTERNS_MAX) {
		snprintf(err, errlen, "more than %d patterns", REDACT_PATTERNS_MAX);
		return -1;
	}
	if (n && !(res = calloc(n, sizeof(*res)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (compile_all(res, patterns, n, err, errlen)) {
		free(res);
		return -1;
	}
	for (size_t i = 0; i < r->n_custom; i++)
		regfree(&r->custom[i]);
	free(r->custom);
	r->custom = res;
	r->n_custom = n;
	return 0;
}

int redact_init(struct redact *r, const char *const *patterns, size_t n, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	return redact_set_patterns(r, patterns, n, err, errlen);
}

void redact_free(struct redact *r)
{
	redact_set_patterns(r, NULL, 0, NULL, 0);
	free(r->out);
	free(r->spans);
	memset(r, 0, sizeof(*r));
}
