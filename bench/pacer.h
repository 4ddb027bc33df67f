/*
 * pacer.h - what every bench/ load generator shares: a fixed-rate ticker on absolute deadlines and
 * the one-line JSON report run.sh parses.
 *
 * Absolute deadlines (start + i * period, clock_nanosleep TIMER_ABSTIME) keep the rate steady: a
 * late tick does not push every later one back, the loop catches up instead, and the lateness is
 * counted so a run whose generator could not keep up is visible rather than silently slower.
 */
#ifndef GW_BENCH_PACER_H
#define GW_BENCH_PACER_H

#include <stdint.h>

struct pacer {
	uint64_t start_ns;         /* CLOCK_MONOTONIC at pacer_start() */
	uint64_t rate;             /* ticks per second */
	uint64_t late_threshold_ns; /* a tick started later than this past its deadline is late */
	uint64_t late_ticks;
	uint64_t max_late_ns;
	uint64_t sum_late_ns;
};

/* What a generator did, printed by pacer_report() as one JSON object on stdout. */
struct pacer_result {
	const char *workload;  /* "exec", "connect" */
	uint64_t ops;          /* operations completed */
	uint64_t failures;     /* operations that failed (spawn error, non-zero exit, refused) */
	uint64_t end_ns;       /* CLOCK_MONOTONIC after the last operation finished */
};

uint64_t pacer_now_ns(void);
void pacer_start(struct pacer *p, uint64_t rate, uint64_t late_threshold_ns);
/* Sleep until tick `i`'s deadline (at once if it has passed) and account how late it began. */
void pacer_wait(struct pacer *p, uint64_t i);
/* Sleep out the last tick's slot (so `ticks` ticks take ticks / rate seconds when on time) and
 * return the end time for pacer_result.end_ns. */
uint64_t pacer_finish(const struct pacer *p, uint64_t ticks);
/* Print the report, with this process's CPU time and that of its reaped children (getrusage). */
void pacer_report(const struct pacer *p, const struct pacer_result *r);

/* Shared command line: --rate N --seconds S [--late-us N]; returns the index of the first
 * argument it did not consume, or -1 after printing a message (exit 2). */
struct pacer_args {
	uint64_t rate;
	uint64_t seconds;
	uint64_t late_us;
};
int pacer_parse_arg(struct pacer_args *a, int argc, char **argv, int i);

#endif
