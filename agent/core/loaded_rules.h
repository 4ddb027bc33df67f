/*
 * loaded_rules.h - the rules files the agent runs with, told by the domain that loads them (the
 * detections, at start and at each reload) to the one that reports them (the tamper domain's
 * integrity event), so that neither includes the other.
 */
#ifndef GW_LOADED_RULES_H
#define GW_LOADED_RULES_H

#include <stddef.h>
#include <stdint.h>

struct gw_loaded_rules {
	char **files; /* in load order */
	size_t n;
	uint32_t total, enabled; /* rules loaded, and enabled after local overrides */
	uint64_t generation;	 /* counts the loads: a reload is a new generation */
};

/* Replaces the list with a copy of files (duplicates dropped); 0 or -ENOMEM (list emptied). */
int loaded_rules_set(struct gw_loaded_rules *r, const char *const *files, size_t n, uint32_t total,
		     uint32_t enabled);
void loaded_rules_free(struct gw_loaded_rules *r);

#endif
