/* stop_sender.c - identifying the sender of a stop signal. See stop_sender.h. */
#include "stop_sender.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "small_file.h"

/* The package managers whose runs stop and restart services (maintainer scripts, triggers),
 * by the base name of their executable. */
static const char *const package_managers[] = {
	"dpkg", "apt", "apt-get", "aptitude", "rpm", "zypper", "packagekitd",
};

/* The ones written in Python: their executable is the interpreter, their command names them. */
static const char *const python_package_managers[] = { "dnf", "yum", "unattended-upgr" };

static bool in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, list[i]))
			return true;
	return false;
}

#define IN_LIST(name, list) in_list(name, list, sizeof(list) / sizeof(list[0]))

/* comm and parent of pid from its stat line; false when it is gone. */
static bool read_stat(const char *proc_root, uint32_t pid, char *comm, size_t comm_size,
		      uint32_t *ppid)
{
	char path[PATH_MAX], buf[1024];
	const char *open, *close;
	unsigned long parent;
	char state;

	snprintf(path, sizeof(path), "%s/%u/stat", proc_root, pid);
	if (gw_read_small_file(AT_FDCWD, path, 0, buf, sizeof(buf)) <= 0)
		return false;
	open = strchr(buf, '(');
	close = strrchr(buf, ')');
	if (!open || !close || close < open || sscanf(close + 1, " %c %lu", &state, &parent) != 2)
		return false;
	snprintf(comm, comm_size, "%.*s", (int)(close - open - 1), open + 1);
	*ppid = (uint32_t)parent;
	return true;
}

static void read_exe(const char *proc_root, uint32_t pid, char *exe, size_t size)
{
	char path[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%u/exe", proc_root, pid);
	n = readlink(path, exe, size - 1);
	exe[n > 0 ? n : 0] = '\0';
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/*
 * Whether pid (the sender or an ancestor) is a package manager; its name in via. The executable
 * decides when it can be read: a command is whatever the process chose to call itself.
 */
static bool package_run(const char *proc_root, uint32_t pid, const char *comm, char *via,
			size_t via_size)
{
	char exe[PATH_MAX];
	const char *name;

	read_exe(proc_root, pid, exe, sizeof(exe));
	name = exe[0] ? base_name(exe) : comm;
	if (IN_LIST(name, package_managers) ||
	    ((!exe[0] || !strncmp(name, "python", 6)) && IN_LIST(comm, python_package_managers))) {
		snprintf(via, via_size, "%.15s", IN_LIST(name, package_managers) ? name : comm);
		return true;
	}
	return false;
}

static void walk_ancestors(struct gw_stop_sender *s, const char *proc_root, uint32_t ppid)
{
	size_t len = 0;

	for (int depth = 0; depth < GW_STOP_CHAIN_MAX && ppid > 0; depth++) {
		char comm[17];
		uint32_t pid = ppid;

		if (!read_stat(proc_root, pid, comm, sizeof(comm), &ppid))
			break;
		len += (size_t)snprintf(s->chain + len, sizeof(s->chain) - len, "%s%s",
					len ? "<" : "", comm);
		if (len >= sizeof(s->chain))
			break;
		if (s->origin == GW_STOP_OTHER &&
		    package_run(proc_root, pid, comm, s->via, sizeof(s->via)))
			s->origin = GW_STOP_PACKAGE;
		if (pid == 1)
			break;
	}
}

void stop_sender_capture(struct gw_stop_sender *s, const struct signalfd_siginfo *si,
			 const char *proc_root)
{
	uint32_t ppid = 0;

	if (s->origin != GW_STOP_NONE)
		return;
	memset(s, 0, sizeof(*s));
	s->signo = (int)si->ssi_signo;
	s->code = si->ssi_code;
	s->pid = si->ssi_pid;
	s->uid = si->ssi_uid;
	s->origin = GW_STOP_OTHER;
	if (s->pid == 1) {
		s->origin = GW_STOP_MANAGER;
		read_stat(proc_root, 1, s->comm, sizeof(s->comm), &ppid);
		return;
	}
	if (s->pid == 0) /* the kernel: a terminal's interrupt key, no process to read */
		return;
	if (read_stat(proc_root, s->pid, s->comm, sizeof(s->comm), &ppid)) {
		read_exe(proc_root, s->pid, s->exe, sizeof(s->exe));
		if (package_run(proc_root, s->pid, s->comm, s->via, sizeof(s->via)))
			s->origin = GW_STOP_PACKAGE;
		walk_ancestors(s, proc_root, ppid);
	}
}

void stop_sender_describe(const struct gw_stop_sender *s, char *out, size_t size)
{
	const char *sig = s->signo == SIGINT ? "SIGINT" : s->signo == SIGTERM ? "SIGTERM" : "signal";

	if (s->pid == 0) {
		snprintf(out, size, "%s from the kernel (a terminal's interrupt key)", sig);
		return;
	}
	snprintf(out, size, "%s from pid %u uid %u (%s %s; parents %s)", sig, s->pid, s->uid,
		 s->comm[0] ? s->comm : "gone", s->exe[0] ? s->exe : "-",
		 s->chain[0] ? s->chain : "-");
}
