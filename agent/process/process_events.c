#include "process_events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exe_hash.h"

#include "core/process_lookup.h"
#include "process_hooks.h"
#include "core/procfs.h"
#include "common/text.h"

size_t process_join_path(const char *parts, size_t parts_size, uint32_t depth, char *out,
			 size_t out_size)
{
	const char *names[GW_PATH_DEPTH];
	size_t lens[GW_PATH_DEPTH], off = 0, o = 0;
	uint32_t n = 0;

	if (!out_size)
		return 0;
	while (n < depth && n < GW_PATH_DEPTH && off < parts_size) {
		size_t len = strnlen(parts + off, parts_size - off);

		names[n] = parts + off;
		lens[n++] = len;
		off += len + 1;
	}
	out[0] = 0;
	if (!n) {
		if (depth == 0 && out_size > 1) {
			out[0] = '/';
			out[1] = 0;
			return 1;
		}
		return 0;
	}
	while (n-- > 0) {
		if (o + 1 + lens[n] >= out_size)
			break;
		out[o++] = '/';
		memcpy(out + o, names[n], lens[n]);
		o += lens[n];
	}
	out[o] = 0;
	return o;
}

static void fill_ids(struct gw_agent *a, struct proc_entry *e, const struct gw_task_ids *t)
{
	char comm[3 * GW_COMM_LEN + 1];

	e->ppid = t->ppid;
	e->uid = t->uid;
	e->gid = t->gid;
	e->auid = t->auid;
	e->session_id = t->session_id;
	e->cgroup_id = t->cgroup_id;
	e->start_ns = gw_start_ns_to_ticks(&a->boot, t->start_boottime_ns) * a->boot.ns_per_tick;
	e->id = gw_process_id(&a->boot, t->pid, t->start_boottime_ns);
	e->parent_id = gw_process_id(&a->boot, t->ppid, t->parent_start_boottime_ns);
	gw_utf8_sanitize(t->comm, sizeof(t->comm), comm, sizeof(comm));
	snprintf(e->comm, sizeof(e->comm), "%.*s", (int)sizeof(e->comm) - 1, comm);
}

/* Copies a NUL-separated argv block, sanitized and redacted, into the entry. */
static void set_argv_from_record(struct gw_agent *a, struct proc_entry *e, const char *argv,
				 size_t size)
{
	char clean[3 * GW_ARGV_MAX + 1];
	size_t i = 0, o = 0;
	uint32_t argc = 0;

	while (i < size && o < sizeof(clean)) {
		size_t len = strnlen(argv + i, size - i);

		o += gw_utf8_sanitize(argv + i, len, clean + o, sizeof(clean) - o) + 1;
		argc++;
		i += len + 1;
	}
	proc_table_set_argv(&a->procs, e, clean, o, argc);
}

/* Ancestors nearest first, following parent links only while the ids agree (pid reuse). */
static void attach_ancestors(struct gw_agent *a, const struct proc_entry *e,
			     Ghostwatch__V1__ProcessExec *exec)
{
	uint32_t max = a->opt.ancestors_max, n = 0;
	Ghostwatch__V1__ProcessRef **list, *refs;
	const struct proc_entry *cur = e;

	if (!max)
		return;
	list = gw_arena_alloc(&a->arena, max * sizeof(*list));
	refs = gw_arena_alloc(&a->arena, max * sizeof(*refs));
	if (!list || !refs)
		return;
	while (n < max && cur->ppid && cur->ppid != cur->pid) {
		const struct proc_entry *parent = proc_table_get(&a->procs, cur->ppid);
		Ghostwatch__V1__ProcessRef *r = &refs[n];

		if (!parent || parent->id != cur->parent_id)
			break;
		ghostwatch__v1__process_ref__init(r);
		r->process_id = parent->id;
		r->pid = parent->pid;
		r->uid = parent->uid;
		r->auid = parent->auid;
		r->comm = (char *)parent->comm;
		r->exe = parent->exe ? parent->exe : "";
		r->source = (char *)(parent->source ? parent->source : "event");
		list[n++] = r;
		cur = parent;
	}
	exec->ancestors = list;
	exec->n_ancestors = n;
}

static gw_event_t *new_event(struct gw_agent *a)
{
	gw_event_t *ev = gw_arena_alloc(&a->arena, sizeof(*ev));

	if (ev)
		ghostwatch__v1__event__init(ev);
	return ev;
}

/* Processes whose executable is being hashed by the worker: they get the hash when it is done. */
#define PROCESS_HASH_WAITING 64
#define PROCESS_HASH_CACHE 4096

struct process_state {
	struct exe_hash *hash;
	struct {
		uint32_t pid;
		uint64_t process_id;
		struct exe_hash_key key;
	} waiting[PROCESS_HASH_WAITING];
	uint32_t n_waiting;
	uint64_t waiting_dropped; /* more big files hashing at once than the list holds */
};

/* The executable's identity into the entry (and its exec event, when there is one). */
static void identify_exe(struct gw_agent *a, struct proc_entry *e)
{
	struct process_state *ps = agent_domain_state(a, "process");
	struct exe_hash_result r;

	e->exe_sha256[0] = 0;
	e->exe_user_writable = false;
	e->exe_hash_state = NULL;
	if (!ps || !ps->hash || !e->exe)
		return;
	exe_hash_lookup(ps->hash, e->exe, gw_now_boottime_ns() / 1000000000ULL, &r);
	memcpy(e->exe_sha256, r.sha256, sizeof(e->exe_sha256));
	e->exe_user_writable = r.user_writable;
	e->exe_hash_state = r.state;
	if (strcmp(r.state, "pending"))
		return;
	if (ps->n_waiting == PROCESS_HASH_WAITING) {
		ps->waiting_dropped++;
		return;
	}
	ps->waiting[ps->n_waiting].pid = e->pid;
	ps->waiting[ps->n_waiting].process_id = e->id;
	ps->waiting[ps->n_waiting].key = r.key;
	ps->n_waiting++;
}

int process_handle_exec(struct gw_agent *a, const struct gw_exec_event *rec, size_t size)
{
	char path[GW_PATH_MAX + GW_PATH_DEPTH + 2], clean[3 * sizeof(path) + 1];
	struct proc_entry *e;
	Ghostwatch__V1__ProcessExec *exec;
	gw_event_t *ev;

	if (size < GW_EXEC_FIXED_SIZE || rec->argv_size > GW_ARGV_MAX - 1 ||
	    GW_EXEC_FIXED_SIZE + rec->argv_size > size)
		return -1;

	/* An exec keeps the process (same pid and start, so the same id); the image is new. */
	e = proc_table_put(&a->procs, rec->task.pid);
	if (!e)
		return -1;
	fill_ids(a, e, &rec->task);
	e->source = "exec";
	process_join_path(rec->exe_parts, sizeof(rec->exe_parts), rec->exe_depth, path, sizeof(path));
	gw_utf8_sanitize(path, sizeof(path), clean, sizeof(clean));
	proc_entry_set_str(&e->exe, clean);
	process_join_path(rec->cwd_parts, sizeof(rec->cwd_parts), rec->cwd_depth, path, sizeof(path));
	gw_utf8_sanitize(path, sizeof(path), clean, sizeof(clean));
	proc_entry_set_str(&e->cwd, (rec->flags & GW_EXEC_CWD_MISSING) ? NULL : clean);
	gw_utf8_sanitize(rec->tty, sizeof(rec->tty), clean, sizeof(clean));
	proc_entry_set_str(&e->tty, clean);
	e->argv_truncated = rec->flags & GW_EXEC_ARGV_TRUNCATED;
	set_argv_from_record(a, e, rec->argv, rec->argv_size);
	e->cwd_truncated = rec->flags & GW_EXEC_CWD_TRUNCATED;
	e->exe_truncated = rec->flags & GW_EXEC_EXE_TRUNCATED;
	identify_exe(a, e);

	ev = new_event(a);
	exec = gw_arena_alloc(&a->arena, sizeof(*exec));
	if (!ev || !exec)
		return -1;
	ghostwatch__v1__process_exec__init(exec);
	exec->process = process_proto(a, e);
	if (exec->process && e->exe_hash_state) {
		exec->process->exe_sha256 = e->exe_sha256;
		exec->process->exe_user_writable = e->exe_user_writable;
		exec->process->exe_hash_state = (char *)e->exe_hash_state;
	}
	attach_ancestors(a, e, exec);
	ev->kind_case = GHOSTWATCH__V1__EVENT__KIND_EXEC;
	ev->exec = exec;
	agent_emit(a, ev);
	agent_publish(a, &(struct gw_fact){ .kind = GW_FACT_EXEC, .proc = e,
					   .event_id = ev->event_id, .time_ns = ev->time_ns });
	return 0;
}

int process_handle_fork(struct gw_agent *a, const struct gw_fork_event *rec, size_t size)
{
	const struct proc_entry *parent;
	Ghostwatch__V1__ProcessFork *fork;
	struct proc_entry *e;
	gw_event_t *ev;

	if (size < sizeof(*rec))
		return -1;
	e = proc_table_put(&a->procs, rec->task.pid);
	if (!e)
		return -1;
	fill_ids(a, e, &rec->task);
	e->source = "fork";
	/* A forked child runs its parent's image until it execs. */
	parent = proc_table_get(&a->procs, rec->task.ppid);
	if (parent && parent->id == e->parent_id) {
		proc_entry_set_str(&e->exe, parent->exe);
		proc_entry_set_str(&e->cwd, parent->cwd);
		proc_entry_set_str(&e->tty, parent->tty);
		if (parent->argc) {
			const char *last = parent->argv;

			for (uint32_t i = 1; i < parent->argc; i++)
				last += strlen(last) + 1;
			proc_entry_set_argv(e, parent->argv,
					    (size_t)(last - parent->argv) + strlen(last) + 1,
					    parent->argc);
		}
		e->argv_truncated = parent->argv_truncated;
		memcpy(e->exe_sha256, parent->exe_sha256, sizeof(e->exe_sha256));
		e->exe_user_writable = parent->exe_user_writable;
		e->exe_hash_state = parent->exe_hash_state;
	}
	if (!a->opt.emit_forks)
		return 0;

	ev = new_event(a);
	fork = gw_arena_alloc(&a->arena, sizeof(*fork));
	if (!ev || !fork)
		return -1;
	ghostwatch__v1__process_fork__init(fork);
	fork->process = process_proto(a, e);
	ev->kind_case = GHOSTWATCH__V1__EVENT__KIND_FORK;
	ev->fork = fork;
	agent_emit(a, ev);
	return 0;
}

int process_handle_exit(struct gw_agent *a, const struct gw_exit_event *rec, size_t size)
{
	Ghostwatch__V1__ProcessExit *exit_msg;
	struct proc_entry *e;
	uint64_t id;
	gw_event_t *ev;

	if (size < sizeof(*rec))
		return -1;
	id = gw_process_id(&a->boot, rec->task.pid, rec->task.start_boottime_ns);
	e = proc_table_get(&a->procs, rec->task.pid);
	if (!e || e->id != id) {
		/* Never seen (lost record, or born between the /proc seed and the hooks). */
		e = proc_table_put(&a->procs, rec->task.pid);
		if (!e)
			return -1;
		fill_ids(a, e, &rec->task);
		e->source = "event";
	}

	ev = new_event(a);
	exit_msg = gw_arena_alloc(&a->arena, sizeof(*exit_msg));
	if (!ev || !exit_msg)
		return -1;
	ghostwatch__v1__process_exit__init(exit_msg);
	exit_msg->process = process_proto(a, e);
	exit_msg->exit_code = rec->exit_code;
	exit_msg->signal = rec->exit_signal;
	exit_msg->core_dumped = rec->core_dumped;
	if (rec->hdr.ktime_ns > e->start_ns)
		exit_msg->duration_ns = rec->hdr.ktime_ns - e->start_ns;
	ev->kind_case = GHOSTWATCH__V1__EVENT__KIND_EXIT;
	ev->exit = exit_msg;
	agent_emit(a, ev);
	proc_table_mark_exited(&a->procs, e, gw_now_boottime_ns());
	return 0;
}

static int handle_record(struct gw_agent *a, void *state, const void *data, size_t size)
{
	const struct gw_event_hdr *hdr = data;
	const struct gw_exit_event *x = data;
	int ret;

	(void)state;
	switch (hdr->type) {
	case GW_EV_EXEC:
		return process_handle_exec(a, data, size);
	case GW_EV_FORK:
		return process_handle_fork(a, data, size);
	case GW_EV_EXIT:
		ret = process_handle_exit(a, data, size);
		if (!ret)
			agent_publish(a, &(struct gw_fact){
						 .kind = GW_FACT_EXIT,
						 .process_id = gw_process_id(&a->boot, x->task.pid,
									     x->task.start_boottime_ns) });
		return ret;
	default:
		return -1;
	}
}

/* Loads the process object, which holds the ring and drop counters every other object shares. */
static int process_start(struct gw_agent *a, void *state)
{
	struct process_state *ps = state;
	char err[256];
	int ret;

	ret = process_hooks_load(&a->hooks, &a->opt.hooks, err, sizeof(err));
	if (ret)
		fprintf(stderr, "ghostwatch: %s\n", err);
	ps->hash = exe_hash_new(PROCESS_HASH_CACHE);
	if (!ps->hash)
		fprintf(stderr, "ghostwatch: executable hashes off: out of memory\n");
	return ret;
}

/* The hash worker's thread, made once the agent has dropped its privileges. */
static int process_started(struct gw_agent *a, void *state)
{
	struct process_state *ps = state;
	int err = ps->hash ? exe_hash_start(ps->hash) : 0;

	(void)a;
	if (err)
		fprintf(stderr, "ghostwatch: executable hashes of big files off: %s\n",
			strerror(-err));
	return 0;
}

struct late_hash {
	struct gw_agent *a;
	struct process_state *ps;
};

/* A big file's hash is done: the processes running that version get it, and the rules see it. */
static void on_late_hash(const struct exe_hash_key *key, const char *sha256, void *ctx)
{
	struct late_hash *lh = ctx;
	struct process_state *ps = lh->ps;

	for (uint32_t i = 0; i < ps->n_waiting;) {
		struct proc_entry *e;

		if (memcmp(&ps->waiting[i].key, key, sizeof(*key))) {
			i++;
			continue;
		}
		e = proc_table_get(&lh->a->procs, ps->waiting[i].pid);
		if (e && e->id == ps->waiting[i].process_id) {
			memcpy(e->exe_sha256, sha256, sizeof(e->exe_sha256));
			e->exe_hash_state = "hashed";
			gw_arena_reset(&lh->a->arena);
			agent_publish(lh->a, &(struct gw_fact){ .kind = GW_FACT_EXE_HASH, .proc = e,
								.time_ns = gw_now_realtime_ns() });
		}
		ps->waiting[i] = ps->waiting[--ps->n_waiting];
	}
}

static void process_tick(struct gw_agent *a, void *state, uint64_t now_ns)
{
	struct process_state *ps = state;
	struct late_hash lh = { a, ps };

	(void)now_ns;
	if (ps->hash && exe_hash_has_done(ps->hash))
		exe_hash_drain(ps->hash, on_late_hash, &lh);
}

static uint64_t process_next_tick(const struct gw_agent *a, void *state, uint64_t now_ns)
{
	const struct process_state *ps = state;

	(void)a;
	/* a hash in the works is wanted soon, not at the idle tick */
	return ps->n_waiting ? now_ns + 100000000ULL : 0;
}

static void process_counters(const struct gw_agent *a, void *state, struct gw_stats_parts *p)
{
	const struct process_state *ps = state;
	const struct exe_hash_counts *c;

	(void)a;
	if (!ps->hash)
		return;
	c = exe_hash_counts(ps->hash);
	agent_stats_add(&p->events, "exe_hash_cache_hits", c->cache_hits);
	agent_stats_add(&p->events, "exe_hashed", c->hashed_sync);
	agent_stats_add(&p->events, "exe_hashed_worker", c->hashed_async);
	agent_stats_add(&p->events, "exe_hash_unreadable", c->unreadable);
	agent_stats_add(&p->events, "exe_hash_too_large", c->too_large);
	agent_stats_add(&p->drops, "exe_hash_queue_full", c->queue_full);
	agent_stats_add(&p->drops, "exe_hash_waiting_full", ps->waiting_dropped);
	agent_stats_add(&p->evictions, "exe_hashes", c->evicted);
}

static void process_destroy(struct gw_agent *a, void *state)
{
	struct process_state *ps = state;

	(void)a;
	exe_hash_free(ps->hash);
	free(ps);
}

int process_register(struct gw_agent *a)
{
	struct process_state *ps = calloc(1, sizeof(*ps));
	int err;

	if (!ps)
		return -1;
	err = agent_register(a, &(struct gw_domain){
					.name = "process",
					.state = ps,
					.record_types = { GW_EV_EXEC, GW_EV_FORK, GW_EV_EXIT },
					.start = process_start,
					.started = process_started,
					.handle_record = handle_record,
					.tick = process_tick,
					.next_tick = process_next_tick,
					.counters = process_counters,
					.destroy = process_destroy,
				});
	if (err)
		free(ps);
	return err;
}
