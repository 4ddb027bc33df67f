/*
 * place.h - the place domain: where the host is (its default gateway, DNS servers, addresses,
 * Wi-Fi network, the LAN neighbours the kernel knows, mDNS names heard) and the settings that say
 * where its user is (timezone, locales, keyboard layouts, input methods). Passive only: the
 * kernel's tables, the host's files and multicast it receives; never a scan, never a packet sent.
 *
 * It emits a Place event at start and whenever one of those changes ("change" names what), with
 * the process that ran a settings tool just before a settings change; neighbour MACs leave the
 * host only as keyed hashes (place_key.h). A neighbour whose MAC prefix is an IP-KVM maker's or
 * board's, or an IP-KVM's default mDNS name, raises GW-PLACE-LAN-IPKVM: low alone, high when the
 * host also has an absolute-pointer USB device or an IP-KVM's EDID.
 */
#ifndef GW_PLACE_H
#define GW_PLACE_H

#include <stdbool.h>

#include "core/agent.h"

struct place_options {
	bool enabled;
	const char *root;	  /* prefix of /etc, /run and /usr/bin paths; "" = / */
	const char *mac_key_file; /* fleet key; NULL or "" = no key: no MAC hashes sent */
	const char *oui_dir;	  /* IEEE registry (ieee-data); NULL = /usr/share/ieee-data */
	const char *ipkvm_file;	  /* NULL = lan/ipkvm_oui.yaml of the shipped rules directory */
	const char *rules_dir;	  /* the shipped rules directory, NULL = as the detections find it */
	bool mdns;		  /* listen to mDNS on 224.0.0.251:5353 (never sends) */
	unsigned neighbour_interval_s; /* at most one neighbours-only Place per this */
};

void place_options_defaults(struct place_options *o);
int place_register(struct gw_agent *a, const struct place_options *o);

#endif
