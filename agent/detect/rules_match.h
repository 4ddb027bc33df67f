/*
 * rules_match.h - compiled rule matchers: turns a gw_ruleset into lookup structures built once per
 * load (hash sets for exact names/paths/ids/strings, component tries for path prefixes and DNS
 * suffixes, bit tries for CIDRs, a port bitmap) so matching an event costs a few hash lookups and
 * no pattern scan. Owns the match semantics of rules/README.md.
 *
 * Inputs are plain structs, filled by whichever module saw the event (process, network, devices);
 * nothing here depends on BPF records or protobuf. A matcher is immutable after gw_matcher_build(),
 * so a reload builds a new one and swaps it in.
 */
#ifndef GW_RULES_MATCH_H
#define GW_RULES_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules_load.h"

struct gw_matcher;

/* A process exec. Strings may be NULL/empty when unknown. */
struct gw_exec_input {
	const char *exe;	/* full path of the executable */
	const char *comm;	/* kernel comm (15 bytes max), used when exe is unknown */
	const char *const *argv;
	size_t argc;
	const char *parent_exe;
	const char *parent_comm;
};

/* A connection or flow. Addresses in network byte order; v4-mapped v6 is treated as v4. */
struct gw_flow_input {
	uint8_t protocol;  /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t family;	   /* AF_INET or AF_INET6; 0 = no address */
	uint8_t direction; /* GW_DIR_OUTBOUND or GW_DIR_INBOUND */
	uint8_t remote_addr[16];
	uint16_t remote_port; /* host byte order */
	const char *dns_name; /* the name the process looked up for this peer, or NULL */
};

/* Interface kinds a USB device carries (bit set). */
#define GW_DEV_IF_HID_KEYBOARD (1u << 0)
#define GW_DEV_IF_HID_MOUSE (1u << 1)
#define GW_DEV_IF_MASS_STORAGE (1u << 2)
#define GW_DEV_IF_NET (1u << 3) /* CDC ECM/NCM/RNDIS */
#define GW_DEV_IF_AUDIO (1u << 4)
#define GW_DEV_IF_VIDEO (1u << 5)

enum gw_device_kind { GW_DEVICE_USB, GW_DEVICE_MONITOR };

/*
 * A device attach (or inventory entry). USB: ids, strings and the structure of its interfaces
 * (what the device module reads from descriptors / sysfs / HID report descriptors). MONITOR: the
 * EDID of a connected display.
 */
struct gw_device_input {
	enum gw_device_kind kind;
	bool has_ids;
	uint16_t vid, pid;
	const char *manufacturer, *product, *serial;
	uint32_t interfaces;	    /* GW_DEV_IF_* */
	uint32_t n_interfaces;	    /* >1 makes a composite device */
	bool has_boot_keyboard;	    /* HID interface, subclass boot, protocol keyboard */
	bool has_absolute_pointer;  /* HID pointer reporting absolute X/Y */
	uint32_t absolute_max;	    /* logical maximum of that pointer's X/Y */
	const char *edid_monitor_name;
	const char *edid_mfg; /* PNP id, e.g. "LNX" */
	uint16_t edid_product_code;
};

struct gw_netif_input {
	const char *name;
};

/* One rule that matched, and which of its conditions selected it. */
struct gw_match {
	const struct gw_rule *rule;
	const char *why;   /* "exe name", "dns suffix", "usb id", ... */
	const char *value; /* the rule's pattern that matched, or NULL */
};

#define GW_MATCH_MAX 16

/*
 * Builds a matcher over rs's enabled rules and takes ownership of rs (freed with the matcher, also
 * on failure). Returns NULL only when out of memory.
 */
struct gw_matcher *gw_matcher_build(struct gw_ruleset *rs);
void gw_matcher_free(struct gw_matcher *m);
const struct gw_ruleset *gw_matcher_ruleset(const struct gw_matcher *m);

/* Each fills out[] with up to max matches (one per rule) and returns how many. */
size_t gw_match_exec(const struct gw_matcher *m, const struct gw_exec_input *in,
		     struct gw_match *out, size_t max);
size_t gw_match_flow(const struct gw_matcher *m, const struct gw_flow_input *in,
		     struct gw_match *out, size_t max);
size_t gw_match_device(const struct gw_matcher *m, const struct gw_device_input *in,
		       struct gw_match *out, size_t max);
size_t gw_match_netif(const struct gw_matcher *m, const struct gw_netif_input *in,
		      struct gw_match *out, size_t max);

/* Label-boundary DNS suffix test, exposed for tests: "a.net.anydesk.com" ends in "anydesk.com". */
bool gw_dns_has_suffix(const char *name, const char *suffix);

#endif
