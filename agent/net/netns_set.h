/*
 * netns_set.h - the host's network namespaces other than the agent's own, each known through one
 * process in it, found from /proc; and opening each in turn.
 *
 * A TCP iterator walks the sockets of the namespace it was made in, so the walk of open
 * connections (bytes so far, and in the connect flavour the results not reported yet) has to be
 * made once per namespace to see containers' connections. No namespace is held open between
 * walks: holding one would keep a stopped container's namespace alive; it is opened through its
 * process's /proc/<pid>/ns/net, checked to be the same namespace (the pid may have been reused),
 * and the walk's iterator is made in it by core's namespace helper (core/netns_iter.h).
 */
#ifndef GW_NETNS_SET_H
#define GW_NETNS_SET_H

#include <stddef.h>
#include <stdint.h>

#define NETNS_SET_MAX 256

struct netns_set {
	int self_fd;		/* the agent thread's own namespace; -1: none (no walks) */
	uint64_t self_ino;
	size_t n;
	uint64_t missed;	/* namespaces beyond NETNS_SET_MAX at the last refresh */
	struct {
		uint64_t ino;
		uint32_t pid;
	} v[NETNS_SET_MAX];
};

/* Opens the calling thread's namespace to come back to. 0 or -errno (the set stays empty). */
int netns_set_open(struct netns_set *s);
void netns_set_close(struct netns_set *s);

/* Finds the namespaces under proc_root again. Returns how many besides the agent's, or -errno. */
int netns_set_refresh(struct netns_set *s, const char *proc_root);

/*
 * Calls fn(ns_fd, ctx) with each namespace of the set opened (ns_fd is closed after). A namespace
 * whose process is gone, or whose pid is now another namespace's process, is skipped until the
 * next refresh. Returns how many namespaces fn was called with.
 */
int netns_set_each(const struct netns_set *s, const char *proc_root,
		   void (*fn)(int ns_fd, void *ctx), void *ctx);

#endif
