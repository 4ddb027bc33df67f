/*
 * gw-uhid - guest test tool: creates a HID device from user space through /dev/uhid with any bus
 * (USB = 3, Bluetooth = 5), VID/PID and report descriptor, sends input reports with timing, keeps
 * the device for a while, then destroys it. It reaches hid_add_device and input_register_device
 * like a real HID device, but not usb_new_device: how a Bluetooth jiggler looks to the kernel.
 * Built static into the QEMU guest by tests/vm/build-initramfs.sh.
 *
 * usage: gw-uhid --rdesc HEX [--name NAME] [--vid N] [--pid N] [--bus N] [--uniq S] [--hold MS]
 *                [STEP...]
 * STEP:  r:HEX      one input report (bytes in hex)
 *        sleep:MS   pause
 * Prints "READY <pid>" once the device is created, "DONE <reports sent>" at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/uhid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "gw-uhid: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Sleeps advance an absolute schedule, so the time spent writing does not accumulate. */
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

/* Decodes hex into out; returns the byte count or -1 on bad input. */
static int unhex(const char *hex, unsigned char *out, size_t max)
{
	size_t len = strlen(hex), n = 0;

	if (len % 2 || len / 2 > max)
		return -1;
	for (; n < len / 2; n++) {
		unsigned int byte;

		if (sscanf(hex + 2 * n, "%2x", &byte) != 1)
			return -1;
		out[n] = (unsigned char)byte;
	}
	return (int)n;
}

/* The kernel queues START/OPEN/CLOSE/OUTPUT events for us (32 at most, then it warns about an
 * overflow); nothing here needs them, so read and drop them after every write. */
static void send_event(int fd, const struct uhid_event *ev)
{
	static struct uhid_event in;

	if (write(fd, ev, sizeof(*ev)) != sizeof(*ev))
		die("write /dev/uhid");
	while (read(fd, &in, sizeof(in)) > 0)
		;
}

int main(int argc, char **argv)
{
	static struct uhid_event ev;
	const char *name = "gw-uhid test device", *rdesc = NULL, *uniq = "";
	long vid = 0x1234, pid = 0x5678, bus = 5, hold_ms = 500;
	static const struct option opts[] = {
		{ "rdesc", required_argument, NULL, 'r' }, { "name", required_argument, NULL, 'n' },
		{ "vid", required_argument, NULL, 'v' },   { "pid", required_argument, NULL, 'p' },
		{ "bus", required_argument, NULL, 'b' },   { "uniq", required_argument, NULL, 'u' },
		{ "hold", required_argument, NULL, 'h' },  { 0 }
	};
	int c, len;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': rdesc = optarg; break;
		case 'n': name = optarg; break;
		case 'v': vid = strtol(optarg, NULL, 0); break;
		case 'p': pid = strtol(optarg, NULL, 0); break;
		case 'b': bus = strtol(optarg, NULL, 0); break;
		case 'u': uniq = optarg; break;
		case 'h': hold_ms = strtol(optarg, NULL, 0); break;
		default: return 2;
		}
	}
	if (!rdesc) {
		fprintf(stderr, "gw-uhid: --rdesc HEX (the HID report descriptor) is required\n");
		return 2;
	}

	/* Non-blocking only affects reads: uhid writes never block. */
	int fd = open("/dev/uhid", O_RDWR | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		die("open /dev/uhid");
	memset(&ev, 0, sizeof(ev));
	ev.type = UHID_CREATE2;
	snprintf((char *)ev.u.create2.name, sizeof(ev.u.create2.name), "%s", name);
	snprintf((char *)ev.u.create2.phys, sizeof(ev.u.create2.phys), "gw-uhid/%d", (int)getpid());
	snprintf((char *)ev.u.create2.uniq, sizeof(ev.u.create2.uniq), "%s", uniq);
	len = unhex(rdesc, ev.u.create2.rd_data, sizeof(ev.u.create2.rd_data));
	if (len <= 0) {
		fprintf(stderr, "gw-uhid: --rdesc is not valid hex\n");
		return 2;
	}
	ev.u.create2.rd_size = (unsigned short)len;
	ev.u.create2.bus = (unsigned short)bus;
	ev.u.create2.vendor = (unsigned int)vid;
	ev.u.create2.product = (unsigned int)pid;
	ev.u.create2.version = 1;
	send_event(fd, &ev);
	printf("READY %d\n", (int)getpid());
	fflush(stdout);

	long sent = 0;
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);

	for (int i = optind; i < argc; i++) {
		const char *step = argv[i];

		if (!strncmp(step, "sleep:", 6)) {
			advance_and_wait(&deadline, strtol(step + 6, NULL, 0));
			continue;
		}
		memset(&ev, 0, sizeof(ev));
		ev.type = UHID_INPUT2;
		len = strncmp(step, "r:", 2) ? -1 :
		      unhex(step + 2, ev.u.input2.data, sizeof(ev.u.input2.data));
		if (len <= 0) {
			fprintf(stderr, "gw-uhid: bad step '%s' (r:HEX or sleep:MS)\n", step);
			return 2;
		}
		ev.u.input2.size = (unsigned short)len;
		send_event(fd, &ev);
		sent++;
	}
	advance_and_wait(&deadline, hold_ms);
	memset(&ev, 0, sizeof(ev));
	ev.type = UHID_DESTROY;
	send_event(fd, &ev);
	close(fd);
	printf("DONE %ld\n", sent);
	return 0;
}
