/*
 * ndjson_writer.h - the collector's output: NDJSON files in one directory that a SIEM forwarder
 * (Filebeat, Fluent Bit, Vector, rsyslog imfile) tails. The live file is <dir>/<name>.ndjson; when
 * it would grow past max_bytes it is fdatasync'd and renamed to <name>-<UTC time>-<n>.ndjson
 * (rename rotation: tailers follow by inode and finish the old file), and a new live file is
 * opened. Only the newest `keep` rotated files are kept (0 = keep all). Writes are whole groups of
 * lines: a group never straddles two files, and a failed write is truncated away so a reader never
 * sees half a line.
 */
#ifndef GWC_NDJSON_WRITER_H
#define GWC_NDJSON_WRITER_H

#include <stddef.h>
#include <stdint.h>

struct ndjson_writer {
	char *dir;
	char *name;
	char *live_path;
	int fd;
	int dir_fd;
	uint64_t size;		/* bytes in the live file */
	uint64_t max_bytes;
	unsigned keep;
	uint64_t rotations;
	uint64_t deleted;	/* rotated files removed by the keep limit */
	uint64_t bytes_written;
};

/* Opens (appending to) the live file, creating dir if needed. 0 or -errno. */
int ndjson_writer_open(struct ndjson_writer *w, const char *dir, const char *name,
		       uint64_t max_bytes, unsigned keep);
/* Appends len bytes of complete lines, rotating first when they would overflow the live file.
 * 0 or -errno (the live file is left as it was before the call). */
int ndjson_writer_write(struct ndjson_writer *w, const char *buf, size_t len);
/* fdatasync of the live file: after it returns 0, everything written is on disk. */
int ndjson_writer_sync(struct ndjson_writer *w);
void ndjson_writer_close(struct ndjson_writer *w);

#endif
