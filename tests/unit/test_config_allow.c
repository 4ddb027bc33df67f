/* Unit tests for the config's detections.allow list (core/config_allow.c) and the detect side's
 * copy and match (detect/allow_list.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "detect/allow_list.h"
#include "testing.h"

static char err[GW_CONFIG_ERR_LEN];

static struct gw_config *parse(const char *text)
{
	return gw_config_parse("t.yaml", text, strlen(text), err, sizeof(err));
}

static int rejected_at(const char *text, int line, const char *needle)
{
	struct gw_config *cfg = parse(text);
	char prefix[32];

	if (cfg) {
		gw_config_free(cfg);
		printf("#   accepted: %s\n", text);
		return 0;
	}
	snprintf(prefix, sizeof(prefix), "t.yaml:%d: ", line);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, needle)) {
		printf("#   wanted \"%s...%s\", got \"%s\"\n", prefix, needle, err);
		return 0;
	}
	return 1;
}

TEST(allow_list_parsed)
{
	struct gw_config *cfg = parse("detections:\n"
				      "  allow:\n"
				      "    - {rule: GW-NETIF-TUNNEL, interface: corp0}\n"
				      "    - rule: GW-VPN-0007\n"
				      "      process: /opt/company-vpn/bin/vpnd\n"
				      "    - {rule: GW-NETIF-TUNNEL, process: /usr/sbin/openvpn, "
				      "interface: tun9}\n");

	REQUIRE(cfg);
	REQUIRE(cfg->n_detections_allow == 3);
	CHECK_STR(cfg->detections_allow[0].rule, "GW-NETIF-TUNNEL");
	CHECK_STR(cfg->detections_allow[0].interface, "corp0");
	CHECK(cfg->detections_allow[0].process == NULL);
	CHECK_STR(cfg->detections_allow[1].process, "/opt/company-vpn/bin/vpnd");
	CHECK(cfg->detections_allow[1].interface == NULL);
	CHECK_STR(cfg->detections_allow[2].interface, "tun9");
	gw_config_free(cfg);

	cfg = parse("detections:\n  allow: []\n");
	REQUIRE(cfg);
	CHECK(cfg->n_detections_allow == 0);
	gw_config_free(cfg);
	cfg = parse("");
	REQUIRE(cfg);
	CHECK(cfg->n_detections_allow == 0);
	gw_config_free(cfg);
}

TEST(allow_list_errors_at_their_line)
{
	CHECK(rejected_at("detections:\n  allow: corp0\n", 2, "expected a list of mappings"));
	CHECK(rejected_at("detections:\n  allow:\n    - corp0\n", 3, "must be a mapping"));
	CHECK(rejected_at("detections:\n  allow:\n    - {interface: corp0}\n", 3, "needs a rule"));
	CHECK(rejected_at("detections:\n  allow:\n    - {rule: GW-NETIF-TUNNEL}\n", 3,
			  "needs a process or an interface"));
	CHECK(rejected_at("detections:\n  allow:\n    - rule: GW-NETIF-TUNNEL\n"
			  "      ifname: corp0\n", 4, "unknown key \"ifname\""));
	CHECK(rejected_at("detections:\n  allow:\n    - rule: GW-NETIF-TUNNEL\n"
			  "      process: vpnd\n", 4, "must be an absolute path"));
	CHECK(rejected_at("detections:\n  allow:\n    - rule: GW-NETIF-TUNNEL\n"
			  "      interface: a-name-far-too-long\n", 4, "not an interface name"));
	CHECK(rejected_at("detections:\n  allow:\n    - rule: GW NETIF\n"
			  "      interface: corp0\n", 3, "not a rule id"));
	CHECK(rejected_at("detections:\n  allow:\n    - rule: GW-NETIF-TUNNEL\n"
			  "      interface: corp0\n      interface: corp1\n", 5, "duplicate key"));
	CHECK(rejected_at("detections:\n  allow:\n    - rule: GW-NETIF-TUNNEL\n"
			  "      interface: [corp0]\n", 4, "expected a scalar"));
	CHECK(rejected_at("detections:\n  deny: []\n", 2, "unknown key \"detections.deny\""));
}

TEST(allow_list_matches_every_field_given)
{
	struct gw_config *cfg = parse("detections:\n"
				      "  allow:\n"
				      "    - {rule: GW-NETIF-TUNNEL, interface: corp0}\n"
				      "    - {rule: GW-VPN-0007, process: /opt/company-vpn/bin/vpnd}\n"
				      "    - {rule: GW-VPN-0009, process: /usr/sbin/openvpn, "
				      "interface: tun9}\n");
	struct gw_allow_list l = { 0 };

	REQUIRE(cfg);
	REQUIRE(allow_list_set(&l, cfg->detections_allow, cfg->n_detections_allow) == 0);
	gw_config_free(cfg);
	CHECK(allow_list_has_rule(&l, "GW-NETIF-TUNNEL") && !allow_list_has_rule(&l, "GW-X"));
	CHECK(allow_list_allows(&l, "GW-NETIF-TUNNEL", "corp0", "/usr/bin/ip"));
	CHECK(allow_list_allows(&l, "GW-NETIF-TUNNEL", "corp0", NULL));
	CHECK(!allow_list_allows(&l, "GW-NETIF-TUNNEL", "corp1", NULL));
	CHECK(!allow_list_allows(&l, "GW-NETIF-TUNNEL", NULL, NULL));
	CHECK(allow_list_allows(&l, "GW-VPN-0007", "tun0", "/opt/company-vpn/bin/vpnd"));
	CHECK(!allow_list_allows(&l, "GW-VPN-0007", "tun0", "/tmp/vpnd"));
	CHECK(!allow_list_allows(&l, "GW-VPN-0007", "tun0", NULL));
	CHECK(allow_list_allows(&l, "GW-VPN-0009", "tun9", "/usr/sbin/openvpn"));
	CHECK(!allow_list_allows(&l, "GW-VPN-0009", "tun8", "/usr/sbin/openvpn"));
	CHECK(!allow_list_allows(&l, "GW-VPN-0009", "tun9", "/usr/bin/openvpn"));
	CHECK(!allow_list_allows(&l, "GW-NETIF-TUNNEL-2", "corp0", NULL));
	allow_list_free(&l);
	CHECK(!allow_list_allows(&l, "GW-NETIF-TUNNEL", "corp0", NULL));
}

int main(void)
{
	RUN(allow_list_parsed);
	RUN(allow_list_errors_at_their_line);
	RUN(allow_list_matches_every_field_given);
	return test_summary();
}
