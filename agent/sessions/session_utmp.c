/* session_utmp.c - sessions from utmp. See session_utmp.h. */
#include "session_utmp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utmp.h>

#include "common/text.h"

static void watch_file(struct session_utmp *u)
{
	if (u->file_wd >= 0)
		inotify_rm_watch(u->inotify_fd, u->file_wd);
	u->file_wd = inotify_add_watch(u->inotify_fd, u->path,
				       IN_MODIFY | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF);
}

int session_utmp_open(struct session_utmp *u, const char *path)
{
	char dir[256];
	char *slash;

	memset(u, 0, sizeof(*u));
	u->file_wd = -1;
	if (snprintf(u->path, sizeof(u->path), "%s", path) >= (int)sizeof(u->path) ||
	    !(slash = strrchr(u->path, '/')))
		return -EINVAL;
	u->base = slash + 1;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - u->path), u->path);
	u->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (u->inotify_fd < 0)
		return -errno;
	/* creation and replacement only: the directory (/run) sees many writes not worth a wake */
	if (inotify_add_watch(u->inotify_fd, dir[0] ? dir : "/", IN_CREATE | IN_MOVED_TO) < 0) {
		int err = -errno;

		close(u->inotify_fd);
		u->inotify_fd = -1;
		return err;
	}
	watch_file(u);
	return 0;
}

void session_utmp_close(struct session_utmp *u)
{
	if (u->inotify_fd >= 0)
		close(u->inotify_fd);
	u->inotify_fd = -1;
}

bool session_utmp_changed(struct session_utmp *u)
{
	struct pollfd pfd = { .fd = u->inotify_fd, .events = POLLIN };
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false, rewatch = false;
	ssize_t n;

	if (u->inotify_fd < 0 || poll(&pfd, 1, 0) <= 0)
		return false;
	while ((n = read(u->inotify_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;

			if (e->wd == u->file_wd) {
				changed = true;
				if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
					rewatch = true;
			} else if (e->len && !strcmp(e->name, u->base)) {
				changed = rewatch = true;
			}
			p += sizeof(*e) + e->len;
		}
	}
	if (rewatch)
		watch_file(u);
	return changed;
}

static void copy_field(char *dst, size_t size, const char *src, size_t len)
{
	size_t n = strnlen(src, len);

	gw_utf8_sanitize(src, n, dst, size);
}

static void set_address(struct session_info *s, const struct utmp *r)
{
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	struct in_addr a4;

	if (r->ut_addr_v6[0] && !r->ut_addr_v6[1] && !r->ut_addr_v6[2] && !r->ut_addr_v6[3]) {
		a4.s_addr = (in_addr_t)r->ut_addr_v6[0];
		inet_ntop(AF_INET, &a4, buf, sizeof(buf));
	} else if (r->ut_addr_v6[0] || r->ut_addr_v6[1] || r->ut_addr_v6[2] || r->ut_addr_v6[3]) {
		memcpy(&a6, r->ut_addr_v6, sizeof(a6));
		inet_ntop(AF_INET6, &a6, buf, sizeof(buf));
	} else if (inet_pton(AF_INET, s->remote_host, &a4) == 1 ||
		   inet_pton(AF_INET6, s->remote_host, &a6) == 1) {
		snprintf(buf, sizeof(buf), "%.45s", s->remote_host);
	} else {
		buf[0] = '\0';
	}
	snprintf(s->remote_address, sizeof(s->remote_address), "%s", buf);
}

size_t session_utmp_parse(const void *buf, size_t len, struct session_info *out, size_t max,
			  uint64_t *bad)
{
	size_t n = 0;

	for (size_t off = 0; off + sizeof(struct utmp) <= len && n < max;
	     off += sizeof(struct utmp)) {
		struct utmp r;
		struct session_info *s = &out[n];

		memcpy(&r, (const char *)buf + off, sizeof(r));
		if (r.ut_type != USER_PROCESS)
			continue;
		if (!r.ut_user[0] || !r.ut_line[0] || r.ut_pid <= 0) {
			(*bad)++;
			continue;
		}
		memset(s, 0, sizeof(*s));
		s->source = "utmp";
		s->uid = SESSION_UID_UNKNOWN;
		s->leader_pid = (uint32_t)r.ut_pid;
		copy_field(s->user, sizeof(s->user), r.ut_user, sizeof(r.ut_user));
		copy_field(s->tty, sizeof(s->tty), r.ut_line, sizeof(r.ut_line));
		copy_field(s->remote_host, sizeof(s->remote_host), r.ut_host, sizeof(r.ut_host));
		if (s->remote_host[0] == ':')
			snprintf(s->display, sizeof(s->display), "%.39s", s->remote_host);
		snprintf(s->id, sizeof(s->id), "%.24s:%u", s->tty, s->leader_pid);
		set_address(s, &r);
		s->remote = s->remote_host[0] && s->remote_host[0] != ':';
		s->start_ns = (uint64_t)(uint32_t)r.ut_tv.tv_sec * 1000000000ull +
			      (uint64_t)(uint32_t)r.ut_tv.tv_usec * 1000ull;
		n++;
	}
	return n;
}

size_t session_utmp_read(struct session_utmp *u, const char *proc_root, struct session_info *out,
			 size_t max)
{
	char *buf = malloc(SESSION_UTMP_MAX_BYTES);
	size_t len = 0, n, kept = 0;
	ssize_t r = 0;
	int fd;

	if (!buf) {
		u->read_errors++;
		return 0;
	}
	fd = open(u->path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		while (len < SESSION_UTMP_MAX_BYTES &&
		       (r = read(fd, buf + len, SESSION_UTMP_MAX_BYTES - len)) > 0)
			len += (size_t)r;
		if (r < 0)
			u->read_errors++;
		close(fd);
	} else if (errno != ENOENT) {
		u->read_errors++;
	}
	n = session_utmp_parse(buf, len, out, max, &u->bad_records);
	free(buf);
	for (size_t i = 0; i < n; i++) {
		char path[64];

		/* a record whose process died without its logout record (a crash) is no session */
		snprintf(path, sizeof(path), "%s/%u", proc_root, out[i].leader_pid);
		if (access(path, F_OK)) {
			u->stale_records++;
			continue;
		}
		if (kept != i)
			out[kept] = out[i];
		session_read_leader(&out[kept], proc_root);
		kept++;
	}
	return kept;
}

int64_t session_utmp_tty_idle_s(const char *dev_root, const char *tty, int64_t now_s)
{
	char path[96];
	struct stat st;

	if (!tty[0] || strstr(tty, "..") || tty[0] == '/' || tty[0] == ':')
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dev_root, tty);
	if (stat(path, &st))
		return -1;
	return now_s > st.st_atime ? now_s - st.st_atime : 0;
}
