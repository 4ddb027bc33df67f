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

#include <stdbool.h>
#include <stddef.h>

#include <bpf/libbpf.h>

#define HOOK_CHAIN_WHY_MAX 256

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
	char why[HOOK_CHAIN_WHY_MAX];	/* the first refusal, "" if none */
};

/* The flavour a chain stands at, NULL when it is off. */
const struct hook_flavour *hook_chain_current(const struct hook_chain *c);

/* Refuses the chain's current flavour for `reason` (kept if it is the first) and moves on. */
void hook_chain_refuse(struct hook_chain *c, const char *reason);

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
 * loads it and tries again. 0 once the object (the caller's) is loaded; -errno with a message in
 * msg when the failure was of no chain's program (a map, the object) or nothing could be opened.
 */
int hook_chain_load(struct hook_chain *chains, int n, hook_chain_open_fn open, void *ctx,
		    char *msg, size_t msg_size);

#endif
