/*
 * empty_hook.h - BPF programs that return at once, on a hook the network signal uses or could use:
 * what running any program there costs the connect loop before the program does any work. The
 * floor under a design, measured by connect_ab --empty=HOOK the same way as the agent's programs.
 */
#ifndef GW_BENCH_EMPTY_HOOK_H
#define GW_BENCH_EMPTY_HOOK_H

#include <stdbool.h>

enum empty_hook_kind {
	EMPTY_HOOK_SET_STATE,	 /* tp_btf/inet_sock_set_state: the agent's TCP hook */
	EMPTY_HOOK_DESTROY_SOCK, /* tp_btf/tcp_destroy_sock: one run per TCP socket */
	EMPTY_HOOK_SOCK_OPS,	 /* sockops on the root cgroup (no callback flags set) */
	EMPTY_HOOK_CGROUP_SKB,	 /* cgroup_skb ingress and egress on the root cgroup: the DNS hooks */
	EMPTY_HOOK_CONNECT,	 /* cgroup/connect4 and connect6 on the root cgroup: the UDP connect
				  * hooks, which run for every TCP connect too */
	EMPTY_HOOK_KINDS,
};

struct empty_hook {
	enum empty_hook_kind kind;
	int cgroup_fd;
	int n;
	int prog_fd[2];
	int link_fd[2];
};

/* The kind named `name` (set_state, destroy_sock, sock_ops, cgroup_skb, connect); -1 if
 * none. */
int empty_hook_kind_of(const char *name);
/* Loads the kind's programs; 0, or -1 with a message on stderr. */
int empty_hook_load(struct empty_hook *e, enum empty_hook_kind kind, int cgroup_fd);
int empty_hook_attach(struct empty_hook *e);
void empty_hook_detach(struct empty_hook *e);

#endif
