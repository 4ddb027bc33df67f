/* session_info.c - how a session's type is told. See session_info.h. */
#include "session_info.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/small_file.h"

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* Remote-desktop servers: their PAM service or the process that leads their sessions. */
static bool is_remote_desktop(const char *name)
{
	static const char *const names[] = { "xrdp", "Xvnc", "vnc", "x11vnc", "x0vncserver",
					     "gnome-remote-desktop", "grd", "krdc", "rustdesk",
					     "nxagent", "nxserver", "x2go" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (starts(name, names[i]))
			return true;
	return false;
}

static bool is_console_tty(const char *tty)
{
	return (starts(tty, "tty") && tty[3] >= '0' && tty[3] <= '9') || !strcmp(tty, "console") ||
	       starts(tty, "ttyS") || starts(tty, "hvc");
}

struct session_kind session_classify(const struct session_info *s)
{
	if (!strcmp(s->service, "sshd"))
		return (struct session_kind){ "ssh", "service sshd" };
	if (is_remote_desktop(s->service))
		return (struct session_kind){ "remote_desktop", "service" };
	if (!strcmp(s->leader_comm, "sshd") || !strcmp(s->parent_comm, "sshd"))
		return (struct session_kind){ "ssh", "leader sshd" };
	if (is_remote_desktop(s->leader_comm) || is_remote_desktop(s->parent_comm))
		return (struct session_kind){ "remote_desktop", "leader" };
	if (s->remote || (s->remote_host[0] && s->remote_host[0] != ':'))
		return (struct session_kind){ "other", "remote host" };
	if (s->seat[0] || !strcmp(s->logind_type, "x11") || !strcmp(s->logind_type, "wayland") ||
	    s->display[0] == ':' || s->remote_host[0] == ':')
		return (struct session_kind){ "local", s->seat[0] ? "seat" : "display" };
	if (is_console_tty(s->tty))
		return (struct session_kind){ "console", "tty" };
	return (struct session_kind){ "other", "" };
}

static void read_comm(const char *proc_root, uint32_t pid, char *out, size_t size)
{
	char path[64], buf[32];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%u/comm", proc_root, pid);
	n = gw_read_small_file(AT_FDCWD, path, 0, buf, sizeof(buf));
	out[0] = '\0';
	if (n > 0)
		snprintf(out, size, "%.*s", (int)strcspn(buf, "\n"), buf);
}

void session_read_leader(struct session_info *s, const char *proc_root)
{
	char path[64], buf[512], *close_paren;
	unsigned long ppid;

	s->leader_comm[0] = s->parent_comm[0] = '\0';
	if (!s->leader_pid)
		return;
	read_comm(proc_root, s->leader_pid, s->leader_comm, sizeof(s->leader_comm));
	snprintf(path, sizeof(path), "%s/%u/stat", proc_root, s->leader_pid);
	if (gw_read_small_file(AT_FDCWD, path, 0, buf, sizeof(buf)) <= 0)
		return;
	/* "pid (comm) state ppid ...": the command may hold spaces and parentheses */
	close_paren = strrchr(buf, ')');
	if (!close_paren || sscanf(close_paren + 1, " %*c %lu", &ppid) != 1 || !ppid)
		return;
	read_comm(proc_root, (uint32_t)ppid, s->parent_comm, sizeof(s->parent_comm));
}
