/*
 * hook_chain.h - choosing, per signal, the first flavour of its chain that the running kernel
 * accepts, with one load of the object per refusal instead of one per flavour.
 *
 * A domain describes each signal as a table of flavours (name, the kernel or configuration that
 * needs it, the programs it loads). hook_chain_load() loads the object with the current flavour of
 * every chain; when the kernel refuses a program, the flavour that loads it is refused (the
 * refusal names the program, libbpf's reason and the verifier's last words), that chain moves on
 * to its next flavour, and the object is loaded again. A chain whose flavours are all refused is
 * off; the other signals still run. Nothing is chosen by kernel version.
 */
#ifndef GW_HOOK_CHAIN_H
#define GW_HOOK_CHAIN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <bpf/libbpf.h>

/* room for a signal's every refusal: a load refusal in full and three known ones */
#define HOOK_CHAIN_WHY_MAX 384

struct hook_flavour {
	const char *name;		/* as the status and the force flag say it */
	const char *needs;		/* the supported kernel or configuration that needs it */
	const char *const *progs;	/* programs it loads, NULL-terminated */
};

struct hook_chain {
	const char *signal;
	const struct hook_flavour *flavours;
	int n;			/* flavours in the table */
	int at;			/* the flavour tried next, or chosen; n: none (off or all refused) */
	char why[HOOK_CHAIN_WHY_MAX];	/* its refusals in order, "; " between, "" if none */
	int load_err;		/* errno of the last refusal at load, 0 if none */
};

struct btf;

/*
 * What is known to be refused without loading, learnt once for the whole agent (every domain's
 * chains share it, so a refusal one object met is not met again by the next): see
 * hook_chain_refuse_known() and the probes of hook_chain_load().
 */
struct hook_chain_known {
	pthread_mutex_t *lock;	/* held while it is read or learnt from; NULL: one thread only */
	bool probed;
	bool have_kprobes;
	bool fentry_eperm;
	bool fentry_probed;
	struct btf *vmlinux;	/* the kernel's BTF, parsed once for the probes' attach points */
	bool vmlinux_failed;
	/* loads capturing libbpf's messages, on any thread, and the printer before the first */
	int capturing;
	libbpf_print_fn_t print_before;
};

/* The kernel's BTF, parsed on first use and kept until hook_chain_known_release(): every
 * domain's look-ups share one parse (NULL when it cannot be read). */
const struct btf *hook_chain_vmlinux(struct hook_chain_known *k);

/* Frees what the probes kept (the kernel's BTF); what was learnt stays. */
void hook_chain_known_release(struct hook_chain_known *k);

/* The flavour a chain stands at, NULL when it is off. */
const struct hook_flavour *hook_chain_current(const struct hook_chain *c);

/* Refuses the chain's current flavour for `reason` (added to its refusals) and moves on. */
void hook_chain_refuse(struct hook_chain *c, const char *reason);

/* Refuses the chain's current flavour because the kernel would not attach `prog` (-err). */
void hook_chain_refuse_attach(struct hook_chain *c, const struct bpf_program *prog, int err);

/*
 * Refuses, without a load (each load parses the kernel's BTF and relocates and verifies every
 * program), the current flavours whose refusal is already known: a kprobe flavour (named
 * "kprobe...") when the kernel has no kprobes, which it would say only at attach, and a fentry
 * flavour ("fentry...") once the kernel refused a fentry program with EPERM (the program type,
 * not its target). hook_chain_load() calls it before every open; `k` starts zeroed and carries
 * what was learnt from one load, and one domain, to the next.
 */
void hook_chain_refuse_known(struct hook_chain *chains, int n, struct hook_chain_known *k);

/* Whether program `name` is one the chain's current flavour loads. */
bool hook_chain_wants(const struct hook_chain *c, const char *name);

/*
 * Opens the caller's object (a skeleton it keeps in `ctx`, destroying the one opened before) with
 * the chains' current flavours: autoload on exactly their programs. Returns its skeleton (loaded
 * as a skeleton, so its global data is mapped), or NULL with errno.
 */
typedef struct bpf_object_skeleton *(*hook_chain_open_fn)(void *ctx, struct hook_chain *chains,
							  int n);

/*
 * Opens with open() and loads, and on a program the kernel refuses, refuses the chain whose flavour
 * loads it and tries again. Before a load, each tracing program to be loaded is probed: a two-
 * instruction program of its type and attach point (found in the kernel's BTF) is offered to the
 * kernel, so a refusal of the kind of program (a policy refusing fentry, an iterator the kernel
 * will not run) costs a probe, not a load of the whole object. 0 once the object (the caller's)
 * is loaded; -errno with a message in msg when the failure was of no chain's program (a map, the
 * object) or nothing could be opened.
 */
int hook_chain_load(struct hook_chain *chains, int n, struct hook_chain_known *k,
		    hook_chain_open_fn open, void *ctx, char *msg, size_t msg_size);

#endif
