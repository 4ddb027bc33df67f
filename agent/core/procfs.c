#include "procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw_events.h"
#include "small_file.h"
#include "common/text.h"

static ssize_t read_file(const char *path, char *buf, size_t size)
{
	return gw_read_small_file(AT_FDCWD, path, 0, buf, size);
}

static uint32_t read_u32_file(const char *path, uint32_t dflt)
{
	char buf[32];

	if (read_file(path, buf, sizeof(buf)) <= 0)
		return dflt;
	return (uint32_t)strtoul(buf, NULL, 10);
}

static void set_link(char **dst, const char *path)
{
	char target[PATH_MAX], clean[3 * PATH_MAX + 1];
	ssize_t n = readlink(path, target, sizeof(target) - 1);

	if (n < 0)
		return;
	target[n] = 0;
	gw_utf8_sanitize(target, (size_t)n, clean, sizeof(clean));
	proc_entry_set_str(dst, clean);
}

void procfs_tty_name(uint32_t tty_nr, char *out, size_t out_size)
{
	uint32_t major = (tty_nr >> 8) & 0xfff, minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);

	if (major >= 136 && major <= 143)
		snprintf(out, out_size, "pts%u", (major - 136) * 256 + minor);
	else if (major == 4 && minor < 64)
		snprintf(out, out_size, "tty%u", minor);
	else if (major == 4)
		snprintf(out, out_size, "ttyS%u", minor - 64);
	else if (tty_nr)
		snprintf(out, out_size, "tty(%u:%u)", major, minor);
	else
		out[0] = 0;
}

/* Fields of /proc/<pid>/stat after the comm, which may itself hold spaces and parentheses. */
static int parse_stat(const char *stat, char *comm, size_t comm_size, uint32_t *ppid,
		      uint32_t *tty_nr, uint64_t *start_ticks)
{
	const char *open = strchr(stat, '('), *close = strrchr(stat, ')');
	unsigned long long fields[20];
	const char *p;
	int i;

	if (!open || !close || close < open)
		return -1;
	gw_utf8_sanitize(open + 1, (size_t)(close - open - 1), comm, comm_size);
	p = close + 1;
	while (*p == ' ')
		p++;
	if (!*p)
		return -1;
	p++; /* state */
	for (i = 0; i < 20; i++) {
		char *end;

		while (*p == ' ')
			p++;
		fields[i] = strtoull(p, &end, 10);
		if (end == p)
			return -1;
		p = end;
	}
	/* fields[0] is stat field 4 (ppid); starttime is field 22 */
	*ppid = (uint32_t)fields[0];
	*tty_nr = (uint32_t)fields[3];
	*start_ticks = fields[18];
	return 0;
}

static uint32_t status_id(const char *status, const char *key)
{
	const char *p = gw_line_value(status, key);

	return p ? (uint32_t)strtoul(p, NULL, 10) : 0;
}

static void load_cmdline(struct proc_table *t, struct proc_entry *e, const char *path)
{
	char raw[GW_ARGV_MAX + 1], clean[3 * GW_ARGV_MAX + 1];
	ssize_t n = read_file(path, raw, sizeof(raw));
	size_t o = 0, i = 0;
	uint32_t argc = 0;

	if (n <= 0)
		return;
	e->argv_truncated = (size_t)n >= GW_ARGV_MAX;
	while (i < (size_t)n) {
		size_t len = strnlen(raw + i, (size_t)n - i);

		o += gw_utf8_sanitize(raw + i, len, clean + o, sizeof(clean) - o) + 1;
		argc++;
		i += len + 1;
	}
	proc_table_set_argv(t, e, clean, o, argc);
}

bool procfs_number(const char *name, uint32_t *n)
{
	unsigned long long v = 0;

	if (!*name)
		return false;
	for (const char *p = name; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned long long)(*p - '0');
		if (v > UINT32_MAX)
			return false;
	}
	*n = (uint32_t)v;
	return true;
}

int procfs_find_cgroup2_root(const char *mountinfo, char *path, size_t path_size)
{
	char line[1024];
	FILE *f = fopen(mountinfo, "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char root[256], mnt[256], *sep = strstr(line, " - ");
		char fstype[32];

		/* fields: id parent maj:min root mountpoint opts... - fstype source superopts */
		if (!sep || sscanf(line, "%*s %*s %*s %255s %255s", root, mnt) != 2 ||
		    sscanf(sep + 3, "%31s", fstype) != 1)
			continue;
		if (strcmp(fstype, "cgroup2") || strcmp(root, "/"))
			continue;
		snprintf(path, path_size, "%s", mnt);
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

/* The id of the process's cgroup v2: the inode of its directory under cgroup2_root, or 0. */
static uint64_t cgroup_id_of(const char *proc_root, const char *cgroup2_root, uint32_t pid)
{
	char path[PATH_MAX], buf[4096];
	const char *line;
	struct stat st;
	int len;

	if (!cgroup2_root || !cgroup2_root[0])
		return 0;
	snprintf(path, sizeof(path), "%s/%u/cgroup", proc_root, pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	/* the unified hierarchy's line is "0::/path"; v1 controllers have other numbers */
	line = gw_line_value(buf, "0::");
	if (!line || line[0] != '/')
		return 0;
	len = (int)strcspn(line, "\n");
	if (memmem(line, (size_t)len, "/..", 3))
		return 0;
	if (snprintf(path, sizeof(path), "%s%.*s", cgroup2_root, len, line) >= (int)sizeof(path) ||
	    stat(path, &st))
		return 0;
	return st.st_ino;
}

struct proc_entry *procfs_load_process(struct proc_table *t, const struct gw_boot *boot,
				       const char *proc_root, const char *cgroup2_root,
				       uint32_t pid)
{
	char path[PATH_MAX], stat[1024], status[4096], comm[3 * GW_PROC_COMM_LEN + 1], tty[32];
	uint32_t ppid, tty_nr;
	uint64_t start_ticks;
	struct proc_entry *e;

	snprintf(path, sizeof(path), "%s/%u/stat", proc_root, pid);
	if (read_file(path, stat, sizeof(stat)) <= 0 ||
	    parse_stat(stat, comm, sizeof(comm), &ppid, &tty_nr, &start_ticks))
		return NULL;
	snprintf(path, sizeof(path), "%s/%u/status", proc_root, pid);
	if (read_file(path, status, sizeof(status)) <= 0)
		return NULL;

	e = proc_table_put(t, pid);
	if (!e)
		return NULL;
	e->ppid = ppid;
	e->start_ns = start_ticks * boot->ns_per_tick;
	e->id = gw_process_id_from_ticks(boot, pid, start_ticks);
	e->uid = status_id(status, "Uid:\t");
	e->gid = status_id(status, "Gid:\t");
	snprintf(path, sizeof(path), "%s/%u/loginuid", proc_root, pid);
	e->auid = read_u32_file(path, (uint32_t)-1);
	snprintf(path, sizeof(path), "%s/%u/sessionid", proc_root, pid);
	e->session_id = read_u32_file(path, (uint32_t)-1);
	/* comm is at most 15 bytes; sanitizing may only have grown it with U+FFFD */
	snprintf(e->comm, sizeof(e->comm), "%.*s", (int)sizeof(e->comm) - 1, comm);
	procfs_tty_name(tty_nr, tty, sizeof(tty));
	proc_entry_set_str(&e->tty, tty);
	snprintf(path, sizeof(path), "%s/%u/exe", proc_root, pid);
	set_link(&e->exe, path);
	snprintf(path, sizeof(path), "%s/%u/cwd", proc_root, pid);
	set_link(&e->cwd, path);
	snprintf(path, sizeof(path), "%s/%u/cmdline", proc_root, pid);
	load_cmdline(t, e, path);
	e->cgroup_id = cgroup_id_of(proc_root, cgroup2_root, pid);
	e->source = "procfs";
	return e;
}

int procfs_seed(struct proc_table *t, const struct gw_boot *boot, const char *proc_root,
		const char *cgroup2_root)
{
	DIR *d = opendir(proc_root);
	struct dirent *de;
	struct proc_entry *e, *tmp;
	int loaded = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		uint32_t pid;

		if (!procfs_number(de->d_name, &pid) || pid == 0)
			continue;
		if (procfs_load_process(t, boot, proc_root, cgroup2_root, pid))
			loaded++;
	}
	closedir(d);
	HASH_ITER(hh, t->by_pid, e, tmp) {
		struct proc_entry *parent = proc_table_get(t, e->ppid);

		if (parent)
			e->parent_id = parent->id;
	}
	return loaded;
}
