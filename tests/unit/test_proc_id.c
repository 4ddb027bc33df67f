#include "testing.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/proc_id.h"
#include "core/proc_table.h"
#include "core/procfs.h"

static struct gw_boot boot_with(const char *id)
{
	struct gw_boot b = { .ns_per_tick = 10000000 };

	snprintf(b.boot_id, sizeof(b.boot_id), "%s", id);
	return b;
}

TEST(same_process_same_id_from_ticks_or_ns)
{
	struct gw_boot b = boot_with("5f0c7d5e-1111-2222-3333-444455556666");
	/* the BPF side has ns; procfs has ticks; anything within the same tick agrees */
	uint64_t ticks = 81743;

	CHECK(gw_process_id(&b, 1031, ticks * 10000000ULL) == gw_process_id_from_ticks(&b, 1031, ticks));
	CHECK(gw_process_id(&b, 1031, ticks * 10000000ULL + 9999999) ==
	      gw_process_id_from_ticks(&b, 1031, ticks));
}

TEST(id_changes_with_pid_start_and_boot)
{
	struct gw_boot b1 = boot_with("aaaaaaaa-0000-0000-0000-000000000001");
	struct gw_boot b2 = boot_with("aaaaaaaa-0000-0000-0000-000000000002");
	uint64_t base = gw_process_id_from_ticks(&b1, 100, 5000);

	CHECK(base != gw_process_id_from_ticks(&b1, 101, 5000));	/* other pid */
	CHECK(base != gw_process_id_from_ticks(&b1, 100, 5001));	/* pid reused later */
	CHECK(base != gw_process_id_from_ticks(&b2, 100, 5000));	/* other boot */
}

TEST(boot_init_reads_the_real_boot_id)
{
	struct gw_boot b;

	REQUIRE(gw_boot_init(&b, NULL) == 0);
	CHECK(strlen(b.boot_id) == 36);
	CHECK(b.ns_per_tick == 1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK));
	CHECK(gw_boot_init(&b, "/nonexistent/boot_id") < 0);
}

/* A fake /proc entry whose comm holds spaces and parentheses. */
TEST(procfs_parses_hostile_comm_and_links_parent)
{
	char root[] = "/tmp/gw-procfs-XXXXXX", path[256];
	struct gw_boot b = boot_with("bbbbbbbb-0000-0000-0000-000000000000");
	struct proc_table t;
	struct proc_entry *child, *parent;
	FILE *f;

	REQUIRE(mkdtemp(root));
	snprintf(path, sizeof(path), "mkdir -p %s/10 %s/20", root, root);
	REQUIRE(system(path) == 0);
	snprintf(path, sizeof(path), "%s/10/stat", root);
	f = fopen(path, "w");
	fputs("10 (init) S 0 10 10 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 12 1 1 1\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/20/stat", root);
	f = fopen(path, "w");
	/* comm "a) (b c" tries to fool a parser that splits at the first ')' */
	fputs("20 (a) (b c) R 10 20 20 34816 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 4567 1 1 1\n", f);
	fclose(f);
	for (int pid = 10; pid <= 20; pid += 10) {
		snprintf(path, sizeof(path), "%s/%d/status", root, pid);
		f = fopen(path, "w");
		fputs("Name:\tx\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\n", f);
		fclose(f);
		snprintf(path, sizeof(path), "%s/%d/cmdline", root, pid);
		f = fopen(path, "w");
		fwrite("prog\0--flag\0\xff\xfe", 1, 14, f);
		fclose(f);
	}
	proc_table_init(&t, 16, 1);
	CHECK(procfs_seed(&t, &b, root, NULL) == 2);
	child = proc_table_get(&t, 20);
	parent = proc_table_get(&t, 10);
	REQUIRE(child && parent);
	CHECK_STR(child->comm, "a) (b c");
	CHECK(child->ppid == 10);
	CHECK(child->uid == 1000 && child->gid == 100);
	CHECK(child->auid == (uint32_t)-1); /* no loginuid file */
	CHECK(child->start_ns == 4567ULL * 10000000ULL);
	CHECK(child->id == gw_process_id_from_ticks(&b, 20, 4567));
	CHECK(child->parent_id == parent->id);
	CHECK_STR(child->tty, "pts0");
	CHECK(child->argc == 3);
	CHECK_STR(child->argv + 5, "--flag");
	CHECK_STR(child->argv + 12, "\xef\xbf\xbd\xef\xbf\xbd");
	CHECK_STR(child->source, "procfs");
	proc_table_free(&t);
	snprintf(path, sizeof(path), "rm -rf %s", root);
	CHECK(system(path) == 0);
}

TEST(tty_names)
{
	char buf[32];

	procfs_tty_name((136 << 8) | 3, buf, sizeof(buf));
	CHECK_STR(buf, "pts3");
	procfs_tty_name((4 << 8) | 1, buf, sizeof(buf));
	CHECK_STR(buf, "tty1");
	procfs_tty_name((4 << 8) | 65, buf, sizeof(buf));
	CHECK_STR(buf, "ttyS1");
	procfs_tty_name(0, buf, sizeof(buf));
	CHECK_STR(buf, "");
}

int main(void)
{
	RUN(same_process_same_id_from_ticks_or_ns);
	RUN(id_changes_with_pid_start_and_boot);
	RUN(boot_init_reads_the_real_boot_id);
	RUN(procfs_parses_hostile_comm_and_links_parent);
	RUN(tty_names);
	return test_summary();
}
