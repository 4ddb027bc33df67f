/* Unit tests of the place domain's pure parts: the IEEE registry index, keyed MAC hashes, the
 * settings parsers, the IP-KVM indicator file, nl80211 and mDNS parsers on constructed messages,
 * and the compact Place in a batch header. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/nl80211.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fleet/batch.h"
#include "place/place_ipkvm.h"
#include "place/place_key.h"
#include "place/place_mdns.h"
#include "place/place_net.h"
#include "place/place_oui.h"
#include "place/place_settings.h"
#include "place/place_wifi.h"
#include "testing.h"

TEST(oui_registry_longest_prefix)
{
	char err[256], prefix[PLACE_OUI_TEXT_LEN];
	struct place_oui *o = place_oui_load(PLACE_OUI_DIR, err, sizeof(err));
	const uint8_t pi[6] = { 0xb8, 0x27, 0xeb, 1, 2, 3 };
	const uint8_t mas[6] = { 0x70, 0xb3, 0xd5, 0xf2, 0xf0, 1 };
	const uint8_t local[6] = { 0x02, 0xfc, 0, 1, 2, 3 };

	REQUIRE(o);
	CHECK(place_oui_count(o) > 30000);
	CHECK_STR(place_oui_vendor(o, pi, prefix), "Raspberry Pi Foundation");
	CHECK_STR(prefix, "B8:27:EB");
	CHECK_STR(place_oui_vendor(o, mas, prefix), "TELEPLATFORMS");
	CHECK_STR(prefix, "70:B3:D5:F2:F");
	CHECK(place_oui_vendor(o, local, prefix) == NULL);
	CHECK_STR(prefix, "02:FC:00");
	place_oui_free(o);
	CHECK(place_oui_load("/nonexistent", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "oui.csv") != NULL);
}

TEST(oui_prefix_parse)
{
	uint64_t v;
	unsigned bits;
	const uint8_t mac[6] = { 0xb8, 0x27, 0xeb, 0x12, 0x34, 0x56 };

	CHECK(place_oui_parse_prefix("B8:27:EB", &v, &bits) == 0 && bits == 24 && v == 0xb827eb);
	CHECK(place_oui_parse_prefix("70B3D5F2F", &v, &bits) == 0 && bits == 36);
	CHECK(place_oui_parse_prefix("B8:27", &v, &bits) == -1);
	CHECK(place_oui_parse_prefix("B8:27:EG", &v, &bits) == -1);
	CHECK(place_oui_parse_prefix("B8:27:EB:12:34:56", &v, &bits) == -1);
	REQUIRE(place_oui_parse_prefix("b827eb", &v, &bits) == 0);
	CHECK(place_oui_prefix_matches(v, bits, mac));
	REQUIRE(place_oui_parse_prefix("B8:27:EC", &v, &bits) == 0);
	CHECK(!place_oui_prefix_matches(v, bits, mac));
}

TEST(key_and_hash)
{
	char path[] = "/tmp/gw-place-key-XXXXXX", err[256], h[PLACE_HASH_LEN];
	const uint8_t mac[6] = { 0xb8, 0x27, 0xeb, 0x12, 0x34, 0x56 };
	struct place_key key;
	int fd = mkstemp(path);

	REQUIRE(fd >= 0);
	REQUIRE(write(fd, "short\n", 6) == 6);
	CHECK(place_key_load(&key, path, err, sizeof(err)) == -1 && key.len == 0);
	CHECK(strstr(err, "16 to 256 bytes") != NULL);
	REQUIRE(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
	REQUIRE(write(fd, "0123456789abcdef-fleet\n", 23) == 23);
	close(fd);
	chmod(path, 0644);
	CHECK(place_key_load(&key, path, err, sizeof(err)) == -1);
	CHECK(strstr(err, "readable or writable by others") != NULL);
	chmod(path, 0600);
	REQUIRE(place_key_load(&key, path, err, sizeof(err)) == 0);
	CHECK(key.len == 22);
	place_key_hash(&key, mac, 6, h);
	/* python3: hmac.new(b'0123456789abcdef-fleet', mac, sha256).hexdigest()[:16] */
	CHECK_STR(h, "36f38a5ac98e7fdf");
	key.len = 0;
	place_key_hash(&key, mac, 6, h);
	CHECK_STR(h, "");
	unlink(path);
}

TEST(settings_parsers)
{
	static const char *const locale_keys[] = { "LANG", "LC_TIME", NULL };
	static const char *const xkb[] = { "XKBLAYOUT", NULL };
	struct place_list l = { 0 };

	place_parse_resolv("# comment\nnameserver 10.0.0.1\nsearch x\nnameserver\t2001:db8::1 # x\n"
			   "nameservers 1.1.1.1\nnameserver 10.0.0.1\n", &l);
	REQUIRE(l.n == 2);
	CHECK_STR(l.v[0], "10.0.0.1");
	CHECK_STR(l.v[1], "2001:db8::1");
	memset(&l, 0, sizeof(l));
	place_parse_assignments("LANG=\"ko_KR.UTF-8\"\nLC_TIME='en_GB.UTF-8'\nLC_ALL=C\nLANGUAGE=x\n",
				locale_keys, false, &l);
	REQUIRE(l.n == 2);
	CHECK_STR(l.v[0], "ko_KR.UTF-8");
	CHECK_STR(l.v[1], "en_GB.UTF-8");
	memset(&l, 0, sizeof(l));
	place_parse_assignments("XKBMODEL=\"pc105\"\nXKBLAYOUT=\"us,kr,us\"\n", xkb, true, &l);
	REQUIRE(l.n == 2);
	CHECK_STR(l.v[0], "us");
	CHECK_STR(l.v[1], "kr");
	CHECK_STR(place_zone_of_link("/usr/share/zoneinfo/Asia/Pyongyang"), "Asia/Pyongyang");
	CHECK_STR(place_zone_of_link("../usr/share/zoneinfo/posix/Europe/Berlin"), "Europe/Berlin");
	CHECK(place_zone_of_link("/etc/whatever") == NULL);
	CHECK(place_im_of_program("fcitx5") == PLACE_IM_FCITX5);
	CHECK(place_im_of_program("bash") == -1);
}

TEST(mac_set_sorted_bounded)
{
	uint8_t set[3][6];
	size_t n = 0;
	const uint8_t a[6] = { 3 }, b[6] = { 1 }, c[6] = { 2 }, d[6] = { 4 };

	CHECK(place_mac_set_add(set, &n, 3, a) && place_mac_set_add(set, &n, 3, b));
	CHECK(place_mac_set_add(set, &n, 3, a) && n == 2);
	CHECK(place_mac_set_add(set, &n, 3, c) && n == 3);
	CHECK(!place_mac_set_add(set, &n, 3, d) && n == 3);
	CHECK(set[0][0] == 1 && set[1][0] == 2 && set[2][0] == 3);
}

TEST(ipkvm_shipped_file_and_errors)
{
	struct place_ipkvm k;
	char err[512];
	const uint8_t pi[6] = { 0xdc, 0xa6, 0x32, 1, 2, 3 }, other[6] = { 0x00, 0x16, 0x3e, 1, 2, 3 };
	const struct place_ipkvm_prefix *p;
	static const char bad_key[] = "version: 1\nmakers:\n  - vendor: x\n    prefix: [\"B8:27:EB\"]\n";
	static const char bad_prefix[] = "version: 1\nmakers:\n  - vendor: x\n"
					 "    prefixes: [\"B8:27\"]\n    sources: [s]\n";
	static const char no_source[] = "version: 1\nmakers:\n  - vendor: x\n"
					"    prefixes: [\"B8:27:EB\"]\n";

	REQUIRE(place_ipkvm_load(&k, "rules/" PLACE_IPKVM_FILE, err, sizeof(err)) == 0);
	p = place_ipkvm_match_mac(&k, pi);
	REQUIRE(p);
	CHECK_STR(p->vendor, "Raspberry Pi");
	CHECK(strstr(p->products, "PiKVM") != NULL);
	CHECK(place_ipkvm_match_mac(&k, other) == NULL);
	CHECK_STR(place_ipkvm_match_mdns(&k, "PiKVM.local"), "PiKVM");
	CHECK_STR(place_ipkvm_match_mdns(&k, "tinypilot.local."), "TinyPilot");
	CHECK(place_ipkvm_match_mdns(&k, "pikvm.example.com") == NULL);
	CHECK(place_ipkvm_match_mdns(&k, "mypikvm.local") == NULL);
	CHECK_STR(place_ipkvm_match_edid(&k, "PiKVM V3"), "PiKVM");
	CHECK(place_ipkvm_match_edid(&k, "DELL U2720Q") == NULL);
	place_ipkvm_free(&k);

	CHECK(place_ipkvm_parse(&k, "t.yaml", bad_key, sizeof(bad_key) - 1, err, sizeof(err)) == -1);
	CHECK(strstr(err, "t.yaml:4: a maker: unknown key 'prefix'") != NULL);
	CHECK(place_ipkvm_parse(&k, "t.yaml", bad_prefix, sizeof(bad_prefix) - 1, err,
				sizeof(err)) == -1);
	CHECK(strstr(err, "'B8:27' is not a 24, 28 or 36 bit prefix") != NULL);
	CHECK(place_ipkvm_parse(&k, "t.yaml", no_source, sizeof(no_source) - 1, err,
				sizeof(err)) == -1);
	CHECK(strstr(err, "needs prefixes and sources") != NULL);
	CHECK(k.n_prefixes == 0);
}

static struct nl_msg *nl80211_msg(uint8_t cmd)
{
	struct nl_msg *m = nlmsg_alloc();

	if (m && !genlmsg_put(m, 1, 1, 0x1c, 0, 0, cmd, 0)) {
		nlmsg_free(m);
		return NULL;
	}
	return m;
}

TEST(nl80211_interface_parser)
{
	struct place_wifi w;
	struct nl_msg *m = nl80211_msg(NL80211_CMD_NEW_INTERFACE);
	char text[64];

	REQUIRE(m);
	nla_put_u32(m, NL80211_ATTR_IFINDEX, 3);
	nla_put_string(m, NL80211_ATTR_IFNAME, "wlp2s0");
	nla_put_u32(m, NL80211_ATTR_IFTYPE, NL80211_IFTYPE_STATION);
	nla_put(m, NL80211_ATTR_SSID, 8, "Farm\\5G\x01");
	CHECK(place_wifi_parse_interface(nlmsg_hdr(m), &w) == 1);
	CHECK(w.associated && w.ifindex == 3 && w.ssid_len == 8);
	CHECK_STR(w.ifname, "wlp2s0");
	place_wifi_ssid_text(w.ssid, w.ssid_len, text, sizeof(text));
	CHECK_STR(text, "Farm\\x5c5G\\x01");
	nlmsg_free(m);

	/* an access point's interface, and a station without SSID (not associated): no place */
	m = nl80211_msg(NL80211_CMD_NEW_INTERFACE);
	REQUIRE(m);
	nla_put_u32(m, NL80211_ATTR_IFINDEX, 4);
	nla_put_u32(m, NL80211_ATTR_IFTYPE, NL80211_IFTYPE_AP);
	nla_put(m, NL80211_ATTR_SSID, 4, "home");
	CHECK(place_wifi_parse_interface(nlmsg_hdr(m), &w) == 0);
	nlmsg_free(m);
	m = nl80211_msg(NL80211_CMD_NEW_INTERFACE);
	REQUIRE(m);
	nla_put_u32(m, NL80211_ATTR_IFINDEX, 4);
	nla_put_u32(m, NL80211_ATTR_IFTYPE, NL80211_IFTYPE_STATION);
	CHECK(place_wifi_parse_interface(nlmsg_hdr(m), &w) == 0);
	nlmsg_free(m);
	/* an SSID longer than 32 bytes is refused by the policy */
	m = nl80211_msg(NL80211_CMD_NEW_INTERFACE);
	REQUIRE(m);
	nla_put_u32(m, NL80211_ATTR_IFINDEX, 4);
	nla_put_u32(m, NL80211_ATTR_IFTYPE, NL80211_IFTYPE_STATION);
	nla_put(m, NL80211_ATTR_SSID, 40, "0123456789012345678901234567890123456789");
	CHECK(place_wifi_parse_interface(nlmsg_hdr(m), &w) == -1);
	nlmsg_free(m);
}

static struct nl_msg *bss_msg(const uint8_t *bssid, int bssid_len, uint32_t status)
{
	struct nl_msg *m = nl80211_msg(NL80211_CMD_NEW_SCAN_RESULTS);
	struct nlattr *nest;

	if (!m)
		return NULL;
	nest = nla_nest_start(m, NL80211_ATTR_BSS);
	nla_put(m, NL80211_BSS_BSSID, bssid_len, bssid);
	nla_put_u32(m, NL80211_BSS_STATUS, status);
	nla_nest_end(m, nest);
	return m;
}

TEST(nl80211_bss_parser)
{
	const uint8_t ap[6] = { 0x94, 0x83, 0xc4, 1, 2, 3 };
	uint8_t out[6] = { 0 };
	struct nl_msg *m = bss_msg(ap, 6, NL80211_BSS_STATUS_ASSOCIATED);

	REQUIRE(m);
	CHECK(place_wifi_parse_bss(nlmsg_hdr(m), out) == 1);
	CHECK(!memcmp(out, ap, 6));
	nlmsg_free(m);
	m = bss_msg(ap, 6, NL80211_BSS_STATUS_AUTHENTICATED);
	REQUIRE(m);
	CHECK(place_wifi_parse_bss(nlmsg_hdr(m), out) == 0);
	nlmsg_free(m);
	m = bss_msg(ap, 5, NL80211_BSS_STATUS_ASSOCIATED);
	REQUIRE(m);
	CHECK(place_wifi_parse_bss(nlmsg_hdr(m), out) == -1);
	nlmsg_free(m);
}

TEST(no_wifi_open)
{
	struct place_wifi_sock w;
	struct place_wifi out;
	int rc = place_wifi_open(&w);

	/* this machine has no cfg80211: the no-Wi-Fi path; a Wi-Fi machine reads its state */
	if (rc == -ENOENT) {
		CHECK(w.sk == NULL);
		CHECK(place_wifi_read(&w, &out) == -ENOENT && !out.associated);
	} else {
		CHECK(rc == 0);
		CHECK(place_wifi_read(&w, &out) == 0);
		place_wifi_close(&w);
	}
}

static void collect(const char *name, void *ctx)
{
	char *out = ctx;

	strcat(out, name);
	strcat(out, ";");
}

TEST(mdns_parser)
{
	/* response: A pikvm.local; PTR _http._tcp.local -> PiKVM._http._tcp.local; SRV of that
	 * instance -> target pikvm.local by a compression pointer */
	static const uint8_t msg[] = {
		0, 0, 0x84, 0, 0, 0, 0, 3, 0, 0, 0, 0,
		/* 12: pikvm.local A */
		5, 'p', 'i', 'k', 'v', 'm', 5, 'l', 'o', 'c', 'a', 'l', 0, 0, 1, 0x80, 1, 0, 0, 0, 120,
		0, 4, 10, 0, 0, 9,
		/* 39: _http._tcp.local PTR */
		5, '_', 'h', 't', 't', 'p', 4, '_', 't', 'c', 'p', 0xc0, 18, 0, 12, 0, 1, 0, 0, 0,
		120, 0, 8, 5, 'P', 'i', 'K', 'V', 'M', 0xc0, 39,
		/* 70: SRV, owner by pointer to the PTR's target, target by pointer to pikvm.local */
		0xc0, 62, 0, 33, 0x80, 1, 0, 0, 0, 120, 0, 8, 0, 0, 0, 0, 0, 80, 0xc0, 12,
	};
	char out[512] = "";
	uint8_t loop[sizeof(msg)];

	CHECK(place_mdns_parse(msg, sizeof(msg), collect, out) == 1);
	CHECK_STR(out, "pikvm.local;");
	/* a truncated message is refused */
	out[0] = 0;
	CHECK(place_mdns_parse(msg, sizeof(msg) - 3, collect, out) == -1);
	/* a pointer loop ends */
	memcpy(loop, msg, sizeof(msg));
	loop[70] = 0xc0;
	loop[71] = 70;
	out[0] = 0;
	CHECK(place_mdns_parse(loop, sizeof(loop), collect, out) == -1);
	CHECK(place_mdns_parse(msg, 5, collect, out) == -1);
}

TEST(compact_place_in_batch_header)
{
	Ghostwatch__V1__Place p = GHOSTWATCH__V1__PLACE__INIT;
	Ghostwatch__V1__HostIdentity h = GHOSTWATCH__V1__HOST_IDENTITY__INIT;
	Ghostwatch__V1__Process changer = GHOSTWATCH__V1__PROCESS__INIT;
	Ghostwatch__V1__Batch *b;
	struct gw_batch_builder builder;
	struct gw_batch_draft *d;
	char *hashes[2] = { "0123456789abcdef", "fedcba9876543210" }, err[128];
	uint8_t *bytes, *z;
	size_t len, z_len;

	p.gateway_address = "10.233.7.1";
	p.timezone = "Asia/Pyongyang";
	p.n_neighbour_hashes = 2;
	p.neighbour_hashes = hashes;
	p.neighbours = 2;
	p.change = "timezone";
	p.changed_by = &changer;
	h.host_id = "h1";
	REQUIRE(gw_batch_compact_place(&p, &bytes, &len) == 0);
	gw_batch_builder_init(&builder, 10, 1);
	d = gw_batch_cut(&builder, 2, NULL);
	REQUIRE(d);
	REQUIRE(gw_batch_draft_set_place(d, bytes, len) == 0);
	free(bytes);
	REQUIRE(gw_batch_encode(d, &h, 1, NULL, 1, &z, &z_len, NULL) == 0);
	b = gw_batch_decode(z, z_len, 1 << 20, err, sizeof(err));
	REQUIRE(b && b->place);
	CHECK_STR(b->place->gateway_address, "10.233.7.1");
	CHECK_STR(b->place->timezone, "Asia/Pyongyang");
	CHECK(b->place->neighbours == 2);
	CHECK(b->place->n_neighbour_hashes == 0 && !b->place->changed_by);
	CHECK_STR(b->place->change, "");
	ghostwatch__v1__batch__free_unpacked(b, NULL);
	free(z);
	gw_batch_draft_free(d);
	gw_batch_builder_free(&builder);
}

int main(void)
{
	RUN(oui_registry_longest_prefix);
	RUN(oui_prefix_parse);
	RUN(key_and_hash);
	RUN(settings_parsers);
	RUN(mac_set_sorted_bounded);
	RUN(ipkvm_shipped_file_and_errors);
	RUN(nl80211_interface_parser);
	RUN(nl80211_bss_parser);
	RUN(no_wifi_open);
	RUN(mdns_parser);
	RUN(compact_place_in_batch_header);
	return test_summary();
}
