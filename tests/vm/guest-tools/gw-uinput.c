/*
 * gw-uinput - guest test tool: creates a uinput virtual input device (what remote-desktop tools
 * and software jigglers do on Linux), plays a list of input events with timing, keeps the device
 * for a while, then destroys it. Built static into the QEMU guest by tests/vm/build-initramfs.sh.
 *
 * usage: gw-uinput --kind keyboard|mouse_rel|mouse_abs [--name NAME] [--vid N] [--pid N]
 *                  [--bus N] [--hold MS] [STEP...]
 * STEP:  TYPE:CODE:VALUE  one input event; TYPE is key, rel, abs, btn (= key) or a number
 *        syn              EV_SYN/SYN_REPORT
 *        sleep:MS         pause
 * Prints "READY <sysname> <pid>" (e.g. "READY input7 123") once the device exists, then
 * "DONE <events written>" after the steps and the hold time.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/uinput.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "gw-uinput: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void xioctl(int fd, unsigned long req, long arg, const char *what)
{
	if (ioctl(fd, req, arg) < 0)
		die(what);
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

static int parse_type(const char *s)
{
	if (!strcmp(s, "key") || !strcmp(s, "btn"))
		return EV_KEY;
	if (!strcmp(s, "rel"))
		return EV_REL;
	if (!strcmp(s, "abs"))
		return EV_ABS;
	if (!strcmp(s, "syn"))
		return EV_SYN;
	return (int)strtol(s, NULL, 0);
}

static void setup_capabilities(int fd, const char *kind)
{
	if (!strcmp(kind, "keyboard")) {
		xioctl(fd, UI_SET_EVBIT, EV_KEY, "UI_SET_EVBIT");
		for (int k = KEY_ESC; k <= KEY_MICMUTE; k++)
			xioctl(fd, UI_SET_KEYBIT, k, "UI_SET_KEYBIT");
		return;
	}
	if (strcmp(kind, "mouse_rel") && strcmp(kind, "mouse_abs")) {
		fprintf(stderr, "gw-uinput: unknown --kind %s\n", kind);
		exit(2);
	}
	xioctl(fd, UI_SET_EVBIT, EV_KEY, "UI_SET_EVBIT");
	for (int b = BTN_LEFT; b <= BTN_MIDDLE; b++)
		xioctl(fd, UI_SET_KEYBIT, b, "UI_SET_KEYBIT");
	if (!strcmp(kind, "mouse_rel")) {
		xioctl(fd, UI_SET_EVBIT, EV_REL, "UI_SET_EVBIT");
		xioctl(fd, UI_SET_RELBIT, REL_X, "UI_SET_RELBIT");
		xioctl(fd, UI_SET_RELBIT, REL_Y, "UI_SET_RELBIT");
		xioctl(fd, UI_SET_RELBIT, REL_WHEEL, "UI_SET_RELBIT");
		return;
	}
	xioctl(fd, UI_SET_EVBIT, EV_ABS, "UI_SET_EVBIT");
	for (int axis = ABS_X; axis <= ABS_Y; axis++) {
		/* The same 0..32767 range IP-KVMs report for their absolute pointer. */
		struct uinput_abs_setup abs = { .code = axis, .absinfo = { .maximum = 32767 } };

		if (ioctl(fd, UI_ABS_SETUP, &abs) < 0)
			die("UI_ABS_SETUP");
	}
}

int main(int argc, char **argv)
{
	const char *kind = NULL, *name = "gw-uinput test device";
	long vid = 0x1234, pid = 0x5678, bus = BUS_VIRTUAL, hold_ms = 500;
	static const struct option opts[] = {
		{ "kind", required_argument, NULL, 'k' }, { "name", required_argument, NULL, 'n' },
		{ "vid", required_argument, NULL, 'v' },  { "pid", required_argument, NULL, 'p' },
		{ "bus", required_argument, NULL, 'b' },  { "hold", required_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': kind = optarg; break;
		case 'n': name = optarg; break;
		case 'v': vid = strtol(optarg, NULL, 0); break;
		case 'p': pid = strtol(optarg, NULL, 0); break;
		case 'b': bus = strtol(optarg, NULL, 0); break;
		case 'h': hold_ms = strtol(optarg, NULL, 0); break;
		default: return 2;
		}
	}
	if (!kind) {
		fprintf(stderr, "gw-uinput: --kind keyboard|mouse_rel|mouse_abs is required\n");
		return 2;
	}

	int fd = open("/dev/uinput", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		die("open /dev/uinput");
	setup_capabilities(fd, kind);

	struct uinput_setup setup = { .id = { .bustype = bus, .vendor = vid, .product = pid,
					      .version = 1 } };
	char sysname[64] = "";

	snprintf(setup.name, sizeof(setup.name), "%s", name);
	if (ioctl(fd, UI_DEV_SETUP, &setup) < 0)
		die("UI_DEV_SETUP");
	if (ioctl(fd, UI_DEV_CREATE) < 0)
		die("UI_DEV_CREATE");
	if (ioctl(fd, UI_GET_SYSNAME(sizeof(sysname)), sysname) < 0)
		die("UI_GET_SYSNAME");
	printf("READY %s %d\n", sysname, (int)getpid());
	fflush(stdout);

	long written = 0;
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);

	for (int i = optind; i < argc; i++) {
		const char *step = argv[i];
		struct input_event ev = { 0 };
		char type[16];

		if (!strncmp(step, "sleep:", 6)) {
			advance_and_wait(&deadline, strtol(step + 6, NULL, 0));
			continue;
		}
		if (!strcmp(step, "syn")) {
			ev.type = EV_SYN;
			ev.code = SYN_REPORT;
		} else if (sscanf(step, "%15[^:]:%hu:%d", type, &ev.code, &ev.value) == 3) {
			ev.type = parse_type(type);
		} else {
			fprintf(stderr, "gw-uinput: bad step '%s' (TYPE:CODE:VALUE, syn, sleep:MS)\n", step);
			return 2;
		}
		if (write(fd, &ev, sizeof(ev)) != sizeof(ev))
			die("write event");
		written++;
	}
	advance_and_wait(&deadline, hold_ms);
	ioctl(fd, UI_DEV_DESTROY);
	close(fd);
	printf("DONE %ld\n", written);
	return 0;
}
