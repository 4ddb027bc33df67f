/* netns_iter.c - iterators made in other network namespaces, by a helper keeping CAP_SYS_ADMIN.
 * See netns_iter.h. */
#include "netns_iter.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "privs.h"

#define HELPER_SOCK 3
#define REPLY_TIMEOUT_S 5

void netns_iter_init(struct netns_iter *h)
{
	h->pid = 0;
	h->sock = -1;
	h->self_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
}

/* Sends a message of `len` bytes with up to two descriptors. 0 or -errno. */
static int send_fds(int sock, const void *data, size_t len, const int *fds, int n_fds)
{
	char ctl[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { (void *)data, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (n_fds) {
		memset(ctl, 0, sizeof(ctl));
		msg.msg_control = ctl;
		msg.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, n_fds * sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -errno;
}

/* Receives a message of exactly `len` bytes and the descriptors it carries (fds[] set to -1 past
 * them). Returns how many descriptors, 0 on a closed socket with *eof set, or -errno. */
static int recv_fds(int sock, void *data, size_t len, int *fds, int max_fds, int *eof)
{
	char ctl[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { data, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			      .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c;
	ssize_t n;
	int got = 0;

	*eof = 0;
	for (int i = 0; i < max_fds; i++)
		fds[i] = -1;
	n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		int k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < max_fds)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	if (n == 0) {
		*eof = 1;
		return 0;
	}
	if ((size_t)n != len || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		for (int i = 0; i < got; i++)
			close(fds[i]);
		return -EPROTO;
	}
	return got;
}

static int is_iter_link(int fd)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return !bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_LINK_TYPE_ITER;
}

/* In the namespace ns_fd, an iterator of link_fd; then back to self_fd (or -1 and *lost). */
static int iter_in(int self_fd, int ns_fd, int link_fd, int *lost)
{
	int fd, err = 0;

	*lost = 0;
	if (setns(ns_fd, CLONE_NEWNET))
		return -errno;
	fd = bpf_iter_create(link_fd);
	if (fd < 0)
		err = -errno;
	if (setns(self_fd, CLONE_NEWNET)) {
		err = -errno;
		*lost = 1;
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd < 0 ? err : fd;
}

static void helper_serve(int sock)
{
	int self_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	for (;;) {
		int fds[2], eof, lost = 0, n, fd = -1;
		int32_t answer;
		char op;

		n = recv_fds(sock, &op, 1, fds, 2, &eof);
		if (eof || (n < 0 && n != -EPROTO && n != -EINTR))
			_exit(0);
		if (n != 2 || op != 'w')
			answer = -EINVAL;
		else if (!is_iter_link(fds[1]))
			answer = -EBADF;
		else if (self_fd < 0)
			answer = -EBADF;
		else
			answer = fd = iter_in(self_fd, fds[0], fds[1], &lost);
		for (int i = 0; i < 2; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		if (lost)
			_exit(1);
		if (fd >= 0)
			answer = 0;
		send_fds(sock, &answer, sizeof(answer), &fd, fd >= 0);
		if (fd >= 0)
			close(fd);
	}
}

/* The child: nothing but its socket, CAP_SYS_ADMIN alone, gone with the agent. */
static void helper_main(int sock, pid_t agent)
{
	char kept[64], why[256];
	bool bounded;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != agent)
		_exit(0);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (sock != HELPER_SOCK && (dup2(sock, HELPER_SOCK) < 0 || close(sock)))
		_exit(1);
	close_range(HELPER_SOCK + 1, ~0U, 0);
	prctl(PR_SET_NAME, "gw-netns-iter");
	if (privs_drop(PRIVS_NETNS_HELPER, kept, sizeof(kept), &bounded, why, sizeof(why))) {
		fprintf(stderr, "ghostwatch: namespace helper: %s\n", why);
		_exit(1);
	}
	helper_serve(HELPER_SOCK);
}

int netns_iter_start(struct netns_iter *h)
{
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_S };
	pid_t agent = getpid();
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	h->pid = fork();
	if (h->pid < 0) {
		int err = -errno;

		h->pid = 0;
		close(sv[0]);
		close(sv[1]);
		return err;
	}
	if (h->pid == 0) {
		close(sv[0]);
		helper_main(sv[1], agent);
		_exit(0);
	}
	close(sv[1]);
	h->sock = sv[0];
	setsockopt(h->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
}

/* A helper that failed a request is not trusted to answer the next one in step: stopped. */
static int helper_failed(struct netns_iter *h, int err)
{
	netns_iter_stop(h);
	fprintf(stderr, "ghostwatch: namespace helper: %s; other network namespaces are no longer "
			"walked\n", strerror(-err));
	return err;
}

int netns_iter_create(struct netns_iter *h, int ns_fd, int link_fd)
{
	int fds[2] = { ns_fd, link_fd }, fd = -1, eof, n, lost;
	int32_t answer;

	if (h->sock < 0) {
		if (h->self_fd < 0)
			return -EBADF;
		n = iter_in(h->self_fd, ns_fd, link_fd, &lost);
		if (lost) {
			/* never seen: this thread stays in another namespace; never enter one again */
			close(h->self_fd);
			h->self_fd = -1;
		}
		return n;
	}
	n = send_fds(h->sock, "w", 1, fds, 2);
	if (n)
		return helper_failed(h, n);
	n = recv_fds(h->sock, &answer, sizeof(answer), &fd, 1, &eof);
	if (eof)
		return helper_failed(h, -EPIPE);
	if (n < 0)
		return helper_failed(h, n);
	if (answer)
		return answer < 0 ? answer : -EPROTO;
	return n == 1 ? fd : -EPROTO;
}

void netns_iter_stop(struct netns_iter *h)
{
	if (h->sock >= 0)
		close(h->sock);
	h->sock = -1;
	/* it holds nothing worth a clean exit: the agent's stop never waits on it */
	if (h->pid > 0 && !kill(h->pid, SIGKILL))
		waitpid(h->pid, NULL, 0);
	h->pid = 0;
	if (h->self_fd >= 0)
		close(h->self_fd);
	h->self_fd = -1;
}
