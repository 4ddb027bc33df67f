/*
 * privs.h - what the agent keeps of root's power once every domain has loaded and attached its
 * programs. From then on the process parses untrusted input (DNS answers, uevents, HID
 * descriptors, other processes' /proc, the network), so it keeps only the capabilities its
 * running work still needs (the sets and each one's reason, measured: docs/PRIVILEGES.md):
 *  - CAP_BPF: map reads and updates, iterator reads and the re-attach of a detached cgroup link
 *    go through bpf(2), which kernels before 6.5 refuse without it when unprivileged BPF is off
 *    (Debian's default);
 *  - CAP_SYS_PTRACE: /proc/<pid>/exe, fd/ and ns/ of other users' processes and of root's fully
 *    privileged ones (a capability-less root is refused them): who stopped the agent, sockets'
 *    owners, the namespaces to walk;
 *  - CAP_DAC_READ_SEARCH: hashing any executable, wherever it lies and whatever its mode.
 * Entering other network namespaces (setns, for the walks of open connections in containers)
 * takes CAP_SYS_ADMIN, which no parser keeps: a helper process forked before the drop keeps it
 * alone and only makes iterators in the namespaces it is handed (netns_iter.h).
 * Everything else leaves the permitted, effective, inheritable, ambient and bounding sets;
 * no_new_privs is set and root's exec privileges are locked off (SECBIT_NOROOT), so no exec
 * brings any of it back. Capabilities belong to each thread: the drop happens while the process
 * is still one thread, so every thread made later inherits the reduced sets.
 */
#ifndef GW_PRIVS_H
#define GW_PRIVS_H

#include <stdbool.h>
#include <stddef.h>

enum privs_role {
	PRIVS_AGENT,	    /* the agent: the three capabilities above */
	PRIVS_NETNS_HELPER, /* the namespace helper: CAP_SYS_ADMIN alone */
};

/*
 * Drops what the process in that role does not need. On success writes the kept set as text
 * ("cap_dac_read_search,cap_sys_ptrace,cap_bpf=ep", or "none") to kept, whether the bounding set
 * could be narrowed too (it takes CAP_SETPCAP, which a unit may not grant) to bounded, and
 * returns 0; else -errno with why.
 */
int privs_drop(enum privs_role role, char *kept, size_t kept_size, bool *bounded, char *why,
	       size_t why_size);

#endif
