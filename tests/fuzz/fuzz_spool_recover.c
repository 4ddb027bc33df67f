// fuzz: agent/fleet/spool.c agent/fleet/spool_record.c agent/fleet/spool_cursor.c agent/fleet/spool_segment.c agent/fleet/spool_recover.c
/*
 * libFuzzer target for spool recovery: the input is the content of the one segment of a spool
 * directory; opening the spool must recover it (skipping or cutting what is bad) and every record
 * it then hands out must be readable and ackable, with the counts adding up.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fleet/spool.h"

static char dir[] = "/tmp/gw_fuzz_spool_XXXXXX";

static void empty_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		abort();
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_spool_limits lim = { 1 << 20, 64 << 10 };
	struct gw_spool_stats st;
	struct gw_spool_record rec;
	struct gw_spool *s;
	char path[64], err[256];
	uint64_t waiting, delivered = 0;
	int fd, rc;

	if (dir[sizeof(dir) - 2] == 'X' && !mkdtemp(dir))
		abort();
	empty_dir();
	snprintf(path, sizeof(path), "%s/00000000000000000001.seg", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	s = gw_spool_open(dir, &lim, err, sizeof(err));
	if (!s)
		abort();	/* recovery must cope with any segment content */
	gw_spool_get_stats(s, &st);
	waiting = st.unacked_batches;
	while ((rc = gw_spool_peek(s, &rec)) == 1) {
		delivered++;
		free(rec.data);
		if (gw_spool_ack(s, &rec) < 0)
			abort();
	}
	if (rc < 0 || delivered != waiting)
		abort();
	gw_spool_get_stats(s, &st);
	if (st.unacked_batches != 0)
		abort();
	/* the spool keeps working after recovery */
	if (gw_spool_append(s, gw_spool_next_seq(s), 1, "x", 1, 0, 0) || gw_spool_sync(s) ||
	    gw_spool_peek(s, &rec) != 1)
		abort();
	free(rec.data);
	gw_spool_close(s);
	return 0;
}
