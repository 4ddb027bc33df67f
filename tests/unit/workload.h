/*
 * workload.h - a synthetic but realistic process workload for batch tests and benchmarks: a
 * developer's shell running git, ls, grep, compilers, curl... Each "process life" is three events
 * (fork, exec with argv, exe, cwd and three ancestors by reference, exit), as the agent emits them.
 */
#ifndef GW_TEST_WORKLOAD_H
#define GW_TEST_WORKLOAD_H

#include <stdio.h>
#include <string.h>

#include "fleet/batch.h"

struct workload {
	unsigned next_pid;
	uint64_t next_event_id;
	uint64_t now_ns;
	unsigned rng;
};

static unsigned rnd(struct workload *w)
{
	w->rng = w->rng * 1103515245u + 12345u;
	return (w->rng >> 16) & 0x7fff;
}

static void fill_process(Ghostwatch__V1__Process *p, unsigned pid, unsigned ppid, const char *comm,
			 const char *exe, char **argv, size_t argc, const char *source)
{
	ghostwatch__v1__process__init(p);
	p->process_id = 0x9e3779b97f4a7c15ull * pid;
	p->parent_process_id = 0x9e3779b97f4a7c15ull * ppid;
	p->pid = p->tid = pid;
	p->ppid = ppid;
	p->uid = p->gid = p->auid = 1000;
	p->session_id = 3;
	p->tty = "pts/0";
	p->cgroup_id = 8812;
	p->start_time_ns = 1000000000ull * pid;
	p->comm = (char *)comm;
	p->exe = (char *)exe;
	p->argv = argv;
	p->n_argv = argc;
	p->cwd = "/home/alice/src/payments-service";
	p->source = (char *)source;
}

static const struct {
	const char *comm, *exe, *args;
} commands[] = {
	{ "git", "/usr/bin/git", "git status --short" },
	{ "git", "/usr/bin/git", "git log --oneline -n 20" },
	{ "ls", "/usr/bin/ls", "ls -la --color=auto" },
	{ "grep", "/usr/bin/grep", "grep -rn TODO src/ --include=*.c" },
	{ "cat", "/usr/bin/cat", "cat /etc/os-release" },
	{ "cc1", "/usr/lib/gcc/x86_64-linux-gnu/12/cc1",
	  "/usr/lib/gcc/x86_64-linux-gnu/12/cc1 -quiet -I include -I build/gen -D_GNU_SOURCE "
	  "-DNDEBUG src/payments/ledger.c -quiet -dumpdir build/obj/ -dumpbase ledger.c "
	  "-mtune=generic -march=x86-64 -O2 -Wall -Wextra -std=gnu11 -o /tmp/ccA81xQe.s" },
	{ "as", "/usr/bin/x86_64-linux-gnu-as", "as --64 -o build/obj/ledger.o /tmp/ccA81xQe.s" },
	{ "python3", "/usr/bin/python3.11", "python3 -m pytest -q tests/test_ledger.py" },
	{ "curl", "/usr/bin/curl", "curl -sS https://api.internal.example.com/v1/health" },
	{ "ssh", "/usr/bin/ssh", "ssh -T git@github.com" },
	{ "sed", "/usr/bin/sed", "sed -n 1,40p README.md" },
	{ "make", "/usr/bin/make", "make -j2 all" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

struct argv_store {
	char text[1024];
	char *argv[64];
	size_t argc;
};

static void split_args(struct argv_store *a, const char *args)
{
	char *save = NULL;

	snprintf(a->text, sizeof(a->text), "%s", args);
	a->argc = 0;
	for (char *t = strtok_r(a->text, " ", &save); t && a->argc < 64;
	     t = strtok_r(NULL, " ", &save))
		a->argv[a->argc++] = t;
}

/* Adds one process life (fork, exec with ancestry, exit) to the builder: 3 events. */
static int add_process_life(struct gw_batch_builder *b, struct workload *w)
{
	unsigned c = rnd(w) % N_COMMANDS, pid = w->next_pid++;
	struct argv_store args;
	Ghostwatch__V1__Process proc, forked, anc[3];
	char *bash_argv[] = { "-bash" }, *sshd_argv[] = { "sshd: alice@pts/0" },
	     *sys_argv[] = { "/sbin/init" };
	Ghostwatch__V1__ProcessRef refs[3], *ancp[3] = { &refs[0], &refs[1], &refs[2] };
	Ghostwatch__V1__ProcessFork fork = GHOSTWATCH__V1__PROCESS_FORK__INIT;
	Ghostwatch__V1__ProcessExec exec = GHOSTWATCH__V1__PROCESS_EXEC__INIT;
	Ghostwatch__V1__ProcessExit exit_ = GHOSTWATCH__V1__PROCESS_EXIT__INIT;
	Ghostwatch__V1__Event ev;
	int rc = 0;

	split_args(&args, commands[c].args);
	fill_process(&anc[0], 2210, 2209, "bash", "/usr/bin/bash", bash_argv, 1, "procfs");
	fill_process(&anc[1], 2209, 2200, "sshd", "/usr/sbin/sshd", sshd_argv, 1, "procfs");
	fill_process(&anc[2], 1, 0, "systemd", "/usr/lib/systemd/systemd", sys_argv, 1, "procfs");
	anc[2].uid = anc[2].gid = 0;
	anc[2].auid = 4294967295u;
	anc[2].tty = "";
	/* exec events carry their ancestry by reference (the full records came earlier) */
	for (int i = 0; i < 3; i++) {
		ghostwatch__v1__process_ref__init(&refs[i]);
		refs[i].process_id = anc[i].process_id;
		refs[i].pid = anc[i].pid;
		refs[i].uid = anc[i].uid;
		refs[i].auid = anc[i].auid;
		refs[i].comm = anc[i].comm;
		refs[i].exe = anc[i].exe;
		refs[i].source = anc[i].source;
	}

	fill_process(&forked, pid, 2210, "bash", "/usr/bin/bash", bash_argv, 1, "fork");
	fork.process = &forked;
	ghostwatch__v1__event__init(&ev);
	ev.event_id = w->next_event_id++;
	ev.time_ns = (w->now_ns += 1000000 + rnd(w) * 1000);
	ev.kind_case = GHOSTWATCH__V1__EVENT__KIND_FORK;
	ev.fork = &fork;
	rc |= gw_batch_add(b, &ev);

	fill_process(&proc, pid, 2210, commands[c].comm, commands[c].exe, args.argv, args.argc,
		     "exec");
	exec.process = &proc;
	exec.ancestors = ancp;
	exec.n_ancestors = 3;
	ev.event_id = w->next_event_id++;
	ev.time_ns = (w->now_ns += 50000 + rnd(w) * 10);
	ev.kind_case = GHOSTWATCH__V1__EVENT__KIND_EXEC;
	ev.exec = &exec;
	rc |= gw_batch_add(b, &ev);

	exit_.process = &proc;
	exit_.exit_code = rnd(w) % 8 == 0;
	exit_.duration_ns = 2000000ull + rnd(w) * 3000ull;
	ev.event_id = w->next_event_id++;
	ev.time_ns = (w->now_ns += exit_.duration_ns);
	ev.kind_case = GHOSTWATCH__V1__EVENT__KIND_EXIT;
	ev.exit = &exit_;
	rc |= gw_batch_add(b, &ev);
	return rc;
}

#endif
