/* fleet_detect.c - laptop farms and moved laptops, from the fleet view. See fleet_detect.h. */
#include "fleet_detect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FARM_RULE "GW-FLEET-LAPTOP-FARM"
#define MOVED_RULE "GW-FLEET-MOVED"
#define EGRESS_RULE "GW-FLEET-SHARED-EGRESS"
#define FARM_MAX_MEMBERS 64

struct alerts {
	struct fleet_alert *a;
	size_t n, max;
};

static bool recent(const struct fleet_host *h, uint64_t now_ns)
{
	return h->place.time_ns &&
	       (h->place.time_ns >= now_ns || now_ns - h->place.time_ns <= FLEET_FARM_WINDOW_NS);
}

/* Appends a then b to buf (NUL-terminated, `len` bytes); what does not fit is cut. */
static void append(char *buf, size_t len, const char *a, const char *b)
{
	size_t used = strlen(buf);

	if (used < len - 1)
		snprintf(buf + used, len - used, "%s%s", a, b);
}

/* What a and b share of a room, appended to ev once each; false if nothing. */
static bool linked(const struct fleet_host *a, const struct fleet_host *b, char *ev, size_t len)
{
	const struct fleet_place *pa = &a->place, *pb = &b->place;
	size_t shared = fleet_place_shared_neighbours(pa, pb);
	size_t fewer = pa->n_neighbours < pb->n_neighbours ? pa->n_neighbours : pb->n_neighbours;
	char what[FLEET_PLACE_VALUE + 40];
	bool any = false;

	for (int k = 0; k < 3; k++) {
		what[0] = '\0';
		if (k == 0 && *pa->gateway && strcmp(pa->gateway, pb->gateway) == 0)
			snprintf(what, sizeof(what), "gateway MAC hash %s", pa->gateway);
		else if (k == 1 && *pa->bssid && strcmp(pa->bssid, pb->bssid) == 0)
			snprintf(what, sizeof(what), "Wi-Fi BSSID hash %s", pa->bssid);
		else if (k == 2 && shared >= FLEET_FARM_MIN_SHARED_NEIGHBOURS && shared * 2 > fewer)
			snprintf(what, sizeof(what), "%zu LAN neighbours", shared);
		if (!what[0])
			continue;
		any = true;
		if (!strstr(ev, what))
			append(ev, len, *ev ? "; " : "", what);
	}
	return any;
}

/* IP-KVM evidence on h (an IP-KVM vendor among its neighbours, or a finding of the ipkvm
 * category from its agent), in why. */
static bool ipkvm_evidence(const struct fleet_host *h, char *why, size_t len)
{
	if (h->place.ipkvm[0]) {
		snprintf(why, len, "IP-KVM on its LAN (%s)", h->place.ipkvm);
		return true;
	}
	for (size_t i = 0; i < h->n_findings; i++)
		if (strncmp(h->findings[i].rule_id, "GW-FLEET-", 9) != 0 &&
		    strcmp(h->findings[i].category, "ipkvm") == 0) {
			snprintf(why, len, "finding %s", h->findings[i].rule_id);
			return true;
		}
	return false;
}

static int member_cmp(const void *a, const void *b)
{
	return strcmp((*(struct fleet_host *const *)a)->id, (*(struct fleet_host *const *)b)->id);
}

static struct fleet_alert *due(struct alerts *al, const struct fleet_host *h, const char *rule,
			       const char *signature)
{
	struct fleet_alert *a;

	if (al->n == al->max || strcmp(fleet_host_raised(h, rule), signature) == 0)
		return NULL;
	for (size_t i = 0; i < al->n; i++)
		if (strcmp(al->a[i].host_id, h->id) == 0 && strcmp(al->a[i].f.rule_id, rule) == 0)
			return NULL;
	a = &al->a[al->n++];
	memset(a, 0, sizeof(*a));
	snprintf(a->host_id, sizeof(a->host_id), "%s", h->id);
	snprintf(a->signature, sizeof(a->signature), "%s", signature);
	a->f.rule_id = rule;
	a->f.subject = a->subject;
	a->f.matched = a->matched;
	return a;
}

static void farm(struct fleet_view *v, const struct fleet_host *t, uint64_t now_ns,
		 struct alerts *al)
{
	struct fleet_host *members[FARM_MAX_MEMBERS], *o;
	char evidence[512] = "", names[FLEET_MATCHED_MAX / 2] = "", kvm[256] = "", why[192];
	char signature[FLEET_SIGNATURE] = "";
	size_t n = 0, employees = 0;

	if (!recent(t, now_ns))
		return;
	members[n++] = (struct fleet_host *)t;
	for (o = v->hosts; o && n < FARM_MAX_MEMBERS; o = o->hh.next)
		if (o != t && recent(o, now_ns) && linked(t, o, evidence, sizeof(evidence)))
			members[n++] = o;
	if (n < 2)
		return;
	qsort(members, n, sizeof(*members), member_cmp);
	for (size_t i = 0; i < n; i++) {
		const char *e = members[i]->employee_id;
		bool first = e && *e;

		for (size_t j = 0; first && j < i; j++)
			if (members[j]->employee_id && strcmp(members[j]->employee_id, e) == 0)
				first = false;
		employees += first;
		append(names, sizeof(names), i ? ", " : "", members[i]->id);
		append(names, sizeof(names), " (employee ", e && *e ? e : "undeclared");
		append(names, sizeof(names), ")", "");
		append(signature, sizeof(signature), i ? "," : "", members[i]->id);
		if (ipkvm_evidence(members[i], why, sizeof(why))) {
			append(kvm, sizeof(kvm), *kvm ? "; " : "", members[i]->id);
			append(kvm, sizeof(kvm), ": ", why);
		}
	}
	if (employees < 2)
		return;
	append(signature, sizeof(signature), "|", *kvm ? "critical" : "high");
	for (size_t i = 0; i < n; i++) {
		struct fleet_alert *a = due(al, members[i], FARM_RULE, signature);

		if (!a)
			continue;
		a->f.title = "Laptop farm: hosts of different employees in one room";
		a->f.category = "ipkvm";
		a->f.severity = *kvm ? "critical" : "high";
		a->f.confidence = *kvm ? "high" : "medium";
		a->f.technique = "T1200";
		snprintf(a->subject, sizeof(a->subject), "%zu hosts, %zu employees", n, employees);
		append(a->matched, sizeof(a->matched), "hosts ", names);
		append(a->matched, sizeof(a->matched), " share ", evidence);
		append(a->matched, sizeof(a->matched), *kvm ? "; IP-KVM evidence: " : "", kvm);
	}
}

static void moved(const struct fleet_host *h, struct alerts *al)
{
	static const char *const kinds[] = { "gateway", "bssid", "timezone" };
	char signature[FLEET_SIGNATURE] = "", matched[FLEET_MATCHED_MAX] = "";
	bool declared_mismatch = false;
	struct fleet_alert *a;

	for (size_t k = 0; k < 3; k++) {
		const struct fleet_place_seen *newest;

		if (fleet_place_kinds(&h->places_seen, kinds[k], &newest) < 2)
			continue;
		append(signature, sizeof(signature), kinds[k], "=");
		append(signature, sizeof(signature), newest->value, ";");
		append(matched, sizeof(matched), *matched ? "; " : "", kinds[k]);
		append(matched, sizeof(matched), " changed to one never seen for this host (",
		       newest->value);
		append(matched, sizeof(matched), ")", "");
	}
	if (*h->place.timezone && h->employee_timezone && *h->employee_timezone &&
	    strcmp(h->place.timezone, h->employee_timezone) != 0) {
		declared_mismatch = true;
		append(signature, sizeof(signature), "tz=", h->place.timezone);
		append(signature, sizeof(signature), "!=", h->employee_timezone);
		append(matched, sizeof(matched), *matched ? "; timezone " : "timezone ",
		       h->place.timezone);
		append(matched, sizeof(matched), ", the employee declared ", h->employee_timezone);
	}
	if (!*signature || !(a = due(al, h, MOVED_RULE, signature)))
		return;
	a->f.title = declared_mismatch ? "The laptop is not where its employee said"
				       : "The laptop moved";
	a->f.category = "behaviour";
	a->f.severity = declared_mismatch ? "high" : "medium";
	a->f.confidence = "medium";
	a->f.technique = "";
	snprintf(a->subject, sizeof(a->subject), "%s", h->id);
	snprintf(a->matched, sizeof(a->matched), "%s", matched);
}

size_t fleet_detect(struct fleet_view *v, char *const *touched, size_t n_touched, uint64_t now_ns,
		    struct fleet_alert *out, size_t max)
{
	struct alerts al = { out, 0, max };

	for (size_t i = 0; i < n_touched; i++) {
		struct fleet_host *h;

		HASH_FIND(hh, v->hosts, touched[i], strlen(touched[i]), h);
		if (!h)
			continue;
		if (h->detect_due)
			farm(v, h, now_ns, &al);	/* a room only changes with a member's place */
		h->detect_due = false;
		moved(h, &al);
	}
	return al.n;
}

struct egress {
	const char *ip;
	struct fleet_host *h;
};

static int egress_cmp(const void *a, const void *b)
{
	const struct egress *x = a, *y = b;
	int c = strcmp(x->ip, y->ip);

	return c ? c : strcmp(x->h->id, y->h->id);
}

/* One address and the hosts connecting from it, [from, to) of e (sorted by host). */
static void egress_group(const struct egress *e, size_t from, size_t to, struct alerts *al)
{
	char names[FLEET_MATCHED_MAX / 2] = "", signature[FLEET_SIGNATURE] = "";
	size_t hosts = 0, employees = 0;

	append(signature, sizeof(signature), e[from].ip, "|");
	for (size_t i = from; i < to; i++) {
		const char *emp = e[i].h->employee_id;
		bool first = emp && *emp;

		if (i > from && e[i].h == e[i - 1].h)
			continue;
		for (size_t j = from; first && j < i; j++)
			if (e[j].h->employee_id && strcmp(e[j].h->employee_id, emp) == 0)
				first = false;
		employees += first;
		append(names, sizeof(names), hosts ? ", " : "", e[i].h->id);
		append(names, sizeof(names), " (employee ", emp && *emp ? emp : "undeclared");
		append(names, sizeof(names), ")", "");
		append(signature, sizeof(signature), hosts ? "," : "", e[i].h->id);
		hosts++;
	}
	if (employees < 2)
		return;
	for (size_t i = from; i < to; i++) {
		struct fleet_alert *a = due(al, e[i].h, EGRESS_RULE, signature);

		if (!a)
			continue;
		a->f.title = "Hosts of different employees share one Internet address";
		a->f.category = "behaviour";
		a->f.severity = "medium";
		a->f.confidence = "medium";
		a->f.technique = "";
		snprintf(a->subject, sizeof(a->subject), "%s", e[from].ip);
		append(a->matched, sizeof(a->matched), "hosts ", names);
		append(a->matched, sizeof(a->matched), " connect to NATS from ", e[from].ip);
	}
}

size_t fleet_detect_egress(struct fleet_view *v, const struct nats_client_addr *clients,
			   size_t n_clients, struct fleet_alert *out, size_t max)
{
	struct egress *e = calloc(n_clients + 1, sizeof(*e));
	struct alerts al = { out, 0, max };
	size_t n = 0;

	if (!e)
		return 0;
	for (size_t i = 0; i < n_clients; i++) {
		const char *id = clients[i].user;
		struct fleet_host *h;

		if (strncmp(id, "CN=", 3) != 0 || !clients[i].ip[0])
			continue;
		id += 3;
		HASH_FIND(hh, v->hosts, id, strlen(id), h);
		if (h)
			e[n++] = (struct egress){ clients[i].ip, h };
	}
	qsort(e, n, sizeof(*e), egress_cmp);
	for (size_t from = 0, to; from < n; from = to) {
		for (to = from + 1; to < n && strcmp(e[to].ip, e[from].ip) == 0; to++)
			;
		egress_group(e, from, to, &al);
	}
	free(e);
	return al.n;
}

void fleet_detect_mark(struct fleet_host *h, const struct fleet_alert *a)
{
	fleet_host_add_finding(h, a->f.rule_id, a->f.severity, 1);
	fleet_host_set_matched(h, a->f.rule_id, a->matched, a->f.category);
	fleet_host_set_raised(h, a->f.rule_id, a->signature);
}
