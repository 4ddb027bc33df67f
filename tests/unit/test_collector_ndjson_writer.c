/* Unit tests of the collector's rotating NDJSON writer: size rotation between groups, the keep
 * limit, appending to an existing live file, and that a group is never split across files. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ndjson_writer.h"
#include "testing.h"

static char dir[] = "/tmp/gwc-ndjson-XXXXXX";

static int count_files(const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	if (d)
		closedir(d);
	return n;
}

static long file_size(const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? st.st_size : -1;
}

TEST(rotates_between_groups_and_keeps_the_newest)
{
	struct ndjson_writer w;
	char group[300];

	memset(group, 'x', sizeof(group));
	for (int i = 99; i < 300; i += 100)
		group[i] = '\n';	/* three 100-byte lines */
	REQUIRE(ndjson_writer_open(&w, dir, "ev", 1000, 2) == 0);
	for (int i = 0; i < 10; i++)
		REQUIRE(ndjson_writer_write(&w, group, sizeof(group)) == 0);
	REQUIRE(ndjson_writer_sync(&w) == 0);
	/* 3 groups (900 bytes) fit a file, the 4th rotates: 10 groups = 3 rotations */
	CHECK(w.rotations == 3);
	CHECK(w.deleted == 1);
	CHECK(count_files("ev-") == 2);
	CHECK(file_size("ev.ndjson") == 300);
	CHECK(w.bytes_written == 3000);
	ndjson_writer_close(&w);

	/* reopening appends to the live file */
	REQUIRE(ndjson_writer_open(&w, dir, "ev", 1000, 2) == 0);
	CHECK(w.size == 300);
	REQUIRE(ndjson_writer_write(&w, group, 100) == 0);
	CHECK(file_size("ev.ndjson") == 400);
	ndjson_writer_close(&w);
}

TEST(a_group_larger_than_a_file_is_not_split)
{
	struct ndjson_writer w;
	size_t big = 5000;
	char *group = malloc(big);

	REQUIRE(group);
	memset(group, 'y', big);
	group[big - 1] = '\n';
	REQUIRE(ndjson_writer_open(&w, dir, "big", 1000, 0) == 0);
	REQUIRE(ndjson_writer_write(&w, group, big) == 0);
	REQUIRE(ndjson_writer_write(&w, group, big) == 0);
	CHECK(file_size("big.ndjson") == (long)big);
	CHECK(count_files("big-") == 1);
	ndjson_writer_close(&w);
	free(group);
}

TEST(unwritable_directory_is_an_error_not_a_crash)
{
	struct ndjson_writer w;

	CHECK(ndjson_writer_open(&w, "/proc/self/nonexistent/dir", "x", 1000, 0) < 0);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(rotates_between_groups_and_keeps_the_newest);
	RUN(a_group_larger_than_a_file_is_not_split);
	RUN(unwritable_directory_is_an_error_not_a_crash);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return test_summary();
}
