#include "proc_table.h"

#include <stdlib.h>
#include <string.h>

static void entry_free(struct proc_entry *e)
{
	free(e->exe);
	free(e->cwd);
	free(e->tty);
	free(e->argv);
	free(e);
}

static void entry_remove(struct proc_table *t, struct proc_entry *e)
{
	HASH_DEL(t->by_pid, e);
	t->count--;
	t->bytes -= e->bytes;
	if (t->unweighed == e)
		t->unweighed = NULL;
	entry_free(e);
}

static size_t str_bytes(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static size_t entry_bytes(const struct proc_entry *e)
{
	size_t n = sizeof(*e) + str_bytes(e->exe) + str_bytes(e->cwd) + str_bytes(e->tty);
	const char *p = e->argv;

	for (uint32_t i = 0; p && i < e->argc; i++) {
		size_t len = strlen(p) + 1;

		n += len;
		p += len;
	}
	return n;
}

void proc_table_init(struct proc_table *t, size_t max, uint64_t grace_ns)
{
	memset(t, 0, sizeof(*t));
	/* no config patterns yet: cannot fail */
	redact_init(&t->redact, NULL, 0, NULL, 0);
	t->max = max ? max : 1;
	t->grace_ns = grace_ns;
}

void proc_table_free(struct proc_table *t)
{
	struct proc_entry *e, *tmp;

	HASH_ITER(hh, t->by_pid, e, tmp) {
		entry_remove(t, e);
	}
	redact_free(&t->redact);
}

struct proc_entry *proc_table_get(struct proc_table *t, uint32_t pid)
{
	struct proc_entry *e;

	HASH_FIND(hh, t->by_pid, &pid, sizeof(pid), e);
	return e;
}

/* uthash keeps insertion order, so the first match from the head is the oldest. */
static void make_room(struct proc_table *t)
{
	struct proc_entry *e, *tmp;

	HASH_ITER(hh, t->by_pid, e, tmp) {
		if (e->exited_ns) {
			entry_remove(t, e);
			t->evicted_exited++;
			return;
		}
	}
	if (t->by_pid) {
		entry_remove(t, t->by_pid);
		t->evicted_live++;
	}
}

/* Weighs the last entry put and evicts, oldest first, until the table is under its byte cap; the
 * entry just weighed is the newest, so it is the last to go. */
static void weigh_last(struct proc_table *t)
{
	struct proc_entry *e = t->unweighed;

	if (!e)
		return;
	t->unweighed = NULL;
	e->bytes = entry_bytes(e);
	t->bytes += e->bytes;
	while (t->max_bytes && t->bytes > t->max_bytes && t->count > 1) {
		make_room(t);
		t->evicted_bytes++;
	}
}

struct proc_entry *proc_table_put(struct proc_table *t, uint32_t pid)
{
	struct proc_entry *e;

	weigh_last(t);
	e = proc_table_get(t, pid);
	if (e)
		entry_remove(t, e);
	if (t->count >= t->max)
		make_room(t);
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->pid = pid;
	HASH_ADD(hh, t->by_pid, pid, sizeof(e->pid), e);
	t->count++;
	t->unweighed = e;
	return e;
}

void proc_entry_set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src ? strdup(src) : NULL;
}

void proc_entry_set_argv(struct proc_entry *e, const char *packed, size_t len, uint32_t argc)
{
	free(e->argv);
	e->argv = NULL;
	e->argc = 0;
	if (!argc)
		return;
	e->argv = malloc(len);
	if (!e->argv)
		return;
	memcpy(e->argv, packed, len);
	e->argc = argc;
}

void proc_table_set_argv(struct proc_table *t, struct proc_entry *e, const char *packed,
			 size_t len, uint32_t argc)
{
	size_t out_len = 0;
	const char *out = argc ? redact_argv(&t->redact, packed, len, argc, &out_len) : NULL;

	proc_entry_set_argv(e, out, out_len, out ? argc : 0);
	if (argc && !out)
		e->argv_truncated = true;
}

void proc_table_mark_exited(struct proc_table *t, struct proc_entry *e, uint64_t now_ns)
{
	(void)t;
	e->exited_ns = now_ns ? now_ns : 1;
}

void proc_table_evict_expired(struct proc_table *t, uint64_t now_ns)
{
	struct proc_entry *e, *tmp;

	weigh_last(t);
	HASH_ITER(hh, t->by_pid, e, tmp) {
		if (e->exited_ns && now_ns - e->exited_ns >= t->grace_ns) {
			entry_remove(t, e);
			t->evicted_exited++;
		}
	}
}
