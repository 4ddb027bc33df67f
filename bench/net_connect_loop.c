/*
 * net_connect_loop - loopback TCP connects at a fixed rate, for the network benchmark.
 *
 *   net_connect_loop RATE SECONDS     (RATE 0: as fast as possible)
 *
 * A listener thread accepts and closes; the main thread connects and closes, paced in 1 ms slices
 * against absolute deadlines so a slow slice is caught up, not lost. Prints one JSON line: connects
 * done, failures, wall time, achieved rate, and this process's CPU time (user+system, both threads:
 * on loopback most of the kernel's TCP work, and the BPF programs it triggers, runs here).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *acceptor(void *arg)
{
	int lfd = *(int *)arg;

	for (;;) {
		int c = accept(lfd, NULL, NULL);

		if (c >= 0)
			close(c);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	long rate, done = 0, failed = 0;
	double secs, start, end;
	struct rusage ru;
	pthread_t th;
	int lfd, one = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: %s RATE SECONDS\n", argv[0]);
		return 2;
	}
	rate = atol(argv[1]);
	secs = atof(argv[2]);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4096) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len)) {
		perror("listener");
		return 1;
	}
	pthread_create(&th, NULL, acceptor, &lfd);

	start = now_s();
	end = start + secs;
	for (long slice = 0;; slice++) {
		double slice_start = start + slice * 0.001;
		long due = rate ? (long)((slice + 1) * rate / 1000) : done + 64;

		if (slice_start >= end)
			break;
		if (rate) {
			double wait = slice_start - now_s();

			if (wait > 0) {
				struct timespec ts = { 0, (long)(wait * 1e9) };

				nanosleep(&ts, NULL);
			}
		}
		while (done < due) {
			int fd = socket(AF_INET, SOCK_STREAM, 0);
			struct linger lg = { 1, 0 }; /* RST on close: no TIME_WAIT pile-up at 10k/s */

			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
				failed++;
			close(fd);
			done++;
		}
		if (!rate && now_s() >= end)
			break;
	}
	end = now_s();
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"target_rate\":%ld,\"connects\":%ld,\"failures\":%ld,\"wall_s\":%.3f,"
	       "\"achieved_rate\":%.0f,\"cpu_us\":%.0f}\n",
	       rate, done, failed, end - start, done / (end - start),
	       (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec +
		       ru.ru_stime.tv_usec);
	return 0;
}
