/* loopback.c - the loopback listener and connector shared by the connect benchmarks. */
#include "loopback.h"
#include "pacer.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void *accept_loop(void *arg)
{
	struct listener *l = arg;

	for (;;) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0) {
			close(fd);
			atomic_fetch_add(&l->accepted, 1);
		} else if (errno != EINTR && errno != ECONNABORTED) {
			return NULL; /* shutdown() of the listening socket ends the loop */
		}
	}
}

int listener_start(struct listener *l)
{
	socklen_t len = sizeof(l->addr);

	l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		return -1;
	memset(&l->addr, 0, sizeof(l->addr));
	l->addr.sin_family = AF_INET;
	l->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(l->fd, (struct sockaddr *)&l->addr, sizeof(l->addr)) ||
	    getsockname(l->fd, (struct sockaddr *)&l->addr, &len) || listen(l->fd, 4096))
		return -1;
	atomic_init(&l->accepted, 0);
	return pthread_create(&l->thread, NULL, accept_loop, l) ? -1 : 0;
}

void listener_wait_accepted(struct listener *l, uint64_t expected)
{
	uint64_t give_up = pacer_now_ns() + 2000000000ULL;

	while (atomic_load(&l->accepted) < expected && pacer_now_ns() < give_up)
		usleep(50);
}

void listener_stop(struct listener *l, uint64_t expected)
{
	listener_wait_accepted(l, expected);
	shutdown(l->fd, SHUT_RDWR);
	pthread_join(l->thread, NULL);
	close(l->fd);
}

int connect_once(const struct sockaddr_in *addr)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	int rc = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));

	close(fd);
	return rc;
}
