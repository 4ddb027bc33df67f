/*
 * stop_sender.h - who asked the agent to stop. The event loop reads SIGINT/SIGTERM from a
 * signalfd, which names the sender (pid, uid); the sender is identified at once, while it still
 * exists (a `kill` from a shell is gone a moment later): its command, executable and the
 * commands of its ancestors. A stop from the service manager (pid 1 of the agent's pid
 * namespace) or from a package manager's run (dpkg, rpm, apt, ... the sender or an ancestor) is
 * an expected stop; any other is reported by the tamper domain.
 *
 * This is evidence, not protection: root can dress a process up as dpkg.
 */
#ifndef GW_STOP_SENDER_H
#define GW_STOP_SENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct signalfd_siginfo;

enum gw_stop_origin {
	GW_STOP_NONE,	   /* no stop signal (the run's duration ended, or still running) */
	GW_STOP_MANAGER,   /* pid 1: the service manager */
	GW_STOP_PACKAGE,   /* a package manager or its scripts */
	GW_STOP_OTHER,	   /* a user, a script, the terminal */
};

#define GW_STOP_CHAIN_MAX 8

struct gw_stop_sender {
	enum gw_stop_origin origin;
	int signo;
	int32_t code;	/* si_code: SI_USER for kill(2), SI_KERNEL for a terminal's key */
	uint32_t pid;	/* 0: the kernel */
	uint32_t uid;
	char comm[16];
	char exe[256];			/* "" when unreadable */
	char chain[GW_STOP_CHAIN_MAX * 17];	/* ancestors' comms, nearest first: "bash<sshd<sshd" */
	char via[16];			/* the package manager that made it expected */
};

/* Records the first stop signal of si (later ones keep the first sender); proc_root is /proc
 * or a test's tree. */
void stop_sender_capture(struct gw_stop_sender *s, const struct signalfd_siginfo *si,
			 const char *proc_root);

/* One line naming the sender: "SIGTERM from pid 4242 uid 1000 (bash /usr/bin/bash; parents
 * sshd<sshd<init)". */
void stop_sender_describe(const struct gw_stop_sender *s, char *out, size_t size);

#endif
