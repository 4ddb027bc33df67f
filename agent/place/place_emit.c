/* place_emit.c - the Place message of the domain's current view. See place_internal.h. */
#include "place_internal.h"

#include <stdio.h>
#include <string.h>

#include "core/process_lookup.h"

/* A settings tool exec'd this long before a settings change is named as its changer. */
#define CHANGER_WINDOW_NS (60ULL * 1000000000ULL)
#define MAX_VENDOR_GROUPS 64

static char *text(struct gw_agent *a, const char *s)
{
	return gw_arena_text(&a->arena, s, strlen(s));
}

static char **texts(struct gw_agent *a, const struct place_list *l, size_t *n)
{
	char **v = l->n ? gw_arena_alloc(&a->arena, l->n * sizeof(*v)) : NULL;

	*n = 0;
	for (size_t i = 0; v && i < l->n; i++)
		v[(*n)++] = text(a, l->v[i]);
	return v;
}

static char *mac_hash(struct gw_agent *a, const struct place_state *s, const uint8_t mac[6])
{
	char h[PLACE_HASH_LEN];

	place_key_hash(&s->key, mac, 6, h);
	return text(a, h);
}

static void vendors(struct gw_agent *a, const struct place_state *s, Ghostwatch__V1__Place *p)
{
	Ghostwatch__V1__LanVendor **v;
	const struct place_net *net = &s->cur.net;

	if (!net->n_neigh)
		return;
	v = gw_arena_alloc(&a->arena, MAX_VENDOR_GROUPS * sizeof(*v));
	if (!v)
		return;
	p->neighbour_vendors = v;
	for (size_t i = 0; i < net->n_neigh; i++) {
		char prefix[PLACE_OUI_TEXT_LEN];
		const char *vendor = place_oui_vendor(s->oui, net->neigh[i], prefix);
		size_t g;

		for (g = 0; g < p->n_neighbour_vendors && strcmp(v[g]->oui, prefix); g++)
			;
		if (g == p->n_neighbour_vendors) {
			if (g == MAX_VENDOR_GROUPS || !(v[g] = gw_arena_alloc(&a->arena, sizeof(*v[g]))))
				continue;
			ghostwatch__v1__lan_vendor__init(v[g]);
			v[g]->oui = text(a, prefix);
			v[g]->vendor = text(a, vendor ? vendor : "");
			v[g]->ipkvm = place_ipkvm_match_mac(&s->ipkvm, net->neigh[i]) != NULL;
			p->n_neighbour_vendors++;
		}
		v[g]->count++;
	}
}

static void network(struct gw_agent *a, const struct place_state *s, Ghostwatch__V1__Place *p)
{
	const struct place_net *net = &s->cur.net;
	char prefix[PLACE_OUI_TEXT_LEN];

	p->gateway_address = text(a, net->gateway);
	p->interface = text(a, net->ifname);
	if (net->has_gateway_mac) {
		const char *vendor = place_oui_vendor(s->oui, net->gateway_mac, prefix);

		p->gateway_mac_hash = mac_hash(a, s, net->gateway_mac);
		p->gateway_vendor = text(a, vendor ? vendor : "");
	}
	p->addresses = net->n_addrs ? gw_arena_alloc(&a->arena, net->n_addrs * sizeof(char *)) : NULL;
	for (size_t i = 0; p->addresses && i < net->n_addrs; i++)
		p->addresses[p->n_addresses++] = text(a, net->addrs[i]);
	p->neighbours = (uint32_t)(net->n_neigh + net->neigh_dropped);
	vendors(a, s, p);
	if (s->key.len && net->n_neigh) {
		p->neighbour_hashes = gw_arena_alloc(&a->arena, net->n_neigh * sizeof(char *));
		for (size_t i = 0; p->neighbour_hashes && i < net->n_neigh; i++)
			p->neighbour_hashes[p->n_neighbour_hashes++] = mac_hash(a, s, net->neigh[i]);
	}
	if (s->cur.wifi.associated) {
		char ssid[PLACE_SSID_MAX * 4 + 1];

		place_wifi_ssid_text(s->cur.wifi.ssid, s->cur.wifi.ssid_len, ssid, sizeof(ssid));
		p->wifi_ssid = text(a, ssid);
		if (s->cur.wifi.has_bssid)
			p->wifi_bssid_hash = mac_hash(a, s, s->cur.wifi.bssid);
	}
	p->mdns_names = s->cur.n_mdns ? gw_arena_alloc(&a->arena, s->cur.n_mdns * sizeof(char *))
				      : NULL;
	for (size_t i = 0; p->mdns_names && i < s->cur.n_mdns; i++)
		p->mdns_names[p->n_mdns_names++] = text(a, s->cur.mdns[i]);
}

static bool settings_change(const char *change)
{
	static const char *const names[] = { "timezone", "locale", "keyboard", NULL };

	for (size_t i = 0; names[i]; i++)
		if (strstr(change, names[i]))
			return true;
	return false;
}

uint64_t place_emit(struct gw_agent *a, struct place_state *s, const char *change)
{
	gw_event_t *ev = gw_arena_alloc(&a->arena, sizeof(*ev));
	Ghostwatch__V1__Place *p = gw_arena_alloc(&a->arena, sizeof(*p));
	const struct place_settings *set = &s->cur.set;
	uint64_t now = gw_now_boottime_ns();

	if (!ev || !p)
		return 0;
	ghostwatch__v1__event__init(ev);
	ghostwatch__v1__place__init(p);
	network(a, s, p);
	p->dns_servers = texts(a, &set->dns, &p->n_dns_servers);
	p->timezone = text(a, set->timezone);
	p->locales = texts(a, &set->locales, &p->n_locales);
	p->keyboard_layouts = texts(a, &set->keyboards, &p->n_keyboard_layouts);
	p->input_methods = texts(a, &set->input_methods, &p->n_input_methods);
	p->change = text(a, change);
	if (s->changer_pid && settings_change(change) && now - s->changer_ns < CHANGER_WINDOW_NS) {
		struct proc_entry *e = process_lookup(a, s->changer_pid);

		if (e)
			p->changed_by = process_proto(a, e);
		/* one run of a tool explains one change, not every later one */
		s->changer_pid = 0;
	}
	ev->kind_case = GHOSTWATCH__V1__EVENT__KIND_PLACE;
	ev->place = p;
	agent_emit(a, ev);
	s->sent = s->cur;
	s->last_emit_ns = now;
	s->last_place_event_id = ev->event_id;
	s->last_place_time_ns = ev->time_ns;
	s->c.places++;
	return ev->event_id;
}
