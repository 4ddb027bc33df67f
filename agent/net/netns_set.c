#include "netns_set.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/procfs.h"

int netns_set_open(struct netns_set *s)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->self_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (s->self_fd < 0)
		return -errno;
	if (fstat(s->self_fd, &st)) {
		int err = -errno;

		close(s->self_fd);
		s->self_fd = -1;
		return err;
	}
	s->self_ino = st.st_ino;
	return 0;
}

void netns_set_close(struct netns_set *s)
{
	if (s->self_fd >= 0)
		close(s->self_fd);
	s->self_fd = -1;
	s->n = 0;
}

static bool known(const struct netns_set *s, uint64_t ino)
{
	if (ino == s->self_ino)
		return true;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].ino == ino)
			return true;
	return false;
}

int netns_set_refresh(struct netns_set *s, const char *proc_root)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (s->self_fd < 0)
		return -EBADF;
	d = opendir(proc_root);
	if (!d)
		return -errno;
	s->n = 0;
	s->missed = 0;
	while ((de = readdir(d))) {
		struct stat st;
		uint32_t pid;

		if (!procfs_number(de->d_name, &pid))
			continue;
		snprintf(path, sizeof(path), "%s/%s/ns/net", proc_root, de->d_name);
		if (stat(path, &st) || known(s, st.st_ino))
			continue;
		if (s->n == NETNS_SET_MAX) {
			s->missed++;
			continue;
		}
		s->v[s->n].ino = st.st_ino;
		s->v[s->n].pid = pid;
		s->n++;
	}
	closedir(d);
	return (int)s->n;
}

int netns_set_each(const struct netns_set *s, const char *proc_root,
		   void (*fn)(int ns_fd, void *ctx), void *ctx)
{
	char path[PATH_MAX];
	int ran = 0;

	for (size_t i = 0; i < s->n; i++) {
		struct stat st;
		int fd;

		snprintf(path, sizeof(path), "%s/%u/ns/net", proc_root, s->v[i].pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!fstat(fd, &st) && st.st_ino == s->v[i].ino) {
			fn(fd, ctx);
			ran++;
		}
		close(fd);
	}
	return ran;
}
