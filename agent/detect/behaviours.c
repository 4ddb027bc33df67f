/* behaviours.c - domains' own behaviour rules in loaded-rule form. See behaviours.h. */
#include "behaviours.h"

#include <string.h>

#include "core/facts.h"

static int index_of(const char *name, const char *(*name_of)(int), int n)
{
	for (int i = 0; name && i < n; i++)
		if (strcmp(name, name_of(i)) == 0)
			return i;
	return -1;
}

static const char *category_at(int i)
{
	return gw_category_name((enum gw_rule_category)i);
}

static const char *severity_at(int i)
{
	return gw_severity_name((enum gw_severity)i);
}

static const char *confidence_at(int i)
{
	return gw_confidence_name((enum gw_confidence)i);
}

static const char *evidence_at(int i)
{
	return gw_evidence_kind_name((enum gw_evidence_kind)i);
}

const struct gw_rule *behaviours_rule(struct gw_behaviours *b, const struct gw_behaviour_rule *r)
{
	int cat, sev, conf;
	struct gw_rule *out;

	for (size_t i = 0; i < b->n; i++)
		if (b->slot[i].from == r)
			return &b->slot[i].rule;
	/* combinations are the findings table's own; a behaviour may not pose as one */
	cat = index_of(r->category, category_at, GW_CAT_COMBO);
	sev = index_of(r->severity, severity_at, GW_SEV_CRITICAL + 1);
	conf = index_of(r->confidence, confidence_at, GW_CONF_HIGH + 1);
	if (!r->id || !r->title || cat < 0 || sev < 0 || conf < 0 || b->n == GW_BEHAVIOURS_MAX) {
		b->refused++;
		return NULL;
	}
	b->slot[b->n].from = r;
	b->slot[b->n].sources[0] = (char *)(r->source ? r->source : "");
	out = &b->slot[b->n].rule;
	memset(out, 0, sizeof(*out));
	out->id = (char *)r->id;
	out->title = (char *)r->title;
	out->vendor = (char *)(r->vendor ? r->vendor : "");
	out->technique = (char *)(r->technique ? r->technique : "");
	out->file = (char *)"(built in)";
	out->enabled = true;
	out->category = (enum gw_rule_category)cat;
	out->severity = (enum gw_severity)sev;
	out->confidence = (enum gw_confidence)conf;
	out->sources.v = b->slot[b->n].sources;
	out->sources.n = r->source ? 1 : 0;
	b->n++;
	return out;
}

enum gw_evidence_kind behaviours_evidence_kind(const char *name)
{
	int k = index_of(name, evidence_at, GW_EVIDENCE_COUNT);

	return k < 0 ? GW_EVIDENCE_AGENT : (enum gw_evidence_kind)k;
}
