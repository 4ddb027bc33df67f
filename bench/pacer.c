/* pacer.c - fixed-rate ticker and JSON report shared by the bench/ load generators. */
#include "pacer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define NS_PER_S 1000000000ULL

uint64_t pacer_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

void pacer_start(struct pacer *p, uint64_t rate, uint64_t late_threshold_ns)
{
	memset(p, 0, sizeof(*p));
	p->rate = rate;
	p->late_threshold_ns = late_threshold_ns;
	p->start_ns = pacer_now_ns();
}

/* Tick i is due i / rate seconds after start (split so that i * 1e9 cannot overflow). */
static uint64_t sleep_until_tick(const struct pacer *p, uint64_t i)
{
	uint64_t deadline = p->start_ns + (i / p->rate) * NS_PER_S + (i % p->rate) * NS_PER_S / p->rate;
	struct timespec ts = { .tv_sec = deadline / NS_PER_S, .tv_nsec = deadline % NS_PER_S };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
	return deadline;
}

void pacer_wait(struct pacer *p, uint64_t i)
{
	uint64_t deadline = sleep_until_tick(p, i);

	/* Measured after the sleep, so a slow wakeup counts as lateness just like a busy loop does. */
	uint64_t late = pacer_now_ns() - deadline;

	p->sum_late_ns += late;
	if (late > p->max_late_ns)
		p->max_late_ns = late;
	if (late > p->late_threshold_ns)
		p->late_ticks++;
}

uint64_t pacer_finish(const struct pacer *p, uint64_t ticks)
{
	sleep_until_tick(p, ticks);
	return pacer_now_ns();
}

static uint64_t rusage_cpu_us(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru))
		return 0;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000ULL +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

void pacer_report(const struct pacer *p, const struct pacer_result *r)
{
	double wall_s = (double)(r->end_ns - p->start_ns) / 1e9;
	uint64_t self_us = rusage_cpu_us(RUSAGE_SELF);
	uint64_t children_us = rusage_cpu_us(RUSAGE_CHILDREN);

	printf("{\"workload\":\"%s\",\"target_rate\":%llu,\"ops\":%llu,\"failures\":%llu,"
	       "\"wall_s\":%.6f,\"achieved_rate\":%.1f,\"cpu_self_us\":%llu,"
	       "\"cpu_children_us\":%llu,\"cpu_total_us\":%llu,\"late_ticks\":%llu,"
	       "\"max_late_us\":%.1f,\"mean_late_us\":%.2f}\n",
	       r->workload, (unsigned long long)p->rate, (unsigned long long)r->ops,
	       (unsigned long long)r->failures, wall_s, wall_s > 0 ? (double)r->ops / wall_s : 0.0,
	       (unsigned long long)self_us, (unsigned long long)children_us,
	       (unsigned long long)(self_us + children_us), (unsigned long long)p->late_ticks,
	       (double)p->max_late_ns / 1e3,
	       r->ops + r->failures ? (double)p->sum_late_ns / 1e3 / (double)(r->ops + r->failures) : 0.0);
	fflush(stdout);
}

static int parse_u64(const char *flag, const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s ? s : "", &end, 10);

	if (!s || errno || *end || end == s || v == 0) {
		fprintf(stderr, "%s wants a positive integer, got '%s'\n", flag, s ? s : "");
		return -1;
	}
	*out = v;
	return 0;
}

int pacer_parse_arg(struct pacer_args *a, int argc, char **argv, int i)
{
	const char *val = i + 1 < argc ? argv[i + 1] : NULL;

	if (!strcmp(argv[i], "--rate"))
		return parse_u64("--rate", val, &a->rate) ? -1 : i + 2;
	if (!strcmp(argv[i], "--seconds"))
		return parse_u64("--seconds", val, &a->seconds) ? -1 : i + 2;
	if (!strcmp(argv[i], "--late-us"))
		return parse_u64("--late-us", val, &a->late_us) ? -1 : i + 2;
	return i;
}
