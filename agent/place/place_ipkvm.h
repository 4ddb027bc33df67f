/*
 * place_ipkvm.h - the LAN IP-KVM indicators (rules/lan/ipkvm_oui.yaml): MAC prefixes of IP-KVM
 * makers and of the boards they are built on, the mDNS names IP-KVMs announce, and the EDID
 * monitor names of their HDMI capture. Loaded strictly: a bad file is refused with "file:line:
 * reason" and the domain runs without it.
 */
#ifndef GW_PLACE_IPKVM_H
#define GW_PLACE_IPKVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLACE_IPKVM_FILE "lan/ipkvm_oui.yaml"

struct place_ipkvm_prefix {
	uint64_t value;
	unsigned bits;
	const char *vendor;   /* the maker entry's vendor */
	const char *products; /* "PiKVM, TinyPilot" */
};

struct place_ipkvm_name {
	char *name; /* mDNS first label (mdns) or EDID monitor name (edid) */
	char *vendor;
};

struct place_ipkvm {
	struct place_ipkvm_prefix *prefixes;
	size_t n_prefixes;
	char **strings; /* vendors and product lists the prefixes point at */
	size_t n_strings;
	struct place_ipkvm_name *mdns, *edid;
	size_t n_mdns, n_edid;
};

/* Parses the file's text; 0, or -1 with "name:line: reason" in err (k is left empty). */
int place_ipkvm_parse(struct place_ipkvm *k, const char *name, const char *text, size_t len,
		      char *err, size_t errlen);
int place_ipkvm_load(struct place_ipkvm *k, const char *path, char *err, size_t errlen);
void place_ipkvm_free(struct place_ipkvm *k);

const struct place_ipkvm_prefix *place_ipkvm_match_mac(const struct place_ipkvm *k,
						      const uint8_t mac[6]);
/* The vendor whose default mDNS name this is ("pikvm.local", "PiKVM.local."), or NULL. */
const char *place_ipkvm_match_mdns(const struct place_ipkvm *k, const char *name);
/* The vendor of an IP-KVM EDID monitor name, or NULL. */
const char *place_ipkvm_match_edid(const struct place_ipkvm *k, const char *monitor);

#endif
