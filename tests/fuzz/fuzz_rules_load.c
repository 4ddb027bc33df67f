// fuzz: agent/detect/rules_load.c agent/detect/rules_yaml.c agent/detect/rules_parse.c agent/detect/rules_match.c agent/detect/rules_matcher.c common/yaml_doc.c
/*
 * fuzz_rules_load.c - rule files are input a user (or an attacker with write access to rules.d)
 * controls: the loader must reject anything malformed with a message and never crash or leak, and
 * whatever it accepts must compile into a matcher that answers lookups.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "detect/rules_load.h"
#include "detect/rules_match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_ruleset *rs = gw_ruleset_new();
	struct gw_matcher *m;
	struct gw_match mt[GW_MATCH_MAX];
	char err[512];
	const char *argv[] = { "anydesk", "--IPCport", "5939", "--Module", "1" };
	struct gw_exec_input ex = { .exe = "/usr/local/Astrill/astrill", .comm = "astrill",
				    .argv = argv, .argc = 5, .parent_exe = "/usr/bin/bash" };
	struct gw_flow_input fl = { .protocol = IPPROTO_TCP, .family = AF_INET6,
				    .direction = GW_DIR_OUTBOUND, .remote_port = 21116,
				    .dns_name = "relay-1.net.anydesk.com" };
	struct gw_device_input dev = { .kind = GW_DEVICE_USB, .has_ids = true, .vid = 0x1d6b,
				       .pid = 0x0104, .manufacturer = "PiKVM",
				       .product = "PiKVM Composite Device", .n_interfaces = 3,
				       .has_boot_keyboard = true, .has_absolute_pointer = true,
				       .absolute_max = 32767, .interfaces = GW_DEV_IF_MASS_STORAGE };
	struct gw_device_input mon = { .kind = GW_DEVICE_MONITOR, .edid_monitor_name = "PiKVM",
				       .edid_mfg = "LNX", .edid_product_code = 0x7770 };
	struct gw_netif_input ni = { "tun0" };

	if (!rs)
		return 0;
	if (gw_rules_parse_buffer(rs, "fuzz.yaml", (const char *)data, size, false, err,
				  sizeof(err))) {
		/* every rejection names the file and a line */
		if (strncmp(err, "fuzz.yaml:", 10) != 0)
			__builtin_trap();
		gw_ruleset_free(rs);
		return 0;
	}
	m = gw_matcher_build(rs);
	if (!m)
		return 0;
	memcpy(fl.remote_addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x8e\xd6\xca\x02", 16);
	gw_match_exec(m, &ex, mt, GW_MATCH_MAX);
	gw_match_flow(m, &fl, mt, GW_MATCH_MAX);
	gw_match_device(m, &dev, mt, GW_MATCH_MAX);
	gw_match_device(m, &mon, mt, GW_MATCH_MAX);
	gw_match_netif(m, &ni, mt, GW_MATCH_MAX);
	gw_matcher_free(m);
	return 0;
}
