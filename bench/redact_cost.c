/*
 * redact_cost - what redacting one command line costs the agent per exec (agent/core/redact.c),
 * with the shipped patterns alone and with config regexes added.
 *
 * Each argv of a set of typical ones (short tool calls, a compiler line, a curl with credentials,
 * a shell one-liner, a 4 KiB argv, the agent's copy limit) is redacted RUNS times in a round; the
 * best of ROUNDS rounds is reported per argv and for the set's mean, so a busy machine inflates
 * the numbers as little as it can.
 *
 * usage: build/bench/redact_cost [RUNS] [ROUNDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/redact.h"

static const char *const typical[] = {
	"ls|-la|/tmp",
	"git|status|--porcelain",
	"cc|-O2|-g|-Wall|-Wextra|-Iinclude|-Ibuild|-DNDEBUG=1|-c|src/module.c|-o|build/module.o",
	"/usr/bin/python3|/usr/lib/tool/main.py|--config=/etc/tool/config.yaml|--verbose",
	"curl|-sf|-u|alice:hunter2|-H|Authorization: Bearer abcdef|https://example.com/api?x=1",
	"sh|-c|cd /srv/app && PGPASSWORD=x psql -h db -U app -c 'select 1' > /dev/null",
	"mysql|-uroot|-phunter2|-h|db.example.internal|app",
	"node|/usr/lib/node_modules/npm/bin/npm-cli.js|install|--no-audit|--no-fund|left-pad",
};

#define N_TYPICAL (sizeof(typical) / sizeof(typical[0]))

struct argv_buf {
	char packed[8192];
	size_t len;
	uint32_t argc;
};

static void pack(struct argv_buf *b, const char *line)
{
	b->len = strlen(line) + 1;
	b->argc = 1;
	memcpy(b->packed, line, b->len);
	for (size_t i = 0; i < b->len; i++)
		if (b->packed[i] == '|') {
			b->packed[i] = '\0';
			b->argc++;
		}
}

/* 4095 bytes of 64 ordinary arguments: what the BPF side copies at most */
static void pack_long(struct argv_buf *b)
{
	size_t o = 0;

	b->argc = 0;
	while (o + 64 < 4096) {
		o += (size_t)snprintf(b->packed + o, 64, "--option-%02u=/var/lib/some/%u/file.dat",
				      b->argc % 100, b->argc) + 1;
		b->argc++;
	}
	b->len = o;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double best_ns(struct redact *r, const struct argv_buf *b, long runs, int rounds)
{
	double best = 1e30;
	size_t out_len, sink = 0;

	for (int k = 0; k < rounds; k++) {
		double t0 = now_ns();

		for (long i = 0; i < runs; i++) {
			const char *out = redact_argv(r, b->packed, b->len, b->argc, &out_len);

			sink += out ? out_len : 0;
		}
		t0 = (now_ns() - t0) / (double)runs;
		if (t0 < best)
			best = t0;
	}
	if (!sink)
		fprintf(stderr, "nothing redacted at all\n");
	return best;
}

static void run(const char *title, struct redact *r, long runs, int rounds)
{
	static struct argv_buf bufs[N_TYPICAL + 1];
	double sum = 0;

	printf("%s\n", title);
	for (size_t i = 0; i < N_TYPICAL; i++)
		pack(&bufs[i], typical[i]);
	pack_long(&bufs[N_TYPICAL]);
	for (size_t i = 0; i <= N_TYPICAL; i++) {
		double ns = best_ns(r, &bufs[i], i == N_TYPICAL ? runs / 10 : runs, rounds);

		if (i < N_TYPICAL)
			sum += ns;
		printf("  %8.0f ns  %3zu bytes  %.60s\n", ns, bufs[i].len,
		       i < N_TYPICAL ? typical[i] : "(64 options, 4 KiB)");
	}
	printf("  %8.0f ns  mean of the %zu typical command lines\n", sum / N_TYPICAL, N_TYPICAL);
}

int main(int argc, char **argv)
{
	long runs = argc > 1 ? atol(argv[1]) : 20000;
	int rounds = argc > 2 ? atoi(argv[2]) : 25;
	const char *patterns[] = { "corp-[0-9a-f]{8}", "--vault-ticket[= ]([^ ]+)",
				   "(sk|pk)_live_[0-9a-zA-Z]{24}" };
	char err[256];
	struct redact r;

	if (runs < 10 || rounds < 1 || redact_init(&r, NULL, 0, err, sizeof(err)))
		return 2;
	run("shipped patterns only:", &r, runs, rounds);
	if (redact_set_patterns(&r, patterns, 3, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	run("with 3 config regexes:", &r, runs / 10, rounds);
	printf("argv_redacted=%llu secrets=%llu failed=%llu\n", (unsigned long long)r.argv_redacted,
	       (unsigned long long)r.secrets, (unsigned long long)r.failed);
	redact_free(&r);
	return 0;
}
