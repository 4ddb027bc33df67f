#include "testing.h"

#include "core/proc_table.h"

TEST(put_get_replace)
{
	struct proc_table t;
	struct proc_entry *e;

	proc_table_init(&t, 8, 1000);
	e = proc_table_put(&t, 42);
	REQUIRE(e);
	e->id = 1;
	proc_entry_set_str(&e->exe, "/bin/a");
	CHECK(proc_table_get(&t, 42) == e);
	CHECK(proc_table_get(&t, 43) == NULL);
	/* pid reuse replaces the entry wholesale */
	e = proc_table_put(&t, 42);
	CHECK(e->id == 0 && e->exe == NULL);
	CHECK(t.count == 1);
	proc_table_free(&t);
	CHECK(t.count == 0);
}

TEST(exited_entries_evicted_after_grace)
{
	struct proc_table t;
	struct proc_entry *e;

	proc_table_init(&t, 8, 1000);
	e = proc_table_put(&t, 1);
	proc_table_put(&t, 2);
	proc_table_mark_exited(&t, e, 5000);
	proc_table_evict_expired(&t, 5999);
	CHECK(proc_table_get(&t, 1) != NULL); /* still within the grace period */
	proc_table_evict_expired(&t, 6000);
	CHECK(proc_table_get(&t, 1) == NULL);
	CHECK(proc_table_get(&t, 2) != NULL);
	CHECK(t.evicted_exited == 1 && t.evicted_live == 0);
	proc_table_free(&t);
}

TEST(full_table_evicts_exited_first_then_oldest_live)
{
	struct proc_table t;

	proc_table_init(&t, 3, 1000000);
	proc_table_put(&t, 1);
	proc_table_put(&t, 2);
	proc_table_mark_exited(&t, proc_table_put(&t, 3), 10);
	proc_table_put(&t, 4); /* evicts 3 (exited) */
	CHECK(proc_table_get(&t, 3) == NULL);
	CHECK(t.evicted_exited == 1);
	proc_table_put(&t, 5); /* nothing exited: evicts 1, the oldest */
	CHECK(proc_table_get(&t, 1) == NULL);
	CHECK(proc_table_get(&t, 2) && proc_table_get(&t, 4) && proc_table_get(&t, 5));
	CHECK(t.evicted_live == 1);
	CHECK(t.count == 3);
	proc_table_free(&t);
}

TEST(argv_is_copied)
{
	struct proc_table t;
	struct proc_entry *e;
	char packed[] = "ls\0-l\0/tmp";

	proc_table_init(&t, 4, 1);
	e = proc_table_put(&t, 7);
	proc_entry_set_argv(e, packed, sizeof(packed), 3);
	packed[0] = 'X';
	CHECK(e->argc == 3);
	CHECK_STR(e->argv, "ls");
	CHECK_STR(e->argv + 3, "-l");
	CHECK_STR(e->argv + 6, "/tmp");
	proc_entry_set_argv(e, NULL, 0, 0);
	CHECK(e->argc == 0 && e->argv == NULL);
	proc_table_free(&t);
}

/* A user exec'ing 4 KiB command lines fills the byte cap long before the entry cap. */
TEST(byte_cap_evicts_oldest_exited_then_live)
{
	struct proc_table t;
	static char argv[4000];
	struct proc_entry *e;

	memset(argv, 'a', sizeof(argv) - 1);
	proc_table_init(&t, 1000, 1000000000ULL);
	t.max_bytes = 3 * (sizeof(struct proc_entry) + sizeof(argv)) + 100;
	e = proc_table_put(&t, 1); /* a live process with a short argv */
	proc_entry_set_argv(e, "init", 5, 1);
	for (uint32_t pid = 100; pid < 110; pid++) {
		e = proc_table_put(&t, pid);
		proc_entry_set_argv(e, argv, sizeof(argv), 1);
		proc_table_mark_exited(&t, e, 1);
	}
	proc_table_evict_expired(&t, 2); /* weighs the last one put */
	CHECK(t.bytes <= t.max_bytes);
	CHECK(t.evicted_bytes >= 7);
	CHECK(t.evicted_exited == t.evicted_bytes);
	CHECK(t.evicted_live == 0);
	CHECK(proc_table_get(&t, 1) != NULL);
	CHECK(proc_table_get(&t, 109) != NULL);
	CHECK(proc_table_get(&t, 100) == NULL);
	/* live ones only: the oldest live goes */
	t.max_bytes = sizeof(struct proc_entry) + sizeof(argv) + 100;
	e = proc_table_put(&t, 200);
	proc_entry_set_argv(e, argv, sizeof(argv), 1);
	proc_table_evict_expired(&t, 3);
	CHECK(t.bytes <= t.max_bytes);
	CHECK(t.count == 1 && proc_table_get(&t, 200) != NULL);
	CHECK(t.evicted_live == 1);
	proc_table_free(&t);
	CHECK(t.bytes == 0);
}

int main(void)
{
	RUN(put_get_replace);
	RUN(exited_entries_evicted_after_grace);
	RUN(full_table_evicts_exited_first_then_oldest_live);
	RUN(argv_is_copied);
	RUN(byte_cap_evicts_oldest_exited_then_live);
	return test_summary();
}
