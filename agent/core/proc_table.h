/*
 * proc_table.h - the agent's table of live (and recently exited) processes, keyed by pid.
 *
 * It gives every event an identity and ancestry even when the event itself carries only a pid:
 * entries come from exec and fork events and from /proc at start (procfs.c). Memory is bounded:
 * an exited process stays for a grace period (late events still resolve), then is evicted; when
 * the table is full the oldest exited entry goes first, then the oldest live one. Each eviction
 * is counted. Command lines are redacted on the way in (redact.h): nothing reads a secret from it.
 *
 * Full means `max` entries or `max_bytes` of entries and their strings (argv is up to 4 KiB a
 * process, so a user exec'ing long command lines would otherwise grow the table 20-fold). An entry
 * is weighed when the next one is put (or at the eviction tick), once its strings are set, so the
 * byte cap holds within one entry.
 */
#ifndef GW_PROC_TABLE_H
#define GW_PROC_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uthash.h>

#include "redact.h"

#define GW_PROC_COMM_LEN 16

struct proc_entry {
	uint32_t pid;
	uint32_t ppid;
	uint64_t id;
	uint64_t parent_id;
	uint64_t start_ns; /* CLOCK_BOOTTIME, clock-tick resolution */
	uint32_t uid, gid, auid, session_id;
	uint64_t cgroup_id;
	char comm[GW_PROC_COMM_LEN]; /* valid UTF-8 */
	char *exe;		     /* heap, valid UTF-8, NULL when unknown */
	char *cwd;
	char *tty;
	char *argv;		/* argc NUL-terminated strings back to back, valid UTF-8 */
	uint32_t argc;
	bool argv_truncated, cwd_truncated, exe_truncated;
	const char *source;	/* "exec", "fork", "procfs" */
	uint64_t exited_ns;	/* 0 while alive */
	size_t bytes;		/* weighed into the table's bytes; 0 until then */
	/* the executable's identity (agent/process/exe_hash.h), set at exec */
	char exe_sha256[65];	    /* lower-case hex, "" when not known */
	bool exe_user_writable;
	const char *exe_hash_state; /* NULL when never looked at (seeded from /proc) */
	UT_hash_handle hh;
};

struct proc_table {
	struct proc_entry *by_pid;
	size_t count;
	size_t max;
	size_t bytes;		  /* weighed entries with their strings */
	size_t max_bytes;	  /* 0: no byte cap */
	struct proc_entry *unweighed; /* the last entry put, whose strings may still be set */
	uint64_t grace_ns;
	uint64_t evicted_exited;  /* after the grace period or to make room */
	uint64_t evicted_live;    /* table full of live processes: identity lost */
	struct redact redact;	  /* every argv stored goes through it */
	uint64_t evicted_bytes;   /* of either kind, to keep under max_bytes */
};

void proc_table_init(struct proc_table *t, size_t max, uint64_t grace_ns);
void proc_table_free(struct proc_table *t);

struct proc_entry *proc_table_get(struct proc_table *t, uint32_t pid);

/* A zeroed entry for `pid`, replacing any entry the pid had (pid reuse), evicting if full. */
struct proc_entry *proc_table_put(struct proc_table *t, uint32_t pid);

/* Copies `src` into *dst (freeing the previous value). */
void proc_entry_set_str(char **dst, const char *src);
/* Replaces argv with `argc` strings packed back to back in `packed` (`len` bytes) as they are:
 * only for an argv already in the table (a forked child's copy of its parent's). */
void proc_entry_set_argv(struct proc_entry *e, const char *packed, size_t len, uint32_t argc);
/* Same for an argv from outside (an exec, /proc), redacted first; with no memory to redact, the
 * entry keeps no argv and argv_truncated is set. */
void proc_table_set_argv(struct proc_table *t, struct proc_entry *e, const char *packed,
			 size_t len, uint32_t argc);

void proc_table_mark_exited(struct proc_table *t, struct proc_entry *e, uint64_t now_ns);

/* Drops exited entries older than the grace period. */
void proc_table_evict_expired(struct proc_table *t, uint64_t now_ns);

#endif
