#include "net_sockets.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uthash.h>

#include "core/procfs.h"

struct found_sock {
	uint64_t inode;		/* hash key */
	struct net_socket s;	/* s.pid 0 until a process holding it is found */
	UT_hash_handle hh;
};

struct seen_netns {
	uint64_t ino;
	UT_hash_handle hh;
};

struct scan {
	uint32_t state_mask;
	struct found_sock *socks;
	struct seen_netns *netns;
	size_t n_socks;
};

/*
 * "0100007F:1F90" (v4) or 32 hex digits ":port" (v6). The kernel prints each 32-bit word of the
 * address as the host-order value of its network-order bytes (%08X), so storing the parsed word back
 * in host order restores the bytes.
 */
static bool parse_endpoint(const char *text, bool v6, struct gw_ip *ip, uint16_t *port)
{
	size_t hex_len = v6 ? 32 : 8;
	uint8_t raw[16];
	unsigned int p;

	if (strlen(text) != hex_len + 5 || text[hex_len] != ':')
		return false;
	for (size_t w = 0; w < hex_len / 8; w++) {
		char word[9];
		char *end;
		uint32_t v;

		memcpy(word, text + 8 * w, 8);
		word[8] = '\0';
		v = (uint32_t)strtoul(word, &end, 16);
		if (*end)
			return false;
		memcpy(raw + 4 * w, &v, 4);
	}
	if (sscanf(text + hex_len + 1, "%4x", &p) != 1)
		return false;
	if (v6)
		gw_ip_from_v6(ip, raw);
	else
		gw_ip_from_v4(ip, raw);
	*port = (uint16_t)p;
	return true;
}

/* One /proc/net/tcp{,6} file: "sl local_address rem_address st ... uid timeout inode". */
static void parse_tcp_table(struct scan *s, const char *path, uint32_t netns, bool v6)
{
	char line[512];
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	/*
	 * The kernel walks its whole established hash (hundreds of thousands of buckets on a large
	 * machine) from where the last read stopped at every read(): few large reads, not one per
	 * KiB that procfs' block size would give stdio.
	 */
	setvbuf(f, NULL, _IOFBF, 64u << 10);
	if (!fgets(line, sizeof(line), f)) { /* header */
		fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f) && s->n_socks < NET_SOCKETS_MAX) {
		char local[64], remote[64];
		unsigned long long inode;
		unsigned int state;
		struct found_sock *fs;
		struct net_socket ns = { .netns = netns, .family = v6 ? AF_INET6 : AF_INET };

		if (sscanf(line, "%*s %63s %63s %2x %*s %*s %*s %*s %*s %llu", local, remote, &state,
			   &inode) != 4)
			continue;
		if (state > 31 || !(s->state_mask & (1u << state)) || !inode)
			continue;
		if (!parse_endpoint(local, v6, &ns.local, &ns.local_port) ||
		    !parse_endpoint(remote, v6, &ns.remote, &ns.remote_port))
			continue;
		ns.state = (uint8_t)state;
		HASH_FIND(hh, s->socks, &(uint64_t){ inode }, sizeof(uint64_t), fs);
		if (fs)
			continue;
		fs = calloc(1, sizeof(*fs));
		if (!fs)
			break;
		fs->inode = inode;
		fs->s = ns;
		HASH_ADD(hh, s->socks, inode, sizeof(fs->inode), fs);
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
	parse_tcp_table(s, path, (uint32_t)st.st_ino, false);
	snprintf(path, sizeof(path), "%s/%s/net/tcp6", proc_root, pid);
	parse_tcp_table(s, path, (uint32_t)st.st_ino, true);
}

static void match_fds(struct scan *s, const char *proc_root, const char *pid_name)
{
	uint32_t pid = (uint32_t)strtoul(pid_name, NULL, 10);
	char path[PATH_MAX], target[64];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s/fd", proc_root, pid_name);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		unsigned long long inode;
		struct found_sock *fs;
		uint32_t fd;
		ssize_t n;

		if (!procfs_number(de->d_name, &fd))
			continue;
		n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (sscanf(target, "socket:[%llu]", &inode) != 1)
			continue;
		HASH_FIND(hh, s->socks, &(uint64_t){ inode }, sizeof(uint64_t), fs);
		if (fs && (!fs->s.pid || pid < fs->s.pid))
			fs->s.pid = pid;
	}
	closedir(d);
}

int net_scan_sockets(const char *proc_root, uint32_t state_mask, net_socket_fn fn, void *ctx)
{
	struct scan s = { .state_mask = state_mask };
	struct found_sock *fs, *tmp_fs;
	struct seen_netns *ns, *tmp_ns;
	struct dirent *de;
	int found = 0;
	uint32_t pid;
	DIR *d;

	d = opendir(proc_root);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (procfs_number(de->d_name, &pid))
			scan_netns_of(&s, proc_root, de->d_name);
	if (s.n_socks) {
		rewinddir(d);
		while ((de = readdir(d)))
			if (procfs_number(de->d_name, &pid))
				match_fds(&s, proc_root, de->d_name);
	}
	closedir(d);

	HASH_ITER(hh, s.socks, fs, tmp_fs) {
		if (fs->s.pid) {
			fn(&fs->s, ctx);
			found++;
		}
		HASH_DEL(s.socks, fs);
		free(fs);
	}
	HASH_ITER(hh, s.netns, ns, tmp_ns) {
		HASH_DEL(s.netns, ns);
		free(ns);
	}
	return found;
}
