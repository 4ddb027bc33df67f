/*
 * allow_list.h - the company's own tools, named in the config (detections.allow): a match of an
 * allowed rule by an allowed process (its executable's path) or on an allowed interface is
 * counted and not raised, so the company VPN does not light every laptop up. Every field an item
 * gives must hold; the list is copied at registration and read at start.
 */
#ifndef GW_ALLOW_LIST_H
#define GW_ALLOW_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gw_config_allow;

struct gw_allow_item {
	char *rule;
	char *process;	 /* NULL: any */
	char *interface; /* NULL: any */
};

struct gw_allow_list {
	struct gw_allow_item *v;
	size_t n;
	uint64_t allowed; /* matches not raised */
};

/* Copies n items; 0 or -1 on ENOMEM (the list is then empty). */
int allow_list_set(struct gw_allow_list *l, const struct gw_config_allow *items, size_t n);
void allow_list_free(struct gw_allow_list *l);

/* Whether any item names `rule_id` at all (the cheap test before resolving a process). */
bool allow_list_has_rule(const struct gw_allow_list *l, const char *rule_id);

/* Whether a match of rule_id is allowed: `ifname` is the interface it is about (NULL if none),
 * `exe` the executable of its process (NULL if none or unknown). */
bool allow_list_allows(const struct gw_allow_list *l, const char *rule_id, const char *ifname,
		       const char *exe);

#endif
