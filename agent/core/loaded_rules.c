/* loaded_rules.c - the rules files the agent runs with. See loaded_rules.h. */
#include "loaded_rules.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void loaded_rules_free(struct gw_loaded_rules *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->files[i]);
	free(r->files);
	r->files = NULL;
	r->n = 0;
}

static bool listed(const struct gw_loaded_rules *r, const char *file)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->files[i], file))
			return true;
	return false;
}

int loaded_rules_set(struct gw_loaded_rules *r, const char *const *files, size_t n, uint32_t total,
		     uint32_t enabled)
{
	loaded_rules_free(r);
	r->generation++;
	r->total = total;
	r->enabled = enabled;
	r->files = calloc(n ? n : 1, sizeof(*r->files));
	if (!r->files)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!files[i] || listed(r, files[i]))
			continue;
		r->files[r->n] = strdup(files[i]);
		if (!r->files[r->n]) {
			loaded_rules_free(r);
			return -ENOMEM;
		}
		r->n++;
	}
	return 0;
}
