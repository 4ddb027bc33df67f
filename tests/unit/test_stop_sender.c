/* Unit tests of the stop signal's sender: read from a fake /proc, classified, described. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/stop_sender.h"
#include "testing.h"

static char root[64];

/* /proc/<pid>/stat and exe of one fake process. */
static void fake_process(unsigned pid, const char *comm, unsigned ppid, const char *exe)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%u", root, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%u/stat", root, pid);
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "%u (%s) S %u 1 1 0 -1 4194560 0 0 0 0\n", pid, comm, ppid);
		fclose(f);
	}
	if (exe) {
		snprintf(path, sizeof(path), "%s/%u/exe", root, pid);
		if (symlink(exe, path))
			perror(path);
	}
}

static struct gw_stop_sender capture(unsigned pid, unsigned uid)
{
	struct signalfd_siginfo si = { .ssi_signo = SIGTERM, .ssi_pid = pid, .ssi_uid = uid };
	struct gw_stop_sender s = { 0 };

	stop_sender_capture(&s, &si, root);
	return s;
}

TEST(a_shell_is_a_stop_by_hand_with_its_parents)
{
	struct gw_stop_sender s = capture(300, 1000);
	char line[512];

	CHECK(s.origin == GW_STOP_OTHER);
	CHECK_STR(s.comm, "bash");
	CHECK_STR(s.exe, "/usr/bin/bash");
	CHECK_STR(s.chain, "sshd) x<sshd<systemd");
	stop_sender_describe(&s, line, sizeof(line));
	CHECK_STR(line, "SIGTERM from pid 300 uid 1000 (bash /usr/bin/bash; parents "
			"sshd) x<sshd<systemd)");
}

TEST(pid_1_is_the_service_manager)
{
	CHECK(capture(1, 0).origin == GW_STOP_MANAGER);
}

TEST(a_script_under_dpkg_is_a_package_run)
{
	struct gw_stop_sender s = capture(402, 0);

	CHECK(s.origin == GW_STOP_PACKAGE);
	CHECK_STR(s.via, "dpkg");
}

TEST(a_renamed_command_does_not_pass_for_dpkg_when_its_executable_is_known)
{
	/* comm "dpkg" but exe /usr/bin/python3: dpkg is no Python program */
	CHECK(capture(500, 0).origin == GW_STOP_OTHER);
}

TEST(dnf_is_known_by_its_command_under_python)
{
	struct gw_stop_sender s = capture(600, 0);

	CHECK(s.origin == GW_STOP_PACKAGE);
	CHECK_STR(s.via, "dnf");
}

TEST(a_gone_sender_is_still_reported_by_pid_and_uid)
{
	struct gw_stop_sender s = capture(999, 1001);
	char line[256];

	CHECK(s.origin == GW_STOP_OTHER);
	stop_sender_describe(&s, line, sizeof(line));
	CHECK_STR(line, "SIGTERM from pid 999 uid 1001 (gone -; parents -)");
}

TEST(the_first_stop_is_kept)
{
	struct signalfd_siginfo first = { .ssi_signo = SIGTERM, .ssi_pid = 300, .ssi_uid = 1000 };
	struct signalfd_siginfo second = { .ssi_signo = SIGINT, .ssi_pid = 1 };
	struct gw_stop_sender s = { 0 };

	stop_sender_capture(&s, &first, root);
	stop_sender_capture(&s, &second, root);
	CHECK(s.origin == GW_STOP_OTHER && s.pid == 300 && s.signo == SIGTERM);
}

int main(void)
{
	char cmd[128];

	snprintf(root, sizeof(root), "/tmp/gw-stop-sender-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	fake_process(1, "systemd", 0, "/usr/lib/systemd/systemd");
	fake_process(100, "sshd", 1, "/usr/sbin/sshd");
	fake_process(200, "sshd) x", 100, "/usr/sbin/sshd"); /* a hostile comm */
	fake_process(300, "bash", 200, "/usr/bin/bash");
	fake_process(400, "dpkg", 1, "/usr/bin/dpkg");
	fake_process(401, "sh", 400, "/usr/bin/dash");
	fake_process(402, "systemctl", 401, "/usr/bin/systemctl");
	fake_process(500, "dpkg", 1, "/usr/bin/python3");
	fake_process(600, "dnf", 1, "/usr/bin/python3.11");
	RUN(a_shell_is_a_stop_by_hand_with_its_parents);
	RUN(pid_1_is_the_service_manager);
	RUN(a_script_under_dpkg_is_a_package_run);
	RUN(a_renamed_command_does_not_pass_for_dpkg_when_its_executable_is_known);
	RUN(dnf_is_known_by_its_command_under_python);
	RUN(a_gone_sender_is_still_reported_by_pid_and_uid);
	RUN(the_first_stop_is_kept);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd))
		return 1;
	return test_summary();
}
