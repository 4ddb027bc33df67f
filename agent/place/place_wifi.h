/*
 * place_wifi.h - the Wi-Fi network the host is associated with, through nl80211 (libnl-genl): the
 * SSID from the station interface, the BSSID from the associated entry of the kernel's scan
 * results (what it already knows: no scan is triggered). A host without nl80211 (no cfg80211, no
 * Wi-Fi) has no Wi-Fi place, which is not an error.
 */
#ifndef GW_PLACE_WIFI_H
#define GW_PLACE_WIFI_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl_sock;
struct nlmsghdr;

#define PLACE_SSID_MAX 32

struct place_wifi {
	bool associated;
	char ifname[IF_NAMESIZE];
	uint32_t ifindex;
	uint8_t ssid[PLACE_SSID_MAX];
	size_t ssid_len;
	uint8_t bssid[6];
	bool has_bssid;
};

struct place_wifi_sock {
	struct nl_sock *sk;
	int family; /* nl80211's generic netlink id; 0: none here */
};

/* 0; -ENOENT when the kernel has no nl80211 (no Wi-Fi); other -errno. */
int place_wifi_open(struct place_wifi_sock *w);
void place_wifi_close(struct place_wifi_sock *w);
/* The first station interface with an SSID, and its BSSID; 0 (out->associated may be false). */
int place_wifi_read(struct place_wifi_sock *w, struct place_wifi *out);

/* An NL80211_CMD_NEW_INTERFACE message (a GET_INTERFACE reply): fills ifindex, ifname and the
 * SSID when the interface is a station with one. 1 if it is, 0 if not, -1 if malformed. */
int place_wifi_parse_interface(struct nlmsghdr *nlh, struct place_wifi *out);
/* An NL80211_CMD_NEW_SCAN_RESULTS message (a GET_SCAN reply): 1 and the BSSID when that BSS is
 * the one the interface is associated with, 0 if not, -1 if malformed. */
int place_wifi_parse_bss(struct nlmsghdr *nlh, uint8_t bssid[6]);

/* The SSID as text for the Place message: printable ASCII kept, other bytes as \xNN. */
void place_wifi_ssid_text(const uint8_t *ssid, size_t len, char *out, size_t outlen);

#endif
