#include "process_lookup.h"

#include <string.h>

#include "procfs.h"

Ghostwatch__V1__Process *process_proto(struct gw_agent *a, const struct proc_entry *e)
{
	Ghostwatch__V1__Process *p = gw_arena_alloc(&a->arena, sizeof(*p));

	if (!p)
		return NULL;
	ghostwatch__v1__process__init(p);
	p->process_id = e->id;
	p->parent_process_id = e->parent_id;
	p->pid = e->pid;
	p->ppid = e->ppid;
	p->tid = e->pid;
	p->uid = e->uid;
	p->gid = e->gid;
	p->auid = e->auid;
	p->session_id = e->session_id;
	p->cgroup_id = e->cgroup_id;
	p->start_time_ns = e->start_ns;
	/* table strings are already valid UTF-8 and outlive the event */
	p->comm = (char *)e->comm;
	p->exe = e->exe ? e->exe : "";
	p->cwd = e->cwd ? e->cwd : "";
	p->tty = e->tty ? e->tty : "";
	p->argv_truncated = e->argv_truncated;
	p->cwd_truncated = e->cwd_truncated;
	p->exe_truncated = e->exe_truncated;
	p->source = (char *)(e->source ? e->source : "event");
	if (e->argc) {
		char **argv = gw_arena_alloc(&a->arena, e->argc * sizeof(char *));
		const char *s = e->argv;

		if (argv) {
			for (uint32_t i = 0; i < e->argc; i++) {
				argv[i] = (char *)s;
				s += strlen(s) + 1;
			}
			p->argv = argv;
			p->n_argv = e->argc;
		}
	}
	return p;
}

struct proc_entry *process_lookup(struct gw_agent *a, uint32_t pid)
{
	struct proc_entry *e = proc_table_get(&a->procs, pid);

	return e ? e : procfs_load_process(&a->procs, &a->boot, a->opt.proc_root, a->cgroup2_root,
						 pid);
}
