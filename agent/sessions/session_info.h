/*
 * session_info.h - one login session as a source reports it (logind or utmp), and how its type is
 * told: a local seat, ssh, a remote desktop (xrdp, VNC), a console, or other. The sources fill a
 * snapshot of every open session; the domain compares snapshots to tell starts, ends and locks.
 */
#ifndef GW_SESSION_INFO_H
#define GW_SESSION_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SESSION_MAX 64
#define SESSION_UID_UNKNOWN 0xffffffffu

struct session_info {
	char id[40];	       /* logind id, or utmp line + ":" + pid */
	char user[64];
	uint32_t uid;
	uint32_t leader_pid;
	char tty[40];
	char display[40];
	char remote_host[128]; /* as the source says: an address or a name */
	char remote_address[64]; /* a parsed address, "" if none */
	char service[40];
	char seat[16];
	char logind_type[16];  /* x11, wayland, tty, mir, unspecified; "" from utmp */
	char leader_comm[16];  /* the leader's and its parent's command names, from /proc */
	char parent_comm[16];
	uint64_t start_ns;     /* wall clock, 0 unknown */
	bool remote;
	bool locked, idle;     /* what the source says; utmp: idle from the tty's last read */
	const char *source;    /* "logind" or "utmp" */
};

struct session_kind {
	const char *type; /* "local", "ssh", "remote_desktop", "console", "other" */
	const char *how;  /* what told it: "service sshd", "leader sshd", "seat", "tty", ... */
};

/* Tells a session's type from what its source said (pure). */
struct session_kind session_classify(const struct session_info *s);

/* Fills leader_comm and parent_comm from <proc_root>/<pid>/{comm,stat}. */
void session_read_leader(struct session_info *s, const char *proc_root);

#endif
