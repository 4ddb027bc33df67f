/*
 * rules_load.h - detection rules as data: parses the YAML rule files (rules/NAME.yaml shipped with the
 * agent, then /etc/ghostwatch/rules.d/NAME.yaml) into a gw_ruleset. Owns the rule format (documented in
 * rules/README.md) and its validation.
 *
 * Strict on purpose: a syntax error, an unknown field, a wrong type, an oversized pattern or list,
 * too many rules or a duplicate id is an error "file:line: reason", and a load is all-or-nothing:
 * the caller keeps its previous ruleset when gw_rules_load() fails (SIGHUP reload).
 *
 * Later directories override earlier ones by rule id (a user rule with the id of a shipped rule
 * replaces it; `enabled: false` switches it off). Inside one directory an id may appear once.
 */
#ifndef GW_RULES_LOAD_H
#define GW_RULES_LOAD_H

#include "core/facts.h" /* GW_DIR_* */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits: anything beyond is rejected, never truncated. */
#define GW_RULES_MAX_FILE_BYTES (4u << 20)
#define GW_RULES_MAX_RULES 20000
#define GW_RULES_MAX_LIST 4096	   /* entries in one list field */
#define GW_RULES_MAX_PATTERN 1024  /* bytes of one path / name / string */
#define GW_RULES_MAX_DNS_NAME 253
#define GW_RULES_MAX_ARGV_SEQ 32
#define GW_RULES_MAX_TEXT 512	   /* title, vendor, one source */
#define GW_RULES_MAX_FILES 256	   /* files per directory */

enum gw_rule_category {
	GW_CAT_RMM,	/* remote desktop / remote shell (T1219) */
	GW_CAT_TUNNEL,	/* overlay VPN / reverse tunnel (T1572) */
	GW_CAT_VPN,	/* consumer VPN client (T1090) */
	GW_CAT_IPKVM,	/* IP-KVM / remote console hardware (T1200) */
	GW_CAT_JIGGLER, /* fake presence */
	GW_CAT_BEHAVIOUR, /* who works when and from where: hours, sessions, remote latency */
	GW_CAT_EXFIL,	/* data leaving the machine */
	GW_CAT_TAMPER,	/* the agent stopped, detached or reconfigured */
	GW_CAT_COMBO,	/* combination findings (findings.c), never in a file */
	GW_CAT_COUNT,
};

enum gw_severity { GW_SEV_INFO, GW_SEV_LOW, GW_SEV_MEDIUM, GW_SEV_HIGH, GW_SEV_CRITICAL };
enum gw_confidence { GW_CONF_LOW, GW_CONF_MEDIUM, GW_CONF_HIGH };

/* Which event kind a rule matches. */
enum gw_rule_kind { GW_RULE_EXEC, GW_RULE_FLOW, GW_RULE_DEVICE, GW_RULE_NETIF };

#define GW_PROTO_TCP (1u << 0)
#define GW_PROTO_UDP (1u << 1)

struct gw_strlist {
	char **v;
	size_t n;
};

struct gw_port_range {
	uint16_t lo, hi;
};

struct gw_cidr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t prefix_len;
	uint8_t addr[16];
};

#define GW_USB_ANY_PID 0xffffffffu
struct gw_usb_id {
	uint16_t vid;
	uint32_t pid; /* GW_USB_ANY_PID: every product of the vendor */
};

struct gw_edid_id {
	char mfg[4]; /* PNP id, e.g. "LNX" */
	uint16_t product_code;
};

/* Structural predicates on one USB device (all that are set must hold). */
struct gw_device_structure {
	bool composite, boot_keyboard, absolute_pointer, storage_or_network;
	uint32_t absolute_max_at_least; /* 0 = any */
};

/*
 * exec: the image selectors (names = basename of the executable, paths, path_prefixes,
 * script_names = basename of an argv token, for interpreted tools) are alternatives; argv_sequence
 * (contiguous tokens in argv[1..]) and parent_names further restrict. At least one selector or
 * argv_sequence.
 */
struct gw_exec_cond {
	struct gw_strlist names, paths, path_prefixes, script_names, argv_sequence, parent_names;
	struct gw_strlist sha256; /* the executable's SHA-256, 64 lower-case hex digits */
};

/*
 * flow: destination selectors (dns_suffixes on label boundaries, cidrs) are alternatives; ports,
 * protocols and direction restrict. A rule with only ports matches on the port.
 */
struct gw_flow_cond {
	struct gw_strlist dns_suffixes; /* lower case, no trailing dot */
	struct gw_cidr *cidrs;
	size_t n_cidrs;
	struct gw_port_range *ports;
	size_t n_ports;
	uint8_t protocols;  /* GW_PROTO_*, 0 = any */
	uint8_t directions; /* GW_DIR_*, default outbound */
	/* 0: matches a connection as it opens; else only a flushed flow that sent at least this
	 * many bytes in its window (uploads, not visits) */
	uint64_t min_bytes_sent;
};

/* device: every field that is set must match (ids, each string list, EDID, structure). */
struct gw_device_cond {
	struct gw_usb_id *usb_ids;
	size_t n_usb_ids;
	struct gw_strlist manufacturers, products, product_contains, serials, edid_monitor_names;
	struct gw_edid_id *edid_ids;
	size_t n_edid_ids;
	bool has_structure;
	struct gw_device_structure structure;
};

struct gw_netif_cond {
	struct gw_strlist names, prefixes;
};

struct gw_rule {
	char *id, *title, *vendor, *technique;
	char *file; /* where it was defined, for messages */
	int line;
	bool enabled;
	enum gw_rule_category category;
	enum gw_severity severity;
	enum gw_confidence confidence;
	struct gw_strlist sources;
	enum gw_rule_kind kind;
	union {
		struct gw_exec_cond exec;
		struct gw_flow_cond flow;
		struct gw_device_cond device;
		struct gw_netif_cond netif;
	};
};

struct gw_ruleset {
	struct gw_rule *rules; /* enabled and disabled; matchers skip disabled ones */
	size_t n, cap;
	size_t n_files;
};

/*
 * Loads every .yaml / .yml file (sorted by name) of each directory in order. A directory that
 * does not exist is skipped when `optional` is set for it (rules.d), else an error. Returns 0 and
 * a new ruleset in *out, or -1 with "file:line: reason" in err (and *out untouched).
 */
struct gw_rules_dir {
	const char *path;
	bool optional;
	/* Directory and files must be owned by root or the agent's user and not group/other
	 * writable (for /etc/ghostwatch/rules.d: whoever can write there decides what is reported).
	 * Off for the shipped directory, which may be a developer's checkout. */
	bool strict_owner;
};
int gw_rules_load(const struct gw_rules_dir *dirs, size_t n_dirs, struct gw_ruleset **out, char *err,
		  size_t errlen);

/*
 * Parses one file's contents into rs (rules with an id already in rs replace it when `override`,
 * else a duplicate is an error). `name` is used in messages. Used by gw_rules_load and the fuzzer.
 */
int gw_rules_parse_buffer(struct gw_ruleset *rs, const char *name, const char *data, size_t len,
			  bool override, char *err, size_t errlen);

struct gw_ruleset *gw_ruleset_new(void);
void gw_ruleset_free(struct gw_ruleset *rs);
size_t gw_ruleset_enabled_count(const struct gw_ruleset *rs);

const char *gw_category_name(enum gw_rule_category c);
const char *gw_severity_name(enum gw_severity s);
const char *gw_confidence_name(enum gw_confidence c);

#endif
