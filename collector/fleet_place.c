/* fleet_place.c - where a fleet host is. See fleet_place.h. */
#include "fleet_place.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_value(const void *a, const void *b)
{
	return strcmp(a, b);
}

void fleet_place_set_neighbours(struct fleet_place *p, char *const *hashes, size_t n)
{
	if (!p->neighbours)
		p->neighbours = calloc(FLEET_MAX_NEIGHBOURS, sizeof(*p->neighbours));
	if (!p->neighbours)
		return;
	p->n_neighbours = 0;
	for (size_t i = 0; i < n && p->n_neighbours < FLEET_MAX_NEIGHBOURS; i++)
		if (hashes[i] && *hashes[i])
			snprintf(p->neighbours[p->n_neighbours++], FLEET_PLACE_VALUE, "%s",
				 hashes[i]);
	qsort(p->neighbours, p->n_neighbours, sizeof(*p->neighbours), cmp_value);
}

size_t fleet_place_shared_neighbours(const struct fleet_place *a, const struct fleet_place *b)
{
	size_t i = 0, j = 0, shared = 0;

	while (i < a->n_neighbours && j < b->n_neighbours) {
		int c = strcmp(a->neighbours[i], b->neighbours[j]);

		if (c == 0 && (!i || strcmp(a->neighbours[i], a->neighbours[i - 1])))
			shared++;
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
	return shared;
}

void fleet_place_seen(struct fleet_place_history *hist, const char *kind, const char *value,
		      uint64_t first_ns, uint64_t last_ns)
{
	struct fleet_place_seen *s = NULL;

	if (!value || !*value)
		return;
	for (size_t i = 0; i < hist->n; i++)
		if (strcmp(hist->seen[i].kind, kind) == 0 &&
		    strncmp(hist->seen[i].value, value, FLEET_PLACE_VALUE - 1) == 0)
			s = &hist->seen[i];
	if (!s && hist->n < FLEET_MAX_SEEN) {
		s = &hist->seen[hist->n++];
		memset(s, 0, sizeof(*s));
	} else if (!s) {
		s = &hist->seen[0];	/* full: the value seen least recently goes */
		for (size_t i = 1; i < hist->n; i++)
			if (hist->seen[i].last_ns < s->last_ns)
				s = &hist->seen[i];
		memset(s, 0, sizeof(*s));
	}
	if (!s->kind[0]) {
		snprintf(s->kind, sizeof(s->kind), "%s", kind);
		snprintf(s->value, sizeof(s->value), "%s", value);
		s->first_ns = first_ns;
	}
	if (first_ns < s->first_ns)
		s->first_ns = first_ns;
	if (last_ns > s->last_ns)
		s->last_ns = last_ns;
}

size_t fleet_place_kinds(const struct fleet_place_history *hist, const char *kind,
			 const struct fleet_place_seen **newest)
{
	size_t n = 0;

	if (newest)
		*newest = NULL;
	for (size_t i = 0; i < hist->n; i++) {
		if (strcmp(hist->seen[i].kind, kind) != 0)
			continue;
		n++;
		if (newest && (!*newest || hist->seen[i].first_ns > (*newest)->first_ns))
			*newest = &hist->seen[i];
	}
	return n;
}

/* FNV-1a over the sorted neighbour list: whether it changed, without keeping a copy. */
static uint64_t neighbours_digest(const struct fleet_place *p)
{
	uint64_t d = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < p->n_neighbours; i++)
		for (const char *c = p->neighbours[i]; ; c++) {
			d = (d ^ (unsigned char)*c) * 0x100000001b3ull;
			if (!*c)
				break;
		}
	return d;
}

bool fleet_place_record(struct fleet_place *p, struct fleet_place_history *hist,
			const Ghostwatch__V1__Place *pl, uint64_t now_ns)
{
	char gateway[FLEET_PLACE_VALUE], bssid[FLEET_PLACE_VALUE], tz[FLEET_PLACE_VALUE];
	char ipkvm[FLEET_IPKVM_TEXT];
	uint64_t digest = neighbours_digest(p);
	bool first = !p->time_ns;
	size_t len = 0;
	bool changed;

	memcpy(gateway, p->gateway, sizeof(gateway));
	memcpy(bssid, p->bssid, sizeof(bssid));
	memcpy(tz, p->timezone, sizeof(tz));
	memcpy(ipkvm, p->ipkvm, sizeof(ipkvm));
	/* A hash missing beside its address or SSID is one not known yet (the MAC not resolved);
	 * no address, no SSID, no neighbours: the host left that room, and must not stay in it. */
	if (pl->gateway_mac_hash && *pl->gateway_mac_hash)
		snprintf(p->gateway, sizeof(p->gateway), "%s", pl->gateway_mac_hash);
	else if (!pl->gateway_address || !*pl->gateway_address)
		p->gateway[0] = '\0';
	if (pl->wifi_bssid_hash && *pl->wifi_bssid_hash)
		snprintf(p->bssid, sizeof(p->bssid), "%s", pl->wifi_bssid_hash);
	else if (!pl->wifi_ssid || !*pl->wifi_ssid)
		p->bssid[0] = '\0';
	if (pl->timezone && *pl->timezone)
		snprintf(p->timezone, sizeof(p->timezone), "%s", pl->timezone);
	if (pl->n_neighbour_hashes)
		fleet_place_set_neighbours(p, pl->neighbour_hashes, pl->n_neighbour_hashes);
	else if (!pl->neighbours)
		p->n_neighbours = 0;
	if (pl->n_neighbour_vendors || !pl->neighbours) {
		p->ipkvm[0] = '\0';
		for (size_t i = 0; i < pl->n_neighbour_vendors; i++) {
			const Ghostwatch__V1__LanVendor *lv = pl->neighbour_vendors[i];
			const char *name = lv->vendor && *lv->vendor ? lv->vendor : lv->oui;

			if (!lv->ipkvm || len >= sizeof(p->ipkvm) - 1)
				continue;
			len += snprintf(p->ipkvm + len, sizeof(p->ipkvm) - len, "%s%s",
					len ? ", " : "", name ? name : "?");
		}
	}
	changed = first || strcmp(gateway, p->gateway) || strcmp(bssid, p->bssid) ||
		  strcmp(tz, p->timezone) || strcmp(ipkvm, p->ipkvm) ||
		  digest != neighbours_digest(p);
	p->time_ns = now_ns;
	fleet_place_seen(hist, "gateway", pl->gateway_mac_hash, now_ns, now_ns);
	fleet_place_seen(hist, "bssid", pl->wifi_bssid_hash, now_ns, now_ns);
	fleet_place_seen(hist, "timezone", pl->timezone, now_ns, now_ns);
	return changed;
}

void fleet_place_free(struct fleet_place *p)
{
	free(p->neighbours);
	p->neighbours = NULL;
	p->n_neighbours = 0;
}
