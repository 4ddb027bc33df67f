#include "small_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

ssize_t gw_read_small_file(int dirfd, const char *path, int flags, void *buf, size_t size)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | flags);
	size_t got = 0;

	if (fd < 0)
		return -1;
	while (got < size - 1) {
		ssize_t n = read(fd, (char *)buf + got, size - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	((char *)buf)[got] = '\0';
	return (ssize_t)got;
}

const char *gw_line_value(const char *text, const char *prefix)
{
	size_t len = strlen(prefix);

	for (const char *line = text; line;) {
		if (!strncmp(line, prefix, len))
			return line + len;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return NULL;
}
