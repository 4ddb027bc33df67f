/*
 * connect_rate.c - a fixed-rate loopback TCP connect generator for the network signal's benchmark:
 * starts its own listener on 127.0.0.1 (an ephemeral port, an accept thread that closes what it
 * accepts), then connect()s and close()s a new socket `rate` times a second for `seconds`, and prints
 * the same JSON line as exec_rate (achieved rate, CPU time, wall time, late ticks).
 *
 * The client closes first, so its side goes to TIME_WAIT; at 10k/s that would exhaust the ephemeral
 * ports within seconds were it not for net.ipv4.tcp_tw_reuse (Linux default 2: reuse on loopback),
 * which the generator checks and reports as failures (EADDRNOTAVAIL) rather than hiding.
 *
 * usage: connect_rate --rate N --seconds S [--late-us N]
 */
#include "loopback.h"
#include "pacer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct pacer_args args = { .late_us = 1000 };
	struct listener listener;

	for (int i = 1; i < argc;) {
		int next = pacer_parse_arg(&args, argc, argv, i);

		if (next < 0)
			return 2;
		if (next == i) {
			fprintf(stderr, "usage: %s --rate N --seconds S [--late-us N]\n", argv[0]);
			return 2;
		}
		i = next;
	}
	if (!args.rate || !args.seconds) {
		fprintf(stderr, "%s: --rate and --seconds are required (positive)\n", argv[0]);
		return 2;
	}
	if (listener_start(&listener)) {
		fprintf(stderr, "%s: loopback listener: %s\n", argv[0], strerror(errno));
		return 1;
	}

	uint64_t total = args.rate * args.seconds;
	uint64_t ops = 0, failures = 0, first_errno = 0;
	struct pacer pacer;

	pacer_start(&pacer, args.rate, args.late_us * 1000);
	for (uint64_t i = 0; i < total; i++) {
		pacer_wait(&pacer, i);
		if (connect_once(&listener.addr) == 0) {
			ops++;
		} else {
			if (!failures)
				first_errno = (uint64_t)errno;
			failures++;
		}
	}
	uint64_t end_ns = pacer_finish(&pacer, total);

	listener_stop(&listener, ops);
	if (failures)
		fprintf(stderr, "%s: %llu connects failed, first: %s\n", argv[0],
			(unsigned long long)failures, strerror((int)first_errno));

	struct pacer_result result = {
		.workload = "connect", .ops = ops, .failures = failures, .end_ns = end_ns,
	};
	pacer_report(&pacer, &result);
	return 0;
}
