/*
 * netns_iter.h - BPF iterators made inside another network namespace, for a domain walking the
 * sockets of containers (an iter/tcp iterator sees the namespace it is made in).
 *
 * Entering a namespace (setns) takes CAP_SYS_ADMIN, which the agent drops once attached
 * (privs.h). Before the drop, core forks a helper that keeps CAP_SYS_ADMIN alone, reads nothing
 * but its socket to the agent, and serves one request: "this namespace, this iterator link" (both
 * as descriptors the agent passes), answered with a new iterator's descriptor. It checks the link
 * is an iterator link and the namespace a network namespace, and returns to its own namespace
 * after each. It exits when the agent closes the socket or dies.
 * Without the helper (privileges kept, or it could not start) the agent makes the iterator itself
 * the same way, which works while it is privileged.
 */
#ifndef GW_NETNS_ITER_H
#define GW_NETNS_ITER_H

#include <sys/types.h>

struct netns_iter {
	pid_t pid;   /* the helper, 0 if none */
	int sock;    /* to the helper, -1 if none */
	int self_fd; /* the agent's own namespace (to come back to without a helper), or -1 */
};

void netns_iter_init(struct netns_iter *h);

/* Forks the helper; call while the agent is one privileged thread. 0 or -errno. */
int netns_iter_start(struct netns_iter *h);

/* A new iterator of link_fd's program made inside the network namespace ns_fd: its descriptor
 * (the caller reads it to the end and closes it), or -errno. */
int netns_iter_create(struct netns_iter *h, int ns_fd, int link_fd);

/* Closes the socket, waits for the helper and closes the agent's own namespace: no iterator is
 * made in another namespace any more. */
void netns_iter_stop(struct netns_iter *h);

#endif
