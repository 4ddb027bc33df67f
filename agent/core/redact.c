#include "redact.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MARKER_LEN (sizeof(REDACT_MARKER) - 1)
#define LIT(s) s, sizeof(s) - 1

/* What the words seen so far in this argv say about the next ones. */
enum next_word { NEXT_NONE, NEXT_ALL, NEXT_AFTER_COLON, NEXT_SKIP };

struct scan {
	enum next_word next;
	bool mysql;	   /* a mysql/mariadb client word was seen: -pX is its password */
	bool curl;	   /* curl was seen: -u user:X */
	bool sshpass_opts; /* among sshpass's own options */
};

/* One argument being redacted. */
struct arg {
	struct redact *r;
	struct scan *st;
	const char *s;
	size_t n;
	bool oom;
};

struct key {
	const char *name;
	size_t len;
	bool whole; /* the key must start a word: "pass" but not "bypass" */
};

/* key=value: the key (any case) ends in one of these */
static const struct key value_keys[] = {
	{ LIT("password"), false }, { LIT("passwd"), false }, { LIT("passphrase"), false },
	{ LIT("secret"), false }, { LIT("token"), false }, { LIT("api_key"), false },
	{ LIT("apikey"), false }, { LIT("api-key"), false }, { LIT("access_key"), false },
	{ LIT("access-key"), false }, { LIT("secret_key"), false },
	{ LIT("private_key"), false }, { LIT("signature"), false }, { LIT("_pwd"), false },
	{ LIT("sshpass"), false }, { LIT("pass"), true }, { LIT("sig"), true },
};

/* options whose next word is the secret (mysql clients excepted: a bare --password prompts) */
static const struct key next_word_options[] = {
	{ LIT("--password"), false }, { LIT("--passwd"), false }, { LIT("--pass"), false },
	{ LIT("--token"), false }, { LIT("--api-key"), false }, { LIT("--apikey"), false },
	{ LIT("--access-key"), false }, { LIT("--secret-key"), false },
	{ LIT("--client-secret"), false },
};

/* HTTP headers whose value is a credential, as in curl -H 'Authorization: Bearer X' */
static const struct key header_keys[] = {
	{ LIT("authorization"), false },
	{ LIT("x-api-key"), false },
	{ LIT("private-token"), false },
};

/* tokens recognisable by their prefix alone; AWS ids are upper-case letters and digits */
static const struct token_kind {
	const char *prefix;
	size_t len, min_body;
	bool aws;
} token_kinds[] = {
	{ LIT("AKIA"), 16, true }, { LIT("ASIA"), 16, true }, { LIT("ghp_"), 20, false },
	{ LIT("gho_"), 20, false }, { LIT("ghu_"), 20, false }, { LIT("ghs_"), 20, false },
	{ LIT("ghr_"), 20, false }, { LIT("github_pat_"), 20, false },
	{ LIT("glpat-"), 16, false }, { LIT("xoxb-"), 10, false }, { LIT("xoxp-"), 10, false },
	{ LIT("xoxa-"), 10, false }, { LIT("xoxr-"), 10, false }, { LIT("xoxs-"), 10, false },
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_upper_or_digit(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_quote(char c)
{
	return c == '\'' || c == '"';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* s[0..n) equals the lower-case `lit` in any case (ASCII; strncasecmp is locale-bound and slow) */
static bool ci_eq(const char *s, const char *lit, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower(s[i]) != lit[i])
			return false;
	return true;
}

static bool word_eq(const char *w, size_t n, const char *lit)
{
	return strlen(lit) == n && !memcmp(w, lit, n);
}

static bool word_starts(const char *w, size_t n, const char *lit)
{
	size_t k = strlen(lit);

	return n >= k && !memcmp(w, lit, k);
}

static void span(struct arg *x, size_t start, size_t end)
{
	struct redact *r = x->r;

	/* whole UTF-8 characters: a config regex works on bytes and may end inside one */
	while (start > 0 && ((unsigned char)x->s[start] & 0xc0) == 0x80)
		start--;
	while (end < x->n && ((unsigned char)x->s[end] & 0xc0) == 0x80)
		end++;
	if (end <= start)
		return;
	if (r->n_spans == r->spans_cap) {
		size_t cap = r->spans_cap ? 2 * r->spans_cap : 16;
		struct redact_span *s = realloc(r->spans, cap * sizeof(*s));

		if (!s) {
			x->oom = true;
			return;
		}
		r->spans = s;
		r->spans_cap = cap;
	}
	r->spans[r->n_spans++] = (struct redact_span){ (uint32_t)start, (uint32_t)end };
}

/* user:X -> the X */
static void span_after_colon(struct arg *x, size_t start, size_t end)
{
	const char *c = memchr(x->s + start, ':', end - start);

	if (c)
		span(x, (size_t)(c - x->s) + 1, end);
}

/* key=value at '=' position eq */
static void key_value(struct arg *x, size_t eq)
{
	const char *s = x->s;
	size_t name = eq, end = eq + 1;

	char last = eq ? lower(s[eq - 1]) : 0;

	while (name > 0 && (is_alnum(s[name - 1]) || strchr("_.-", s[name - 1])))
		name--;
	for (size_t i = 0; i < ARRAY_LEN(value_keys); i++) {
		const struct key *k = &value_keys[i];

		if (k->name[k->len - 1] != last || eq - name < k->len ||
		    !ci_eq(s + eq - k->len, k->name, k->len))
			continue;
		if (k->whole && eq - k->len > 0 && is_alnum(s[eq - k->len - 1]))
			continue;
		/* a whole argument --password=X or PGPASSWORD=X: the rest is the secret, spaces
		 * too; inside a URL or a shell line the value ends at a separator */
		if (name == 0)
			end = x->n;
		else
			while (end < x->n && !is_space(s[end]) && !is_quote(s[end]) &&
			       s[end] != '&' && s[end] != ';')
				end++;
		span(x, eq + 1, end);
		return;
	}
}

/* scheme://user:X@host at the ':' of "://" */
static void url_password(struct arg *x, size_t colon)
{
	const char *s = x->s;
	size_t a = colon + 3, end = a, at = 0;

	while (end < x->n && !strchr("/?#'\"", s[end]) && !is_space(s[end])) {
		if (s[end] == '@')
			at = end;
		end++;
	}
	if (at)
		span_after_colon(x, a, at);
}

/* "Authorization: Bearer X" at the ':' */
static void header_value(struct arg *x, size_t colon)
{
	const char *s = x->s;
	size_t v = colon + 1, end;

	for (size_t i = 0; i < ARRAY_LEN(header_keys); i++) {
		const struct key *k = &header_keys[i];

		if (colon < k->len || !ci_eq(s + colon - k->len, k->name, k->len))
			continue;
		while (v < x->n && s[v] == ' ')
			v++;
		if (i == 0) { /* keep the scheme */
			size_t w = v;

			while (w < x->n && is_letter(s[w]))
				w++;
			if (w > v && w < x->n && s[w] == ' ') {
				v = w;
				while (v < x->n && s[v] == ' ')
					v++;
			}
		}
		end = v;
		while (end < x->n && !is_quote(s[end]))
			end++;
		span(x, v, end);
		return;
	}
}

/* a token known by its prefix, starting at i */
static void known_token(struct arg *x, size_t i)
{
	const char *s = x->s;

	for (size_t k = 0; k < ARRAY_LEN(token_kinds); k++) {
		const struct token_kind *t = &token_kinds[k];
		size_t end = i + t->len;

		if (x->n - i < t->len + t->min_body || memcmp(s + i, t->prefix, t->len))
			continue;
		if (t->aws) {
			while (end < x->n && end - i - t->len < t->min_body &&
			       is_upper_or_digit(s[end]))
				end++;
			if (end - i - t->len != t->min_body || (end < x->n && is_alnum(s[end])))
				continue;
		} else {
			while (end < x->n && (is_alnum(s[end]) || s[end] == '_' || s[end] == '-'))
				end++;
			if (end - i - t->len < t->min_body)
				continue;
		}
		span(x, i, end);
		return;
	}
}

/* One pass over the argument for what is found by a character: '=', ':' and token starts. */
static void scan_chars(struct arg *x)
{
	const char *s = x->s;

	for (size_t i = 0; i < x->n; i++) {
		char c = s[i];

		if (c == '=') {
			key_value(x, i);
		} else if (c == ':') {
			if (i + 2 < x->n && s[i + 1] == '/' && s[i + 2] == '/')
				url_password(x, i);
			else
				header_value(x, i);
		} else if ((c == 'A' || c == 'g' || c == 'x') && (i == 0 || !is_alnum(s[i - 1]))) {
			known_token(x, i);
		}
	}
}

/* sshpass's options before its command: -p X, -pX; -f, -d and -P take a word */
static bool sshpass_option(struct arg *x, size_t ws, size_t we)
{
	const char *w = x->s + ws;
	size_t n = we - ws;

	if (n < 2 || w[0] != '-') {
		x->st->sshpass_opts = false;
		return false;
	}
	if (w[1] == 'p') {
		if (n == 2)
			x->st->next = NEXT_ALL;
		else
			span(x, ws + 2, we);
		x->st->sshpass_opts = false;
	} else if (n == 2 && strchr("fdP", w[1])) {
		x->st->next = NEXT_SKIP;
	}
	return true;
}

static bool curl_user(struct arg *x, size_t ws, size_t we)
{
	const char *w = x->s + ws;
	size_t n = we - ws;

	if (word_eq(w, n, "-u") || word_eq(w, n, "-U") || word_eq(w, n, "--user") ||
	    word_eq(w, n, "--proxy-user")) {
		x->st->next = NEXT_AFTER_COLON;
		return true;
	}
	if (n > 2 && w[0] == '-' && (w[1] == 'u' || w[1] == 'U')) {
		span_after_colon(x, ws + 2, we);
		return true;
	}
	if (word_starts(w, n, "--user=") || word_starts(w, n, "--proxy-user=")) {
		span_after_colon(x, ws + (size_t)((const char *)memchr(w, '=', n) - w) + 1, we);
		return true;
	}
	return false;
}

static bool mysql_client(const char *name, size_t n)
{
	return word_starts(name, n, "mysql") || word_starts(name, n, "mariadb");
}

static void scan_word(struct arg *x, size_t ws, size_t we)
{
	struct scan *st = x->st;
	const char *w = x->s + ws, *name = w;
	size_t n = we - ws;
	enum next_word next = st->next;

	st->next = NEXT_NONE;
	if (next == NEXT_ALL) {
		span(x, ws, we);
		return;
	}
	if (next == NEXT_AFTER_COLON) {
		span_after_colon(x, ws, we);
		return;
	}
	if (next == NEXT_SKIP || (st->sshpass_opts && sshpass_option(x, ws, we)))
		return;
	for (const char *p = w; p < w + n; p++)
		if (*p == '/')
			name = p + 1;
	if (word_eq(name, (size_t)(w + n - name), "sshpass")) {
		st->sshpass_opts = true;
		return;
	}
	if (mysql_client(name, (size_t)(w + n - name))) {
		st->mysql = true;
		return;
	}
	if (word_eq(name, (size_t)(w + n - name), "curl")) {
		st->curl = true;
		return;
	}
	if (word_starts(w, n, "pass:")) { /* openssl -passin pass:X */
		span(x, ws + 5, we);
		return;
	}
	if (st->mysql && n > 2 && w[0] == '-' && w[1] == 'p') {
		span(x, ws + 2, we);
		return;
	}
	if (st->curl && curl_user(x, ws, we))
		return;
	if (st->mysql || n < 6 || w[0] != '-' || w[1] != '-')
		return;
	for (size_t i = 0; i < ARRAY_LEN(next_word_options); i++)
		if (next_word_options[i].len == n && !memcmp(w, next_word_options[i].name, n))
			st->next = NEXT_ALL;
}

static void scan_words(struct arg *x)
{
	size_t i = 0;

	while (i < x->n) {
		size_t ws;

		while (i < x->n && is_space(x->s[i]))
			i++;
		ws = i;
		while (i < x->n && !is_space(x->s[i]))
			i++;
		if (i > ws)
			scan_word(x, ws, i);
	}
}

static void scan_custom(struct arg *x)
{
	for (size_t k = 0; k < x->r->n_custom; k++) {
		const regex_t *re = &x->r->custom[k];
		size_t off = 0;

		while (off <= x->n) {
			regmatch_t m[2];
			const regmatch_t *g = &m[0];

			if (regexec(re, x->s + off, 2, m, off ? REG_NOTBOL : 0))
				break;
			if (re->re_nsub >= 1 && m[1].rm_so >= 0)
				g = &m[1];
			span(x, off + (size_t)g->rm_so, off + (size_t)g->rm_eo);
			off += (size_t)m[0].rm_eo + (m[0].rm_eo == m[0].rm_so);
		}
	}
}

static int span_cmp(const void *a, const void *b)
{
	const struct redact_span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Sorts and merges overlapping or touching spans; returns how many are left. */
static size_t merge_spans(struct redact *r)
{
	size_t k = 0;

	if (r->n_spans < 2)
		return r->n_spans;
	qsort(r->spans, r->n_spans, sizeof(*r->spans), span_cmp);
	for (size_t i = 0; i < r->n_spans; i++) {
		if (k && r->spans[i].start <= r->spans[k - 1].end) {
			if (r->spans[i].end > r->spans[k - 1].end)
				r->spans[k - 1].end = r->spans[i].end;
			continue;
		}
		r->spans[k++] = r->spans[i];
	}
	r->n_spans = k;
	return k;
}

static bool out_reserve(struct redact *r, size_t need)
{
	char *p;
	size_t cap = r->out_cap ? r->out_cap : 4096;

	if (need <= r->out_cap)
		return true;
	while (cap < need)
		cap *= 2;
	p = realloc(r->out, cap);
	if (!p)
		return false;
	r->out = p;
	r->out_cap = cap;
	return true;
}

const char *redact_argv(struct redact *r, const char *packed, size_t len, uint32_t argc,
			size_t *out_len)
{
	struct scan st = { 0 };
	size_t off = 0, o = 0;
	uint64_t found = 0;

	for (uint32_t i = 0; i < argc; i++) {
		size_t n = off < len ? strnlen(packed + off, len - off) : 0;
		struct arg x = { .r = r, .st = &st, .s = packed + off, .n = n };
		size_t pos = 0, here;

		if (off + n >= len) /* not NUL-terminated: not an argv we can read, keep nothing */
			goto fail;
		r->n_spans = 0;
		scan_words(&x);
		scan_chars(&x);
		scan_custom(&x);
		if (x.oom)
			goto fail;
		here = merge_spans(r);
		if (here && !found) { /* the arguments before the first secret, as they are */
			if (!out_reserve(r, off + n + here * MARKER_LEN + 1))
				goto fail;
			memcpy(r->out, packed, off);
			o = off;
		}
		found += here;
		if (found && !out_reserve(r, o + n + here * MARKER_LEN + 1))
			goto fail;
		for (size_t k = 0; k < here; k++) {
			memcpy(r->out + o, x.s + pos, r->spans[k].start - pos);
			o += r->spans[k].start - pos;
			memcpy(r->out + o, REDACT_MARKER, MARKER_LEN);
			o += MARKER_LEN;
			pos = r->spans[k].end;
		}
		if (found) {
			memcpy(r->out + o, x.s + pos, n - pos + 1);
			o += n - pos + 1;
		}
		off += n + 1;
	}
	if (!found) {
		*out_len = len;
		return packed;
	}
	r->argv_redacted++;
	r->secrets += found;
	*out_len = o;
	return r->out;
fail:
	r->failed++;
	return NULL;
}
