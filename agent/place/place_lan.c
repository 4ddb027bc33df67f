/* place_lan.c - the LAN IP-KVM finding (GW-PLACE-LAN-IPKVM). See place_internal.h. */
#include "place_internal.h"

#include <stdio.h>
#include <string.h>

#define SOURCE "rules/lan/ipkvm_oui.yaml; rules/README.md (Built-in behaviour rules)"

/* One id, two strengths: a board on the LAN is weak alone, strong beside a KVM's USB or EDID. */
static const struct gw_behaviour_rule lan_ipkvm_low = {
	.id = "GW-PLACE-LAN-IPKVM",
	.title = "IP-KVM maker's or board's device on the LAN",
	.vendor = "ip-kvm",
	.technique = "T1200",
	.category = "ipkvm",
	.severity = "low",
	.confidence = "low",
	.source = SOURCE,
};

static const struct gw_behaviour_rule lan_ipkvm_high = {
	.id = "GW-PLACE-LAN-IPKVM",
	.title = "IP-KVM on the LAN and a KVM's input device or display on this host",
	.vendor = "ip-kvm",
	.technique = "T1200",
	.category = "ipkvm",
	.severity = "high",
	.confidence = "medium",
	.source = SOURCE,
};

static bool in_set(uint8_t (*set)[6], size_t n, const uint8_t mac[6])
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(set[i], mac, 6))
			return true;
	return false;
}

static void raise_finding(struct gw_agent *a, struct place_state *s, bool high, const char *subject,
			  const char *why)
{
	char full[512], subj[256];

	/* the findings table deduplicates per rule id and subject: the high one needs its own */
	snprintf(subj, sizeof(subj), "%s%s", subject, high ? " + KVM device on this host" : "");
	if (high)
		snprintf(full, sizeof(full), "%s; this host has %s", why, s->kvm_device_what);
	else
		snprintf(full, sizeof(full), "%s", why);
	agent_publish(a, &(struct gw_fact){
				 .kind = GW_FACT_BEHAVIOUR,
				 .behaviour = { high ? &lan_ipkvm_high : &lan_ipkvm_low, full, "place" },
				 .subject = subj,
				 .event_id = s->last_place_event_id,
				 .time_ns = s->last_place_time_ns,
			 });
	s->c.findings++;
}

static void neighbour(struct gw_agent *a, struct place_state *s, const uint8_t mac[6],
		      const struct place_ipkvm_prefix *k)
{
	char prefix[PLACE_OUI_TEXT_LEN], hash[PLACE_HASH_LEN], subject[96], why[384];
	const char *vendor = place_oui_vendor(s->oui, mac, prefix);
	bool low = !in_set(s->raised_low, s->n_raised_low, mac);
	bool high = s->kvm_device && !in_set(s->raised_high, s->n_raised_high, mac);

	if (!low && !high)
		return;
	place_key_hash(&s->key, mac, 6, hash);
	/* the prefix is the maker's, public; the rest of the MAC only as the fleet hash */
	snprintf(subject, sizeof(subject), "neighbour %02X:%02X:%02X%s%s", mac[0], mac[1], mac[2],
		 hash[0] ? " " : "", hash);
	snprintf(why, sizeof(why),
		 "the kernel's neighbour table holds a MAC with prefix %s (%s: %s, on which %s "
		 "are built)", prefix, vendor ? vendor : "not in the IEEE registry here", k->vendor,
		 k->products[0] ? k->products : "IP-KVMs");
	if (low) {
		raise_finding(a, s, false, subject, why);
		place_mac_set_add(s->raised_low, &s->n_raised_low, PLACE_MAX_NEIGH, mac);
	}
	if (high) {
		raise_finding(a, s, true, subject, why);
		place_mac_set_add(s->raised_high, &s->n_raised_high, PLACE_MAX_NEIGH, mac);
	}
}

static void name(struct gw_agent *a, struct place_state *s, size_t i, const char *vendor)
{
	char subject[160], why[256];

	snprintf(subject, sizeof(subject), "mdns %s", s->cur.mdns[i]);
	snprintf(why, sizeof(why), "%s was announced on the LAN's mDNS: the default name of %s",
		 s->cur.mdns[i], vendor);
	if (!s->mdns_raised_low[i]) {
		raise_finding(a, s, false, subject, why);
		s->mdns_raised_low[i] = true;
	}
	if (s->kvm_device && !s->mdns_raised_high[i]) {
		raise_finding(a, s, true, subject, why);
		s->mdns_raised_high[i] = true;
	}
}

void place_lan_evaluate(struct gw_agent *a, struct place_state *s)
{
	const struct place_net *net = &s->cur.net;

	for (size_t i = 0; i < net->n_neigh; i++) {
		const struct place_ipkvm_prefix *k = place_ipkvm_match_mac(&s->ipkvm, net->neigh[i]);

		if (k)
			neighbour(a, s, net->neigh[i], k);
	}
	for (size_t i = 0; i < s->cur.n_mdns; i++) {
		const char *vendor = place_ipkvm_match_mdns(&s->ipkvm, s->cur.mdns[i]);

		if (vendor)
			name(a, s, i, vendor);
	}
}

bool place_lan_unraised(const struct place_state *s)
{
	const struct place_net *net = &s->cur.net;

	for (size_t i = 0; i < net->n_neigh; i++) {
		if (!place_ipkvm_match_mac(&s->ipkvm, net->neigh[i]))
			continue;
		if (!in_set((uint8_t(*)[6])s->raised_low, s->n_raised_low, net->neigh[i]) ||
		    (s->kvm_device &&
		     !in_set((uint8_t(*)[6])s->raised_high, s->n_raised_high, net->neigh[i])))
			return true;
	}
	for (size_t i = 0; i < s->cur.n_mdns; i++)
		if (place_ipkvm_match_mdns(&s->ipkvm, s->cur.mdns[i]) &&
		    (!s->mdns_raised_low[i] || (s->kvm_device && !s->mdns_raised_high[i])))
			return true;
	return false;
}
