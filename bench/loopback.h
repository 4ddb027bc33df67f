/*
 * loopback.h - the loopback TCP pair the connect benchmarks drive: a listener on 127.0.0.1 (an
 * ephemeral port) whose accept thread closes what it accepts, and one connect()+close() per call.
 */
#ifndef GW_BENCH_LOOPBACK_H
#define GW_BENCH_LOOPBACK_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct listener {
	int fd;
	struct sockaddr_in addr;
	pthread_t thread;
	atomic_uint_fast64_t accepted;
};

/* 0, or -1 with errno set. */
int listener_start(struct listener *l);
/* Let the accept thread catch up with `expected` accepted connections (bounded), then stop it. */
void listener_stop(struct listener *l, uint64_t expected);
/* Wait (bounded) until the accept thread has accepted and closed `expected` connections. */
void listener_wait_accepted(struct listener *l, uint64_t expected);
/* One connect() and close() of a new socket: connect()'s return value. */
int connect_once(const struct sockaddr_in *addr);

#endif
