#include "proc_id.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= FNV_PRIME;
	}
	return h;
}

int gw_boot_init(struct gw_boot *boot, const char *path)
{
	long hz = sysconf(_SC_CLK_TCK);
	int fd = open(path ? path : "/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	memset(boot, 0, sizeof(*boot));
	boot->ns_per_tick = 1000000000ULL / (uint64_t)(hz > 0 ? hz : 100);
	if (fd < 0)
		return -errno;
	n = read(fd, boot->boot_id, sizeof(boot->boot_id) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	boot->boot_id[n] = 0;
	boot->boot_id[strcspn(boot->boot_id, "\n")] = 0;
	return 0;
}

uint64_t gw_start_ns_to_ticks(const struct gw_boot *boot, uint64_t start_boottime_ns)
{
	return start_boottime_ns / boot->ns_per_tick;
}

uint64_t gw_process_id_from_ticks(const struct gw_boot *boot, uint32_t pid, uint64_t start_ticks)
{
	uint64_t h = fnv1a(FNV_OFFSET, boot->boot_id, strlen(boot->boot_id));

	h = fnv1a(h, &pid, sizeof(pid));
	h = fnv1a(h, &start_ticks, sizeof(start_ticks));
	return h;
}

uint64_t gw_process_id(const struct gw_boot *boot, uint32_t pid, uint64_t start_boottime_ns)
{
	return gw_process_id_from_ticks(boot, pid, gw_start_ns_to_ticks(boot, start_boottime_ns));
}
