/*
 * gw-hidg-play - guest test tool: plays HID input reports into a USB gadget's /dev/hidgN on a
 * fixed schedule, the way an IP-KVM or hardware jiggler sends them. Sleeps are measured from the
 * start (absolute deadlines), so the time each write takes does not accumulate: a 100 ms step
 * stays 100 ms under TCG, where forking a `usleep` per step added ~10 ms each.
 * Built static into the QEMU guest by tests/vm/build-initramfs.sh.
 *
 * usage: gw-hidg-play DEVICE STEP...
 * STEP:  r:HEX      write one report (bytes in hex)
 *        sleep:MS   advance the schedule by MS milliseconds and wait for it
 * Prints "DONE <reports written>". A write blocks while the host side is not polling the
 * interrupt endpoint (nobody holds the matching /dev/input/eventN open).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "gw-hidg-play: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void advance_and_wait(struct timespec *deadline, long ms)
{
	deadline->tv_sec += ms / 1000;
	deadline->tv_nsec += (ms % 1000) * 1000000L;
	if (deadline->tv_nsec >= 1000000000L) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, deadline, NULL) == EINTR)
		;
}

int main(int argc, char **argv)
{
	unsigned char report[64];
	struct timespec deadline;
	long written = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: gw-hidg-play DEVICE [r:HEX | sleep:MS]...\n");
		return 2;
	}
	int fd = open(argv[1], O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		die(argv[1]);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	for (int i = 2; i < argc; i++) {
		const char *step = argv[i];
		size_t len = 0;

		if (!strncmp(step, "sleep:", 6)) {
			advance_and_wait(&deadline, strtol(step + 6, NULL, 0));
			continue;
		}
		if (strncmp(step, "r:", 2) || strlen(step + 2) % 2 || strlen(step + 2) / 2 > sizeof(report)) {
			fprintf(stderr, "gw-hidg-play: bad step '%s' (r:HEX or sleep:MS)\n", step);
			return 2;
		}
		for (; len < strlen(step + 2) / 2; len++) {
			unsigned int byte;

			if (sscanf(step + 2 + 2 * len, "%2x", &byte) != 1) {
				fprintf(stderr, "gw-hidg-play: bad hex in '%s'\n", step);
				return 2;
			}
			report[len] = (unsigned char)byte;
		}
		if (write(fd, report, len) != (ssize_t)len)
			die("write report");
		written++;
	}
	close(fd);
	printf("DONE %ld\n", written);
	return 0;
}
