/*
 * exec_rate.c - a fixed-rate exec generator: posix_spawn()s a target (by default the static no-libc
 * build/bench/true_static next to this binary) `rate` times a second for `seconds`, reaps the
 * children as it goes, and prints one JSON line: achieved rate, its own CPU time plus its children's
 * (that is where the kernel's exec path, and any BPF program hooked on it, is charged), wall time and
 * late ticks.
 *
 * usage: exec_rate --rate N --seconds S [--target PATH] [--max-inflight N] [--late-us N]
 */
#include "pacer.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct exec_loop {
	const char *target;
	uint64_t max_inflight; /* children not yet reaped; bounds the burst after a stall */
	uint64_t inflight;
	uint64_t ops;
	uint64_t failures;
};

static void account_child(struct exec_loop *l, int status)
{
	l->inflight--;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		l->ops++;
	else
		l->failures++;
}

/* Reap what has exited; block while the number of live children is at the cap. */
static void reap(struct exec_loop *l, uint64_t keep_at_most)
{
	int status;

	while (l->inflight > 0) {
		pid_t pid = waitpid(-1, &status, l->inflight > keep_at_most ? 0 : WNOHANG);

		if (pid > 0) {
			account_child(l, status);
			continue;
		}
		if (pid < 0 && errno == EINTR)
			continue;
		break;
	}
}

static int default_target(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0)
		return -1;
	self[n] = '\0';
	return snprintf(buf, len, "%s/true_static", dirname(self)) >= (int)len ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct pacer_args args = { .late_us = 1000 };
	struct exec_loop loop = { .max_inflight = 64 };
	char target[PATH_MAX];

	for (int i = 1; i < argc;) {
		int next = pacer_parse_arg(&args, argc, argv, i);

		if (next < 0)
			return 2;
		if (next > i) {
			i = next;
		} else if (!strcmp(argv[i], "--target") && i + 1 < argc) {
			loop.target = argv[i + 1];
			i += 2;
		} else if (!strcmp(argv[i], "--max-inflight") && i + 1 < argc) {
			loop.max_inflight = strtoull(argv[i + 1], NULL, 10);
			i += 2;
		} else {
			fprintf(stderr, "usage: %s --rate N --seconds S [--target PATH] "
					"[--max-inflight N] [--late-us N]\n", argv[0]);
			return 2;
		}
	}
	if (!args.rate || !args.seconds || !loop.max_inflight) {
		fprintf(stderr, "%s: --rate and --seconds are required (positive)\n", argv[0]);
		return 2;
	}
	if (!loop.target) {
		if (default_target(target, sizeof(target))) {
			fprintf(stderr, "%s: cannot locate true_static next to myself\n", argv[0]);
			return 2;
		}
		loop.target = target;
	}
	if (access(loop.target, X_OK)) {
		fprintf(stderr, "%s: target %s: %s\n", argv[0], loop.target, strerror(errno));
		return 2;
	}

	char *child_argv[] = { "gw-bench-true", NULL };
	char *child_envp[] = { NULL };
	uint64_t total = args.rate * args.seconds;
	struct pacer pacer;

	pacer_start(&pacer, args.rate, args.late_us * 1000);
	for (uint64_t i = 0; i < total; i++) {
		pid_t pid;

		pacer_wait(&pacer, i);
		int err = posix_spawn(&pid, loop.target, NULL, NULL, child_argv, child_envp);

		if (err)
			loop.failures++;
		else
			loop.inflight++;
		reap(&loop, loop.max_inflight - 1);
	}
	uint64_t end_ns = pacer_finish(&pacer, total);

	reap(&loop, 0);

	struct pacer_result result = {
		.workload = "exec", .ops = loop.ops, .failures = loop.failures, .end_ns = end_ns,
	};
	pacer_report(&pacer, &result);
	return 0;
}
