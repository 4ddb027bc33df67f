/*
 * attach_registry.h - the BPF links the agent attached, by kernel id, so that whoever checks the
 * agent is still attached (the tamper domain) need not reach into the domains that attached them.
 * Core's hooks_attach() registers its links; a domain attaching on its own registers them once
 * attached. The registry holds its own descriptor of each link (and of a cgroup link's program
 * and cgroup), taken at registration while the agent is still privileged, so a check needs no
 * capability: it reads each link back through that descriptor (bpf_obj_get_info_by_fd). A link
 * detached (a cgroup link detached with `bpftool link detach` keeps its id but loses its cgroup)
 * or running another program is reported, and a detached cgroup link is attached again. The
 * kernel cannot free a link the registry holds, so "gone" is not a state it needs to look for.
 */
#ifndef GW_ATTACH_REGISTRY_H
#define GW_ATTACH_REGISTRY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define GW_ATTACHED_MAX 64

struct gw_attached {
	char name[16];		 /* the program's name (BPF_OBJ_NAME_LEN) */
	uint32_t link_id, prog_id;
	uint32_t type, attach_type; /* enum bpf_link_type, enum bpf_attach_type */
	int link_fd;		 /* the link: our dup, or the one this registry attached again */
	int prog_fd;		 /* a cgroup link's program (to attach again), else -1 */
	int target_fd;		 /* a cgroup link's cgroup (our own dup), else -1 */
};

struct gw_attach_registry {
	pthread_mutex_t *lock;	/* held to add and check: a domain may attach on the loader thread */
	struct gw_attached e[GW_ATTACHED_MAX];
	int n;
	uint64_t not_registered; /* links past GW_ATTACHED_MAX or unreadable: not checked */
};

/* Registers the link behind link_fd (duplicated); target_fd is the cgroup it was attached to
 * (duplicated), or -1. Takes CAP_SYS_ADMIN for a cgroup link's program: call it before the
 * agent drops its privileges. 0, or -errno (counted in not_registered). */
int attach_registry_add(struct gw_attach_registry *r, int link_fd, int target_fd);

/* What a check found wrong with one link, after trying to attach it again. */
struct gw_attach_loss {
	const struct gw_attached *link; /* as registered (link_id the one that was lost) */
	const char *what;		/* "detached from its cgroup", "gone", ... */
	uint32_t new_link_id;		/* attached again as this link, 0 if it could not be */
};

/* Checks every registered link; calls lost() for each one missing. Returns how many were. */
int attach_registry_check(struct gw_attach_registry *r,
			  void (*lost)(const struct gw_attach_loss *l, void *ctx), void *ctx);

void attach_registry_close(struct gw_attach_registry *r);

#endif
