/* Unit tests for agent/net_sockets.c over a fake /proc tree: states, addresses, owners, namespaces. */
#include "testing.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/net_sockets.h"
#include "core/procfs.h"
#include <sys/socket.h>

static char root[] = "/tmp/gw-test-sockets-XXXXXX";

static void write_file(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void mk(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	mkdir(path, 0755);
}

static void link_to(const char *target, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (symlink(target, path))
		perror("symlink");
}

#define HDR "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"

static void build_tree(void)
{
	const char *dirs[] = { "100", "100/ns", "100/net", "100/fd", "200", "200/ns", "200/fd",
			       "300", "300/ns", "300/net", "300/fd", "self" };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		mk(dirs[i]);
	write_file("100/ns/net", "");
	write_file("100/net/tcp", HDR
		   "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5555 1\n"
		   "   1: 0100007F:9C40 0200E70A:1F90 01 00000000:00000000 00:00000000 00000000     0        0 6666 1\n");
	write_file("100/net/tcp6", HDR
		   "   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7777 1\n");
	link_to("socket:[5555]", "100/fd/3");
	link_to("socket:[7777]", "100/fd/4");
	link_to("socket:[6666]", "100/fd/5");
	link_to("/dev/null", "100/fd/0");
	/* same namespace (ns/net resolves to the same inode), shares the 8080 listener */
	link_to("../../100/ns/net", "200/ns/net");
	link_to("socket:[5555]", "200/fd/7");
	/* another namespace: a listener nobody holds, and garbage rows */
	write_file("300/ns/net", "");
	write_file("300/net/tcp", HDR
		   "   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 8888 1\n"
		   "garbage\n"
		   "   1: nocolon 00000000:0000 0A 0 0 0 0 0 9999\n"
		   "   2: 00000000:FFFFF 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9998 1\n");
}

struct found {
	struct net_socket l[8];
	int n;
};

static void collect(const struct net_socket *l, void *ctx)
{
	struct found *f = ctx;

	if (f->n < 8)
		f->l[f->n] = *l;
	f->n++;
}

TEST(finds_listeners_and_lowest_owner)
{
	struct found f = { 0 };
	struct stat ns100;
	char path[512];
	int port8080 = 0, port22 = 0;

	REQUIRE(net_scan_sockets(root, 1u << NET_TCP_LISTEN, collect, &f) == 2);
	REQUIRE(f.n == 2);
	snprintf(path, sizeof(path), "%s/100/ns/net", root);
	REQUIRE(stat(path, &ns100) == 0);
	for (int i = 0; i < 2; i++) {
		CHECK(f.l[i].pid == 100);
		CHECK(f.l[i].netns == (uint32_t)ns100.st_ino);
		CHECK(f.l[i].state == NET_TCP_LISTEN);
		if (f.l[i].local_port == 8080) {
			port8080++;
			CHECK(f.l[i].family == AF_INET);
		}
		if (f.l[i].local_port == 22) {
			port22++;
			CHECK(f.l[i].family == AF_INET6);
		}
	}
	CHECK(port8080 == 1 && port22 == 1);
}

TEST(established_rows_carry_addresses)
{
	struct found f = { 0 };
	char buf[GW_IP_STR_LEN];

	REQUIRE(net_scan_sockets(root, 1u << NET_TCP_ESTABLISHED, collect, &f) == 1);
	CHECK(f.l[0].pid == 100);
	CHECK_STR(gw_ip_format(&f.l[0].local, buf, sizeof(buf)), "127.0.0.1");
	CHECK(f.l[0].local_port == 40000);
	CHECK_STR(gw_ip_format(&f.l[0].remote, buf, sizeof(buf)), "10.231.0.2");
	CHECK(f.l[0].remote_port == 8080);
}

TEST(missing_root_is_an_error)
{
	struct found f = { 0 };

	CHECK(net_scan_sockets("/nonexistent-gw-proc", ~0u, collect, &f) < 0);
	CHECK(f.n == 0);
}

/* /proc entries are named by whoever made them only in part: a pid dir, an fd, or anything else */
TEST(proc_entry_numbers)
{
	uint32_t n = 7;

	CHECK(procfs_number("1", &n) && n == 1);
	CHECK(procfs_number("4294967295", &n) && n == 4294967295u);
	CHECK(!procfs_number("4294967296", &n));
	CHECK(!procfs_number("99999999999999999999999", &n));
	CHECK(!procfs_number("", &n));
	CHECK(!procfs_number("12a", &n));
	CHECK(!procfs_number("-1", &n));
	CHECK(!procfs_number("self", &n));
	CHECK(n == 4294967295u); /* untouched by the refusals */
}

int main(void)
{
	int rc;

	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	build_tree();
	RUN(finds_listeners_and_lowest_owner);
	RUN(established_rows_carry_addresses);
	RUN(missing_root_is_an_error);
	RUN(proc_entry_numbers);
	rc = test_summary();
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd))
			rc = 1;
	}
	return rc;
}
