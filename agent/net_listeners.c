#include "net_listeners.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uthash.h>

struct listen_sock {
	uint64_t inode;		/* hash key */
	uint32_t netns;
	uint16_t port;
	uint32_t owner;		/* 0 until a process holding it is found */
	UT_hash_handle hh;
};

struct seen_netns {
	uint64_t ino;
	UT_hash_handle hh;
};

struct scan {
	struct listen_sock *socks;
	struct seen_netns *netns;
	size_t n_socks;
};

static bool is_pid(const char *name)
{
	if (!*name)
		return false;
	for (; *name; name++)
		if (*name < '0' || *name > '9')
			return false;
	return true;
}

/* One /proc/net/tcp{,6} file: "sl local_address rem_address st ... uid timeout inode". */
static void parse_tcp_table(struct scan *s, const char *path, uint32_t netns)
{
	char line[512];
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	if (!fgets(line, sizeof(line), f)) { /* header */
		fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f) && s->n_socks < NET_LISTENERS_MAX) {
		char local[64], state[8];
		unsigned long long inode;
		unsigned int port;
		struct listen_sock *ls;
		char *colon;

		if (sscanf(line, "%*s %63s %*s %7s %*s %*s %*s %*s %*s %llu", local, state, &inode) != 3)
			continue;
		if (strcmp(state, "0A") || !inode)
			continue;
		colon = strrchr(local, ':');
		if (!colon || sscanf(colon + 1, "%x", &port) != 1 || port > 0xffff)
			continue;
		HASH_FIND(hh, s->socks, &(uint64_t){ inode }, sizeof(uint64_t), ls);
		if (ls)
			continue;
		ls = calloc(1, sizeof(*ls));
		if (!ls)
			break;
		ls->inode = inode;
		ls->netns = netns;
		ls->port = (uint16_t)port;
		HASH_ADD(hh, s->socks, inode, sizeof(ls->inode), ls);
		s->n_socks++;
	}
	fclose(f);
}

/* Each namespace's tables once, read through the first process found in it. */
static void scan_netns_of(struct scan *s, const char *proc_root, const char *pid)
{
	char path[PATH_MAX];
	struct seen_netns *seen;
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/ns/net", proc_root, pid);
	if (stat(path, &st))
		return;
	HASH_FIND(hh, s->netns, &(uint64_t){ st.st_ino }, sizeof(uint64_t), seen);
	if (seen)
		return;
	seen = calloc(1, sizeof(*seen));
	if (!seen)
		return;
	seen->ino = st.st_ino;
	HASH_ADD(hh, s->netns, ino, sizeof(seen->ino), seen);
	snprintf(path, sizeof(path), "%s/%s/net/tcp", proc_root, pid);
	parse_tcp_table(s, path, (uint32_t)st.st_ino);
	snprintf(path, sizeof(path), "%s/%s/net/tcp6", proc_root, pid);
	parse_tcp_table(s, path, (uint32_t)st.st_ino);
}

static void match_fds(struct scan *s, const char *proc_root, const char *pid_name)
{
	char path[PATH_MAX], target[64];
	uint32_t pid = (uint32_t)strtoul(pid_name, NULL, 10);
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s/fd", proc_root, pid_name);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		unsigned long long inode;
		struct listen_sock *ls;
		ssize_t n;

		if (!is_pid(de->d_name)) /* fd numbers are digits too */
			continue;
		n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (sscanf(target, "socket:[%llu]", &inode) != 1)
			continue;
		HASH_FIND(hh, s->socks, &(uint64_t){ inode }, sizeof(uint64_t), ls);
		if (ls && (!ls->owner || pid < ls->owner))
			ls->owner = pid;
	}
	closedir(d);
}

int net_find_listeners(const char *proc_root, net_listener_fn fn, void *ctx)
{
	struct scan s = { 0 };
	struct listen_sock *ls, *tmp_ls;
	struct seen_netns *ns, *tmp_ns;
	struct dirent *de;
	int found = 0;
	DIR *d;

	d = opendir(proc_root);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (is_pid(de->d_name))
			scan_netns_of(&s, proc_root, de->d_name);
	if (s.n_socks) {
		rewinddir(d);
		while ((de = readdir(d)))
			if (is_pid(de->d_name))
				match_fds(&s, proc_root, de->d_name);
	}
	closedir(d);

	HASH_ITER(hh, s.socks, ls, tmp_ls) {
		if (ls->owner) {
			struct net_listener l = { .netns = ls->netns, .port = ls->port, .pid = ls->owner };

			fn(&l, ctx);
			found++;
		}
		HASH_DEL(s.socks, ls);
		free(ls);
	}
	HASH_ITER(hh, s.netns, ns, tmp_ns) {
		HASH_DEL(s.netns, ns);
		free(ns);
	}
	return found;
}
