#include "allow_list.h"

#include <stdlib.h>
#include <string.h>

#include "core/config.h"

void allow_list_free(struct gw_allow_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].rule);
		free(l->v[i].process);
		free(l->v[i].interface);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static char *dup_or_null(const char *s, bool *failed)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*failed = true;
	return d;
}

int allow_list_set(struct gw_allow_list *l, const struct gw_config_allow *items, size_t n)
{
	bool failed = false;

	allow_list_free(l);
	if (!n)
		return 0;
	l->v = calloc(n, sizeof(*l->v));
	if (!l->v)
		return -1;
	l->n = n;
	for (size_t i = 0; i < n; i++) {
		l->v[i].rule = dup_or_null(items[i].rule, &failed);
		l->v[i].process = dup_or_null(items[i].process, &failed);
		l->v[i].interface = dup_or_null(items[i].interface, &failed);
	}
	if (failed || !l->v[0].rule) {
		allow_list_free(l);
		return -1;
	}
	return 0;
}

bool allow_list_has_rule(const struct gw_allow_list *l, const char *rule_id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].rule && !strcmp(l->v[i].rule, rule_id))
			return true;
	return false;
}

bool allow_list_allows(const struct gw_allow_list *l, const char *rule_id, const char *ifname,
		       const char *exe)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct gw_allow_item *it = &l->v[i];

		if (!it->rule || strcmp(it->rule, rule_id))
			continue;
		if (it->interface && (!ifname || strcmp(it->interface, ifname)))
			continue;
		if (it->process && (!exe || strcmp(it->process, exe)))
			continue;
		return true;
	}
	return false;
}
