/*
 * redact.h - secrets in command lines: the agent replaces them with REDACT_MARKER where argv enters
 * the process table (an exec, or /proc/PID/cmdline for a process seen before the agent), so the
 * debug view, the fleet stream, the rules and every domain only ever see the redacted form.
 *
 * Shipped patterns (hand-written scanners, no regex, because they run on every exec):
 *  - key=value where the key ends in password, passwd, passphrase, secret, token, api_key,
 *    apikey, api-key, access_key, access-key, secret_key, private_key, signature, _pwd or sshpass
 *    (any case: --password=X, PGPASSWORD=X, ?token=X&, aws_secret_access_key=X), or in pass or
 *    sig starting a word (DB_PASS=X, not bypass=1);
 *  - the word after --password, --passwd, --pass, --token, --api-key, --apikey, --access-key,
 *    --secret-key, --client-secret (not for mysql clients, where a bare --password prompts);
 *  - -pX after a mysql or mariadb client word (mysql, mysqldump, mariadb-dump, ...);
 *  - sshpass -p X and -pX among sshpass's own options; openssl's pass:X;
 *  - curl -u/--user/-U/--proxy-user user:X (the user is kept);
 *  - the value of an Authorization, Proxy-Authorization, X-Api-Key or Private-Token header (the
 *    scheme, "Bearer", is kept);
 *  - the password of a URL's user:password@ (the user is kept: it names the account, which is what
 *    an investigator needs, and is no credential by itself);
 *  - AWS access key ids (AKIA/ASIA + 16), GitHub (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_),
 *    GitLab (glpat-) and Slack (xox?-) tokens, whole.
 * Words are split at whitespace too, so `sh -c "mysql -pX db"` is covered like `mysql -pX db`.
 * Config patterns are POSIX extended regexes, matched per argument: the first capture group is
 * replaced when the pattern has one, else the whole match. A pattern is refused when it matches
 * the empty string, is longer than 256 characters or repeats so much (nested {n}, stacked +) that
 * compiling it would take unbounded memory (redact_pattern.c).
 */
#ifndef GW_REDACT_H
#define GW_REDACT_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#define REDACT_MARKER "[REDACTED]"
#define REDACT_PATTERNS_MAX 64

struct redact_span {
	uint32_t start, end;
};

struct redact {
	regex_t *custom; /* the config's patterns */
	size_t n_custom;
	char *out; /* the last redacted argv, reused */
	size_t out_cap;
	struct redact_span *spans; /* of the argument being redacted */
	size_t n_spans, spans_cap;
	uint64_t argv_redacted; /* command lines with at least one secret replaced */
	uint64_t secrets;	/* secrets replaced */
	uint64_t failed;	/* no memory to redact: the argv was dropped, never kept as is */
};

/* 0, or -1 with "pattern: reason" in err when a pattern does not compile. */
int redact_init(struct redact *r, const char *const *patterns, size_t n, char *err, size_t errlen);
void redact_free(struct redact *r);

/* Replaces r's config patterns; on error r keeps its previous ones. */
int redact_set_patterns(struct redact *r, const char *const *patterns, size_t n, char *err,
			size_t errlen);

/* NULL, or why `pattern` is not usable (it does not compile, or it matches the empty string). */
const char *redact_pattern_problem(const char *pattern, char *buf, size_t len);

/*
 * `argc` NUL-terminated strings packed in `len` bytes, redacted: `packed` itself when nothing
 * matched, else r->out (valid until the next call), with its length in *out_len. NULL when there
 * was no memory to redact (counted in r->failed): the caller must then keep no argv.
 */
const char *redact_argv(struct redact *r, const char *packed, size_t len, uint32_t argc,
			size_t *out_len);

#endif
