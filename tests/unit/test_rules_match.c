/* Unit tests for rules_match.c, against the shipped rules and a few test-only rules. */
#include "detect/rules_load.h"
#include "detect/rules_match.h"
#include "rules_testdir.h"
#include "testing.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static struct gw_matcher *shipped;
static struct gw_match mt[GW_MATCH_MAX];
static size_t n_mt;

static bool has(const char *id)
{
	for (size_t i = 0; i < n_mt; i++)
		if (!strcmp(mt[i].rule->id, id))
			return true;
	return false;
}

static void dump(void)
{
	for (size_t i = 0; i < n_mt; i++)
		printf("#     matched %s (%s %s)\n", mt[i].rule->id, mt[i].why,
		       mt[i].value ? mt[i].value : "");
}

static size_t exec_match(const char *exe, const char *comm, const char *const *argv, size_t argc)
{
	struct gw_exec_input in = { .exe = exe, .comm = comm, .argv = argv, .argc = argc };

	n_mt = gw_match_exec(shipped, &in, mt, GW_MATCH_MAX);
	return n_mt;
}

static size_t flow_match(const char *addr, uint16_t port, uint8_t proto, uint8_t dir,
			 const char *name)
{
	struct gw_flow_input in = { .protocol = proto, .direction = dir, .remote_port = port,
				    .dns_name = name };

	if (addr && inet_pton(AF_INET, addr, in.remote_addr) == 1)
		in.family = AF_INET;
	else if (addr && inet_pton(AF_INET6, addr, in.remote_addr) == 1)
		in.family = AF_INET6;
	n_mt = gw_match_flow(shipped, &in, mt, GW_MATCH_MAX);
	return n_mt;
}

/* A flushed flow that sent `sent` bytes to `name`. */
static size_t sent_match(const char *name, uint64_t sent)
{
	struct gw_flow_input in = { .protocol = IPPROTO_TCP, .direction = GW_DIR_OUTBOUND,
				    .remote_port = 443, .dns_name = name, .has_bytes = true,
				    .bytes_sent = sent, .bytes_received = 1 << 20 };

	n_mt = gw_match_flow(shipped, &in, mt, GW_MATCH_MAX);
	return n_mt;
}

static size_t device_match(const struct gw_device_input *in)
{
	n_mt = gw_match_device(shipped, in, mt, GW_MATCH_MAX);
	return n_mt;
}

#define ARGC(a) (sizeof(a) / sizeof((a)[0]))

TEST(rmm_by_exec_name_and_argv)
{
	const char *anydesk[] = { "anydesk" };
	const char *tv_session[] = { "TeamViewer_Desktop", "--IPCport", "5939", "--Module", "1" };
	const char *tv_other[] = { "TeamViewer_Desktop", "--IPCport", "5939" };
	const char *rustdesk[] = { "rustdesk", "--service" };

	CHECK(exec_match("/usr/bin/anydesk", "anydesk", anydesk, 1) == 1);
	CHECK(has("GW-RMM-0101"));
	CHECK(exec_match("/tmp/x/rustdesk", "rustdesk", rustdesk, 2) == 1 && has("GW-RMM-0201"));
	exec_match("/opt/teamviewer/tv_bin/TeamViewer_Desktop", "TeamViewer_Desk", tv_session, 5);
	CHECK(has("GW-RMM-0301") && has("GW-RMM-0305"));
	exec_match("/opt/teamviewer/tv_bin/TeamViewer_Desktop", "TeamViewer_Desk", tv_other, 3);
	CHECK(has("GW-RMM-0301") && !has("GW-RMM-0305"));
	/* The session tokens anywhere else in argv (not contiguous) do not make a session. */
	{
		const char *split[] = { "TeamViewer_Desktop", "--IPCport", "x", "5939", "--Module", "1" };

		exec_match("/opt/tv/TeamViewer_Desktop", NULL, split, ARGC(split));
		CHECK(!has("GW-RMM-0305"));
	}
	/* exe unknown (exec of a deleted file, kernel thread): the 15-byte comm still matches */
	exec_match(NULL, "TeamViewer_Desk", tv_session, 5);
	CHECK(has("GW-RMM-0301") && has("GW-RMM-0305"));
	/* names are case-sensitive basenames, not substrings */
	CHECK(exec_match("/usr/bin/anydesk-helper", NULL, anydesk, 1) == 0);
	CHECK(exec_match("/usr/bin/AnyDesk2", NULL, anydesk, 1) == 0);
	/* path prefix of a LOLRMM Linux install dir */
	exec_match("/usr/local/mesh_services/meshagent/meshagent", NULL, NULL, 0);
	CHECK(has("GW-RMM-2301"));
	exec_match("/opt/nezha/agent/nezha-agent", NULL, NULL, 0);
	CHECK(has("GW-RMM-4001"));
}

TEST(vpn_astrill_layout)
{
	const char *autostart[] = { "/usr/local/Astrill/astrill", "/autostart" };
	const char *plain[] = { "/usr/local/Astrill/astrill" };

	exec_match("/usr/local/Astrill/astrill", "astrill", autostart, 2);
	CHECK(has("GW-VPN-0001") && has("GW-VPN-0002"));
	exec_match("/usr/local/Astrill/astrill", "astrill", plain, 1);
	CHECK(has("GW-VPN-0001") && !has("GW-VPN-0002"));
	/* component boundary: /usr/local/AstrillX is not under /usr/local/Astrill/ */
	CHECK(exec_match("/usr/local/AstrillX/tool", NULL, plain, 1) == 0);
	exec_match("/usr/local/Astrill/asproxy", NULL, NULL, 0);
	CHECK(has("GW-VPN-0001") && has("GW-VPN-0004"));
}

TEST(jigglers_by_argv)
{
	const char *jig[] = { "xdotool", "mousemove_relative", "--", "1", "1" };
	const char *back[] = { "xdotool", "mousemove_relative", "--", "-1", "-1" };
	const char *typing[] = { "xdotool", "type", "hello" };
	const char *kp[] = { "python3", "/home/u/keep-presence/src/keep-presence.py", "-s", "300" };

	exec_match("/usr/bin/xdotool", NULL, jig, ARGC(jig));
	CHECK(n_mt == 1 && has("GW-JIG-0001"));
	exec_match("/usr/bin/xdotool", NULL, back, ARGC(back));
	CHECK(n_mt == 1 && has("GW-JIG-0002"));
	CHECK(exec_match("/usr/bin/xdotool", NULL, typing, ARGC(typing)) == 0);
	exec_match("/usr/bin/python3.11", NULL, kp, ARGC(kp));
	CHECK(n_mt == 1 && has("GW-JIG-0004"));
}

TEST(benign_workstation_execs_match_nothing)
{
	static const char *const exes[] = {
		"/usr/bin/bash", "/usr/bin/cc", "/usr/bin/gcc-12", "/usr/bin/git", "/usr/bin/ssh",
		"/usr/bin/curl", "/usr/bin/apt-get", "/usr/lib/firefox-esr/firefox-esr",
		"/usr/bin/python3.11", "/usr/bin/make", "/usr/local/bin/node", "/usr/sbin/sshd",
	};
	const char *argv[] = { "x", "--help", "https://example.test/" };

	for (size_t i = 0; i < ARGC(exes); i++) {
		argv[0] = exes[i];
		if (exec_match(exes[i], NULL, argv, 3)) {
			printf("#   %s matched\n", exes[i]);
			dump();
			test_state.current_failed++;
		}
	}
}

TEST(dns_suffix_on_label_boundaries)
{
	CHECK(gw_dns_has_suffix("relay-1a2b3c4d.net.anydesk.com", "anydesk.com"));
	CHECK(gw_dns_has_suffix("anydesk.com", "anydesk.com"));
	CHECK(gw_dns_has_suffix("ANYDESK.COM.", "anydesk.com"));
	CHECK(!gw_dns_has_suffix("notanydesk.com", "anydesk.com"));
	CHECK(!gw_dns_has_suffix("anydesk.com.attacker.test", "anydesk.com"));

	flow_match("192.0.2.1", 443, IPPROTO_TCP, GW_DIR_OUTBOUND, "relay-1a2b3c4d.net.anydesk.com");
	CHECK(n_mt == 1 && has("GW-RMM-0102"));
	CHECK_STR(mt[0].value, "anydesk.com");
	flow_match("192.0.2.1", 443, IPPROTO_TCP, GW_DIR_OUTBOUND, "Boot.Net.AnyDesk.com.");
	CHECK(has("GW-RMM-0102"));
	CHECK(flow_match("192.0.2.1", 443, IPPROTO_TCP, GW_DIR_OUTBOUND,
			 "evilnet.anydesk.com.attacker.test") == 0);
	CHECK(flow_match("192.0.2.1", 443, IPPROTO_TCP, GW_DIR_OUTBOUND, "notanydesk.com") == 0);
	CHECK(flow_match("192.0.2.1", 443, IPPROTO_TCP, GW_DIR_OUTBOUND, "com") == 0);
	flow_match("192.0.2.1", 443, IPPROTO_TCP, GW_DIR_OUTBOUND, "remotedesktop-pa.googleapis.com");
	CHECK(has("GW-RMM-0402"));
	CHECK(flow_match("192.0.2.1", 443, IPPROTO_TCP, GW_DIR_OUTBOUND, "www.googleapis.com") == 0);
	flow_match("192.0.2.1", 443, IPPROTO_TCP, GW_DIR_OUTBOUND, "x1.relay.splashtop.com");
	CHECK(has("GW-RMM-0502") || has("GW-RMM-0602"));
	CHECK(flow_match("192.0.2.1", 443, IPPROTO_TCP, GW_DIR_OUTBOUND, "github.com") == 0);
	/* absurd inputs: too long, empty labels, only dots */
	{
		char big[600];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = 0;
		CHECK(flow_match(NULL, 0, IPPROTO_TCP, GW_DIR_OUTBOUND, big) == 0);
		CHECK(flow_match(NULL, 0, IPPROTO_TCP, GW_DIR_OUTBOUND, "...") == 0);
		CHECK(flow_match(NULL, 0, IPPROTO_TCP, GW_DIR_OUTBOUND, "anydesk..com") == 0);
	}
}

TEST(ports_protocol_and_direction)
{
	flow_match("192.0.2.7", 21117, IPPROTO_TCP, GW_DIR_OUTBOUND, NULL);
	CHECK(n_mt == 1 && has("GW-RMM-0204"));
	flow_match("192.0.2.7", 21115, IPPROTO_TCP, GW_DIR_OUTBOUND, NULL);
	CHECK(has("GW-RMM-0204"));
	flow_match("192.0.2.7", 21119, IPPROTO_TCP, GW_DIR_OUTBOUND, NULL);
	CHECK(has("GW-RMM-0204"));
	CHECK(flow_match("192.0.2.7", 21120, IPPROTO_TCP, GW_DIR_OUTBOUND, NULL) == 0);
	CHECK(flow_match("192.0.2.7", 21114, IPPROTO_TCP, GW_DIR_OUTBOUND, NULL) == 0);
	CHECK(flow_match("192.0.2.7", 21117, IPPROTO_UDP, GW_DIR_OUTBOUND, NULL) == 0);
	flow_match("192.0.2.7", 21116, IPPROTO_UDP, GW_DIR_OUTBOUND, NULL);
	CHECK(n_mt == 1 && has("GW-RMM-0214"));
	CHECK(flow_match("192.0.2.7", 21117, IPPROTO_TCP, GW_DIR_INBOUND, NULL) == 0);
	flow_match("192.0.2.7", 5938, IPPROTO_TCP, GW_DIR_OUTBOUND, NULL);
	CHECK(has("GW-RMM-0304"));
	flow_match("192.0.2.7", 5938, IPPROTO_UDP, GW_DIR_OUTBOUND, NULL);
	CHECK(has("GW-RMM-0314"));
	CHECK(flow_match("192.0.2.7", 443, IPPROTO_TCP, GW_DIR_OUTBOUND, NULL) == 0);
	CHECK(flow_match("192.0.2.7", 22, IPPROTO_TCP, GW_DIR_OUTBOUND, NULL) == 0);
}

TEST(cidr_v4_v6_and_mapped)
{
	char *dir = make_temp_dir();
	struct gw_rules_dir d[] = { { dir, false, false } };
	struct gw_ruleset *rs;
	struct gw_matcher *m, *keep = shipped;
	char err[512];

	flow_match("142.214.202.2", 443, IPPROTO_TCP, GW_DIR_OUTBOUND, NULL);
	CHECK(has("GW-VPN-0006"));
	flow_match("142.214.202.2", 443, IPPROTO_TCP, GW_DIR_INBOUND, NULL); /* direction: any */
	CHECK(has("GW-VPN-0006"));
	CHECK(flow_match("142.214.202.3", 443, IPPROTO_TCP, GW_DIR_OUTBOUND, NULL) == 0);
	flow_match("::ffff:142.214.202.2", 443, IPPROTO_TCP, GW_DIR_OUTBOUND, NULL);
	CHECK(has("GW-VPN-0006"));
	CHECK(flow_match("::142.214.202.2", 443, IPPROTO_TCP, GW_DIR_OUTBOUND, NULL) == 0);

	write_file(dir, "cidr.yaml",
		   "version: 1\nrules:\n"
		   "  - {id: C4, title: v4, category: vpn, severity: low, technique: T1090,"
		   " confidence: low, sources: [t], match: {flow: {cidrs: [198.51.100.77/24]}}}\n"
		   "  - {id: C6, title: v6, category: vpn, severity: low, technique: T1090,"
		   " confidence: low, sources: [t], match: {flow: {cidrs: [\"2001:db8::/32\"],"
		   " ports: [443, \"8000-8080\"]}}}\n"
		   "  - {id: C6B, title: v6 host, category: vpn, severity: low, technique: T1090,"
		   " confidence: low, sources: [t], match: {flow: {cidrs: [\"2001:db8:0:1::9\"]}}}\n"
		   "  - {id: ALL, title: any v4, category: vpn, severity: low, technique: T1090,"
		   " confidence: low, sources: [t], match: {flow: {cidrs: [0.0.0.0/0], protocols: [udp]}}}\n");
	REQUIRE(gw_rules_load(d, 1, &rs, err, sizeof(err)) == 0);
	m = gw_matcher_build(rs);
	REQUIRE(m);
	shipped = m;
	flow_match("198.51.100.1", 80, IPPROTO_TCP, GW_DIR_OUTBOUND, NULL); /* host bits masked */
	CHECK(n_mt == 1 && has("C4"));
	CHECK(flow_match("198.51.101.1", 80, IPPROTO_TCP, GW_DIR_OUTBOUND, NULL) == 0);
	flow_match("2001:db8:ffff::1", 443, IPPROTO_TCP, GW_DIR_OUTBOUND, NULL);
	CHECK(n_mt == 1 && has("C6"));
	flow_match("2001:db8:ffff::1", 8080, IPPROTO_TCP, GW_DIR_OUTBOUND, NULL);
	CHECK(has("C6"));
	CHECK(flow_match("2001:db8:ffff::1", 22, IPPROTO_TCP, GW_DIR_OUTBOUND, NULL) == 0);
	CHECK(flow_match("2001:db9::1", 443, IPPROTO_TCP, GW_DIR_OUTBOUND, NULL) == 0);
	flow_match("2001:db8:0:1::9", 443, IPPROTO_TCP, GW_DIR_OUTBOUND, NULL);
	CHECK(n_mt == 2 && has("C6") && has("C6B"));
	CHECK(flow_match("2001:db8:0:1::8", 22, IPPROTO_TCP, GW_DIR_OUTBOUND, NULL) == 0);
	flow_match("203.0.113.5", 53, IPPROTO_UDP, GW_DIR_OUTBOUND, NULL);
	CHECK(n_mt == 1 && has("ALL"));
	CHECK(flow_match("203.0.113.5", 53, IPPROTO_TCP, GW_DIR_OUTBOUND, NULL) == 0);
	shipped = keep;
	gw_matcher_free(m);
	remove_temp_dir(dir);
}

/* What the device module would report for PiKVM's default gadget. */
static struct gw_device_input kvm_gadget(void)
{
	return (struct gw_device_input){
		.kind = GW_DEVICE_USB, .has_ids = true, .vid = 0x1d6b, .pid = 0x0104,
		.manufacturer = "PiKVM", .product = "PiKVM Composite Device", .serial = "CAFEBABE",
		.interfaces = GW_DEV_IF_HID_KEYBOARD | GW_DEV_IF_HID_MOUSE | GW_DEV_IF_MASS_STORAGE,
		.n_interfaces = 3, .has_boot_keyboard = true, .has_absolute_pointer = true,
		.absolute_max = 32767,
	};
}

TEST(ipkvm_identity_and_structure)
{
	struct gw_device_input d = kvm_gadget();

	device_match(&d);
	CHECK(has("GW-KVM-0001") && has("GW-KVM-0011") && has("GW-KVM-0012") && has("GW-KVM-0013") &&
	      has("GW-KVM-0014"));

	/* 1d6b:0104 alone: any Linux gadget (a Pi in gadget mode, a serial console) -> nothing */
	d = (struct gw_device_input){ .kind = GW_DEVICE_USB, .has_ids = true, .vid = 0x1d6b,
				      .pid = 0x0104, .manufacturer = "Linux 6.1 with dwc2",
				      .product = "Multifunction Composite Gadget", .serial = "0001",
				      .interfaces = GW_DEV_IF_NET, .n_interfaces = 2 };
	if (device_match(&d))
		dump();
	CHECK(n_mt == 0);

	/* PiKVM strings on a cloned id: still PiKVM */
	d = kvm_gadget();
	d.vid = 0x046d;
	d.pid = 0xc52b;
	d.serial = "X";
	device_match(&d);
	CHECK(has("GW-KVM-0001") && !has("GW-KVM-0012"));

	/* Structure alone, with neutral strings: composite boot keyboard + absolute 0..32767 */
	d = kvm_gadget();
	d.manufacturer = "Generic";
	d.product = "USB Device";
	d.serial = NULL;
	d.interfaces = GW_DEV_IF_HID_KEYBOARD | GW_DEV_IF_HID_MOUSE;
	d.n_interfaces = 2;
	device_match(&d);
	CHECK(has("GW-KVM-0012") && has("GW-KVM-0013") && !has("GW-KVM-0014") &&
	      !has("GW-KVM-0001"));
	/* ... a small absolute range (a touchpad-like device) is not the KVM tell */
	d.absolute_max = 4095;
	device_match(&d);
	CHECK(!has("GW-KVM-0012") && !has("GW-KVM-0013"));

	/* other identities */
	d = (struct gw_device_input){ .kind = GW_DEVICE_USB, .has_ids = true, .vid = 0x3346,
				      .pid = 0x1009, .manufacturer = "sipeed", .product = "NanoKVM" };
	device_match(&d);
	CHECK(has("GW-KVM-0005") && has("GW-KVM-0006"));
	d = (struct gw_device_input){ .kind = GW_DEVICE_USB, .has_ids = true, .vid = 0x1d6b,
				      .pid = 0x0104, .manufacturer = "tinypilot",
				      .product = "Multifunction USB Device",
				      .serial = "6b65796d696d6570690" };
	device_match(&d);
	CHECK(has("GW-KVM-0003") && has("GW-KVM-0010"));
	d = (struct gw_device_input){ .kind = GW_DEVICE_USB, .has_ids = true, .vid = 0x0624,
				      .pid = 0x0249 };
	device_match(&d);
	CHECK(n_mt == 1 && has("GW-KVM-0021"));
}

TEST(qemu_input_devices_raise_nothing)
{
	/* QEMU's usb-kbd, usb-mouse, usb-tablet are all 0627:0001, one HID interface each. */
	struct gw_device_input kbd = { .kind = GW_DEVICE_USB, .has_ids = true, .vid = 0x0627,
				       .pid = 0x0001, .manufacturer = "QEMU",
				       .product = "QEMU USB Keyboard", .serial = "68284-0000:00:04.0-1",
				       .interfaces = GW_DEV_IF_HID_KEYBOARD, .n_interfaces = 1,
				       .has_boot_keyboard = true };
	struct gw_device_input mouse = kbd, tablet = kbd;

	mouse.product = "QEMU USB Mouse";
	mouse.interfaces = GW_DEV_IF_HID_MOUSE;
	mouse.has_boot_keyboard = false;
	tablet.product = "QEMU USB Tablet";
	tablet.interfaces = GW_DEV_IF_HID_MOUSE;
	tablet.has_boot_keyboard = false;
	tablet.has_absolute_pointer = true; /* the tablet *is* absolute 0..32767 */
	tablet.absolute_max = 32767;
	CHECK(device_match(&kbd) == 0);
	CHECK(device_match(&mouse) == 0);
	CHECK(device_match(&tablet) == 0);
}

TEST(edid_monitors)
{
	struct gw_device_input mon = { .kind = GW_DEVICE_MONITOR, .edid_monitor_name = "PiKVM V3",
				       .edid_mfg = "LNX", .edid_product_code = 0x7771 };

	device_match(&mon);
	CHECK(n_mt == 2 && has("GW-KVM-0016") && has("GW-KVM-0018"));
	mon.edid_monitor_name = "DELL U2720Q";
	mon.edid_mfg = "DEL";
	mon.edid_product_code = 0xa0ec;
	CHECK(device_match(&mon) == 0);
	mon.edid_monitor_name = "T749-fHD720";
	mon.edid_mfg = "TSB";
	mon.edid_product_code = 0x8801;
	device_match(&mon);
	CHECK(has("GW-KVM-0017") && has("GW-KVM-0018"));
	/* a USB device named like a monitor is not a monitor */
	mon.kind = GW_DEVICE_USB;
	mon.product = "PiKVM V3";
	CHECK(device_match(&mon) == 0);
}

TEST(netif_names)
{
	struct gw_netif_input in = { "tun0" };

	n_mt = gw_match_netif(shipped, &in, mt, GW_MATCH_MAX);
	CHECK(n_mt == 1 && has("GW-VPN-0007"));
	in.name = "wt0";
	n_mt = gw_match_netif(shipped, &in, mt, GW_MATCH_MAX);
	CHECK(n_mt == 1 && has("GW-RMM-1707"));
	in.name = "eth0";
	CHECK(gw_match_netif(shipped, &in, mt, GW_MATCH_MAX) == 0);
	in.name = "tun01";
	CHECK(gw_match_netif(shipped, &in, mt, GW_MATCH_MAX) == 0);
}

TEST(disabled_rules_do_not_match)
{
	struct gw_ruleset *rs = gw_ruleset_new();
	struct gw_matcher *m, *keep = shipped;
	char err[256];
	static const char text[] =
		"version: 1\nrules:\n"
		"  - {id: A, title: a, category: rmm, severity: low, technique: T1219,"
		" confidence: low, sources: [t], enabled: false, match: {exec: {names: [anydesk]}}}\n";
	const char *argv[] = { "anydesk" };

	REQUIRE(gw_rules_parse_buffer(rs, "t.yaml", text, sizeof(text) - 1, false, err,
				      sizeof(err)) == 0);
	m = gw_matcher_build(rs);
	REQUIRE(m);
	shipped = m;
	CHECK(exec_match("/usr/bin/anydesk", NULL, argv, 1) == 0);
	shipped = keep;
	gw_matcher_free(m);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Not a pass/fail gate: prints the cost so regressions are visible in the log. For the optimised
 * figure in rules/README.md: gcc -O2 -std=gnu11 -D_GNU_SOURCE -Iagent -Itests/unit
 * tests/unit/test_rules_match.c agent/rules_load.c agent/rules_match.c -lyaml -o /tmp/m && /tmp/m
 */
TEST(match_cost_is_reported)
{
	const char *argv[] = { "/usr/bin/gcc", "-O2", "-c", "x.c", "-o", "x.o" };
	struct gw_exec_input ex = { .exe = "/usr/bin/gcc", .argv = argv, .argc = 6,
				    .parent_exe = "/usr/bin/make" };
	struct gw_flow_input fl = { .protocol = IPPROTO_TCP, .family = AF_INET,
				    .direction = GW_DIR_OUTBOUND, .remote_port = 443,
				    .dns_name = "deb.debian.org" };
	const int iters = 200000;
	size_t sink = 0;
	double t0, t1, t2;

	t0 = now_s();
	for (int i = 0; i < iters; i++)
		sink += gw_match_exec(shipped, &ex, mt, GW_MATCH_MAX);
	t1 = now_s();
	for (int i = 0; i < iters; i++)
		sink += gw_match_flow(shipped, &fl, mt, GW_MATCH_MAX);
	t2 = now_s();
#ifdef __SANITIZE_ADDRESS__
	const char *build = "ASan build";
#else
	const char *build = "optimised build";
#endif
	printf("# (%s) exec miss %.0f ns/event, flow miss %.0f ns/event over %zu rules\n", build,
	       (t1 - t0) / iters * 1e9, (t2 - t1) / iters * 1e9, gw_matcher_ruleset(shipped)->n);
	CHECK(sink == 0);
}

TEST(uploads_match_only_above_min_bytes_sent)
{
	/* a connection as it opens carries no bytes: upload rules wait for its flow */
	CHECK(flow_match("192.0.2.1", 443, IPPROTO_TCP, GW_DIR_OUTBOUND, "transfer.sh") == 0);
	CHECK(sent_match("transfer.sh", 2 << 20) == 1);
	CHECK_STR(mt[0].rule->id, "GW-EXFIL-0006");
	CHECK(sent_match("content.dropboxapi.com", 1 << 20) == 1);
	CHECK_STR(mt[0].rule->id, "GW-EXFIL-0001");
	CHECK(sent_match("transfer.sh", 4096) == 0);	     /* a download's request */
	CHECK(sent_match("pastebin.com", 100000) == 1);	     /* pastes are small */
	CHECK(sent_match("www.googleapis.com", 50 << 20) == 0); /* shared with all of Google */
	/* connection rules do not match the flows the connection adds up to */
	CHECK(sent_match("relay-1a2b3c4d.net.anydesk.com", 50 << 20) == 0);
}

int main(void)
{
	struct gw_rules_dir d[] = { { shipped_rules_dir(), false, false } };
	struct gw_ruleset *rs;
	char err[512];

	if (gw_rules_load(d, 1, &rs, err, sizeof(err))) {
		printf("Bail out! %s\n", err);
		return 1;
	}
	shipped = gw_matcher_build(rs);
	RUN(rmm_by_exec_name_and_argv);
	RUN(vpn_astrill_layout);
	RUN(jigglers_by_argv);
	RUN(benign_workstation_execs_match_nothing);
	RUN(dns_suffix_on_label_boundaries);
	RUN(ports_protocol_and_direction);
	RUN(cidr_v4_v6_and_mapped);
	RUN(ipkvm_identity_and_structure);
	RUN(qemu_input_devices_raise_nothing);
	RUN(edid_monitors);
	RUN(netif_names);
	RUN(disabled_rules_do_not_match);
	RUN(match_cost_is_reported);
	RUN(uploads_match_only_above_min_bytes_sent);
	gw_matcher_free(shipped);
	return test_summary();
}
