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

#include "core/facts.h"
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
	const char *sha256;	/* the executable's SHA-256 (lower-case hex), or NULL */
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
