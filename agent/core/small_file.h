/*
 * small_file.h - reading a small kernel-made file (a procfs entry, a sysfs attribute) whole into a
 * caller's buffer, and finding a line in what was read. One copy of the open/read-until-EOF/EINTR
 * loop for every module that reads them.
 */
#ifndef GW_SMALL_FILE_H
#define GW_SMALL_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Reads `path` (relative to dirfd, or AT_FDCWD) into buf, NUL-terminated, up to size-1 bytes;
 * `flags` are added to O_RDONLY | O_CLOEXEC (e.g. O_NOFOLLOW). Returns the length read, or -1 when
 * it does not exist or cannot be opened. */
ssize_t gw_read_small_file(int dirfd, const char *path, int flags, void *buf, size_t size);

/* In such a file's text: what follows `prefix` on the first line that starts with it (the value
 * of "KEY=value" or "0::/path" lines), up to that line's newline or the end; NULL if no line does.
 * The value's length is strcspn(value, "\n"). */
const char *gw_line_value(const char *text, const char *prefix);

#endif
