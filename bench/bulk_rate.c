/*
 * bulk_rate.c - a loopback TCP bulk transfer for the protocol identification benchmark: one
 * connection to its own listener on 127.0.0.1, `mib` MiB written in 1 MiB writes as fast as the
 * kernel takes them and read by a thread on the other end, then the same JSON line as the other
 * generators: ops = MiB moved, achieved_rate = MiB/s, and the CPU time of both ends (one process).
 *
 * The first-bytes capture runs on every packet of this transfer (cgroup_skb, both directions), so
 * this is where a per-packet cost would show; the connect storm shows the per-connection one.
 *
 * usage: bulk_rate --mib N
 */
#include "pacer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK (1u << 20)

struct receiver {
	int listen_fd;
	uint64_t bytes;
	int err;
};

static void *receive_all(void *arg)
{
	struct receiver *r = arg;
	char *buf = malloc(CHUNK);
	int fd = accept(r->listen_fd, NULL, NULL);
	ssize_t n;

	if (fd < 0 || !buf) {
		r->err = fd < 0 ? errno : ENOMEM;
		free(buf);
		return NULL;
	}
	while ((n = read(fd, buf, CHUNK)) > 0)
		r->bytes += (uint64_t)n;
	if (n < 0)
		r->err = errno;
	close(fd);
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	struct receiver r = { 0 };
	struct pacer p = { 0 };
	pthread_t thread;
	uint64_t mib = 0, sent = 0;
	char *buf;
	int fd;

	if (argc != 3 || strcmp(argv[1], "--mib") || !(mib = strtoull(argv[2], NULL, 10))) {
		fprintf(stderr, "usage: %s --mib N\n", argv[0]);
		return 2;
	}
	buf = calloc(1, CHUNK);
	r.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (!buf || r.listen_fd < 0 || bind(r.listen_fd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(r.listen_fd, 1) || getsockname(r.listen_fd, (struct sockaddr *)&addr, &len) ||
	    pthread_create(&thread, NULL, receive_all, &r)) {
		fprintf(stderr, "%s: listener: %s\n", argv[0], strerror(errno));
		return 1;
	}
	p.start_ns = pacer_now_ns();
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		fprintf(stderr, "%s: connect: %s\n", argv[0], strerror(errno));
		return 1;
	}
	for (uint64_t i = 0; i < mib; i++) {
		size_t off = 0;

		while (off < CHUNK) {
			ssize_t n = write(fd, buf + off, CHUNK - off);

			if (n < 0) {
				fprintf(stderr, "%s: write: %s\n", argv[0], strerror(errno));
				return 1;
			}
			off += (size_t)n;
		}
		sent += CHUNK;
	}
	close(fd);
	pthread_join(thread, NULL);
	if (r.err || r.bytes != sent)
		fprintf(stderr, "%s: received %llu of %llu bytes: %s\n", argv[0],
			(unsigned long long)r.bytes, (unsigned long long)sent, strerror(r.err));

	struct pacer_result result = {
		.workload = "bulk", .ops = r.bytes / CHUNK, .failures = r.bytes != sent,
		.end_ns = pacer_now_ns(),
	};
	pacer_report(&p, &result);
	free(buf);
	close(r.listen_fd);
	return 0;
}
