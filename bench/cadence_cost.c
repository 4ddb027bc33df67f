/*
 * cadence_cost - native cost of the input cadence BPF program per input event.
 *
 * The kernel's input hook cannot be attached on every machine (this build host refuses fentry and
 * has no input devices), so the program's body is also built as a raw_tp entry point
 * (gw_cadence_bench) that BPF_PROG_TEST_RUN runs with synthetic (dev, type, code, value)
 * arguments: a realistic mix of key presses and releases, relative and absolute motion bursts,
 * clicks and SYN_REPORTs over 4 devices. The same number of runs of an empty raw_tp program
 * (gw_cadence_bench_empty) is the baseline measured in the same round: the difference is what the
 * cadence code costs per event, without the syscall around it.
 *
 * usage: build/bench/cadence_cost [RUNS_PER_ROUND] [ROUNDS]     (root)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cadence.skel.h"

struct input_args {
	unsigned long long dev, type, code, value;
};

#define EV_SYN 0
#define EV_KEY 1
#define EV_REL 2
#define EV_ABS 3

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The i-th event of the synthetic stream: per device, groups of events then a SYN_REPORT. */
static struct input_args event_at(unsigned long i)
{
	unsigned long dev = i % 4, step = i / 4;
	struct input_args a = { .dev = 0xffff888000100000ULL + dev * 0x1000 };

	switch (dev) {
	case 0: /* keyboard: press, SYN, release, SYN */
		a.type = step % 2 ? EV_SYN : EV_KEY;
		a.code = 30 + (step / 4) % 20;
		a.value = (step / 2) % 2 ? 0 : 1;
		break;
	case 1: /* relative mouse: dx, dy, SYN; a click now and then */
		a.type = step % 3 == 2 ? EV_SYN : step % 50 == 0 ? EV_KEY : EV_REL;
		a.code = a.type == EV_KEY ? 0x110 : step % 3;
		a.value = a.type == EV_KEY ? 1 : (step % 7) - 3;
		break;
	case 2: /* absolute tablet */
		a.type = step % 3 == 2 ? EV_SYN : EV_ABS;
		a.code = step % 3;
		a.value = 16000 + (step % 100);
		break;
	default: /* SYN-only traffic: the early-exit path */
		a.type = EV_SYN;
		break;
	}
	return a;
}

/* Runs of `fd` over events [from, from + n); adds the time taken to *seconds. */
static int run(int fd, unsigned long from, unsigned long n, double *seconds)
{
	struct input_args args;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &args, .ctx_size_in = sizeof(args));
	double t0 = now_s();

	for (unsigned long i = from; i < from + n; i++) {
		args = event_at(i);
		if (bpf_prog_test_run_opts(fd, &opts))
			return -errno;
	}
	*seconds += now_s() - t0;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define CHUNK 5000 /* empty and cadence runs alternate in chunks: drift on a shared host cancels */
#define MAX_ROUNDS 64

int main(int argc, char **argv)
{
	unsigned long runs = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	struct gw_cadence *skel = gw_cadence__open();
	struct bpf_program *prog;
	double costs[MAX_ROUNDS], counted = 0;
	int err;

	if (!skel) {
		perror("open");
		return 1;
	}
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, false);
	bpf_program__set_autoload(skel->progs.gw_cadence_bench, true);
	bpf_program__set_autoload(skel->progs.gw_cadence_bench_empty, true);
	err = gw_cadence__load(skel);
	if (err) {
		fprintf(stderr, "load: %s\n", strerror(-err));
		return 1;
	}
	for (unsigned long i = 0; i < runs; i++)
		counted += event_at(i).type != EV_SYN;
	counted /= runs;
	printf("| round | runs | empty program (ns/run) | cadence program (ns/run) | cadence cost (ns/event) |\n");
	printf("|---|---|---|---|---|\n");
	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 5;
	for (int r = 1; r <= rounds; r++) {
		double empty = 0, full = 0;

		for (unsigned long from = 0; from < runs; from += CHUNK) {
			unsigned long n = runs - from < CHUNK ? runs - from : CHUNK;

			if (run(bpf_program__fd(skel->progs.gw_cadence_bench_empty), from, n, &empty) ||
			    run(bpf_program__fd(skel->progs.gw_cadence_bench), from, n, &full)) {
				fprintf(stderr, "test run: %s\n", strerror(errno));
				return 1;
			}
		}
		costs[r - 1] = (full - empty) / runs * 1e9;
		printf("| %d | %lu | %.0f | %.0f | %.0f |\n", r, runs, empty / runs * 1e9,
		       full / runs * 1e9, costs[r - 1]);
	}
	qsort(costs, (size_t)rounds, sizeof(costs[0]), cmp_double);
	printf("\nmedian of %d rounds: %.0f ns per event; %.0f ns per counted (key, button, motion) "
	       "event: %.0f%% of the stream, the rest SYN_REPORTs that exit at once\n", rounds,
	       costs[rounds / 2], costs[rounds / 2] / counted, counted * 100);
	gw_cadence__destroy(skel);
	return 0;
}
