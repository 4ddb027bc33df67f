/* fleet_state.c - a fleet host as protobuf and back. See fleet_state.h. */
#include "fleet_state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collector_state.pb-c.h"

#define STATE_VERSION 1

/*
 * The messages of one host point into these arrays, which live until the message is packed; the
 * strings point into the host itself.
 */
struct host_msgs {
	Ghostwatch__V1__FleetHostState host;
	Ghostwatch__V1__FleetSeqRange *ranges;
	Ghostwatch__V1__FleetSeqRange **range_ptrs;
	Ghostwatch__V1__FleetTypeCount types[FLEET_MAX_TYPES];
	Ghostwatch__V1__FleetTypeCount *type_ptrs[FLEET_MAX_TYPES];
	Ghostwatch__V1__FleetFindingState findings[FLEET_MAX_FINDINGS];
	Ghostwatch__V1__FleetFindingState *finding_ptrs[FLEET_MAX_FINDINGS];
	char *devices[FLEET_MAX_DEVICES];
	Ghostwatch__V1__FleetRejectCount rej[BATCH_VERDICT_COUNT];
	Ghostwatch__V1__FleetRejectCount *rej_ptrs[BATCH_VERDICT_COUNT];
	Ghostwatch__V1__FleetPlace place;
	char *neighbours[FLEET_MAX_NEIGHBOURS];
	char *ipkvm[1];
	Ghostwatch__V1__FleetPlaceSeen seen[FLEET_MAX_SEEN];
	Ghostwatch__V1__FleetPlaceSeen *seen_ptrs[FLEET_MAX_SEEN];
	Ghostwatch__V1__FleetRaised raised[FLEET_MAX_RAISED];
	Ghostwatch__V1__FleetRaised *raised_ptrs[FLEET_MAX_RAISED];
	Ghostwatch__V1__FleetTamperState tamper;
};

static void place_to_msg(const struct fleet_host *h, struct host_msgs *m)
{
	const struct fleet_place *pl = &h->place;
	Ghostwatch__V1__FleetPlace *p = &m->place;

	if (!pl->time_ns)
		return;
	ghostwatch__v1__fleet_place__init(p);
	p->gateway_mac_hash = (char *)pl->gateway;
	p->wifi_bssid_hash = (char *)pl->bssid;
	p->timezone = (char *)pl->timezone;
	for (size_t i = 0; i < pl->n_neighbours; i++)
		m->neighbours[i] = (char *)pl->neighbours[i];
	p->neighbour_hashes = m->neighbours;
	p->n_neighbour_hashes = pl->n_neighbours;
	if (pl->ipkvm[0]) {
		m->ipkvm[0] = (char *)pl->ipkvm;
		p->ipkvm_vendors = m->ipkvm;
		p->n_ipkvm_vendors = 1;
	}
	p->time_ns = pl->time_ns;
	m->host.place = p;
}

static void place_from_msg(struct fleet_host *h, const Ghostwatch__V1__FleetHostState *p)
{
	const Ghostwatch__V1__FleetPlace *pl = p->place;

	for (size_t i = 0; i < p->n_places_seen; i++)
		fleet_place_seen(&h->places_seen, p->places_seen[i]->kind, p->places_seen[i]->value,
				 p->places_seen[i]->first_ns, p->places_seen[i]->last_ns);
	if (!pl || pl->time_ns < h->place.time_ns)
		return;
	snprintf(h->place.gateway, sizeof(h->place.gateway), "%s", pl->gateway_mac_hash);
	snprintf(h->place.bssid, sizeof(h->place.bssid), "%s", pl->wifi_bssid_hash);
	snprintf(h->place.timezone, sizeof(h->place.timezone), "%s", pl->timezone);
	fleet_place_set_neighbours(&h->place, pl->neighbour_hashes, pl->n_neighbour_hashes);
	snprintf(h->place.ipkvm, sizeof(h->place.ipkvm), "%s",
		 pl->n_ipkvm_vendors ? pl->ipkvm_vendors[0] : "");
	h->place.time_ns = pl->time_ns;
}

/* Verdict counts as FleetRejectCount messages named by verdict (readable when verdicts change). */
static size_t rejects_to_msgs(const uint64_t counts[BATCH_VERDICT_COUNT],
			      Ghostwatch__V1__FleetRejectCount *rej,
			      Ghostwatch__V1__FleetRejectCount **ptrs)
{
	size_t n = 0;

	for (int r = 1; r < BATCH_VERDICT_COUNT; r++) {
		if (!counts[r])
			continue;
		ghostwatch__v1__fleet_reject_count__init(&rej[n]);
		rej[n].verdict = (char *)batch_verdict_name(r);
		rej[n].count = counts[r];
		ptrs[n] = &rej[n];
		n++;
	}
	return n;
}

static void rejects_from_msgs(uint64_t counts[BATCH_VERDICT_COUNT],
			      Ghostwatch__V1__FleetRejectCount *const *rej, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		enum batch_verdict r = batch_verdict_from_name(rej[i]->verdict);

		if (r < BATCH_VERDICT_COUNT)
			counts[r] += rej[i]->count;
	}
}

static char *str_or_empty(char *s)
{
	return s ? s : (char *)"";
}

static int host_to_msg(const struct fleet_host *h, struct host_msgs *m)
{
	Ghostwatch__V1__FleetHostState *p = &m->host;

	ghostwatch__v1__fleet_host_state__init(p);
	p->id = (char *)h->id;
	p->first_seen_ns = h->first_seen_ns;
	p->last_seen_ns = h->last_seen_ns;
	p->hostname = str_or_empty(h->hostname);
	p->machine_id = str_or_empty(h->machine_id);
	p->boot_id = str_or_empty(h->boot_id);
	p->agent_version = str_or_empty(h->agent_version);
	p->kernel_release = str_or_empty(h->kernel_release);
	p->cert_identity = str_or_empty(h->cert_identity);
	p->max_window_end_ns = h->max_window_end_ns;
	p->seq_resets = h->seq_resets;
	p->first_range_folded = h->first_range_folded;
	p->bad_events = h->bad_events;
	p->batches = h->batches;
	p->repeats = h->repeats;
	p->events = h->events;
	p->rejected = h->rejected;
	p->gaps_folded = h->gaps_folded;
	p->spool_dropped_batches = h->spool_dropped_batches;
	p->spool_dropped_events = h->spool_dropped_events;
	p->agent_drops = h->agent_drops;
	p->has_score = h->has_score;
	p->fraud_score = h->fraud_score;
	p->fraud_score_ns = h->fraud_score_ns;
	p->findings_dropped = h->findings_dropped;
	p->devices_dropped = h->devices_dropped;

	m->ranges = calloc(h->n_ranges + 1, sizeof(*m->ranges));
	m->range_ptrs = calloc(h->n_ranges + 1, sizeof(*m->range_ptrs));
	if (!m->ranges || !m->range_ptrs)
		return -ENOMEM;
	for (size_t i = 0; i < h->n_ranges; i++) {
		ghostwatch__v1__fleet_seq_range__init(&m->ranges[i]);
		m->ranges[i].lo = h->ranges[i].lo;
		m->ranges[i].hi = h->ranges[i].hi;
		m->range_ptrs[i] = &m->ranges[i];
	}
	p->ranges = m->range_ptrs;
	p->n_ranges = h->n_ranges;
	for (size_t i = 0; i < h->n_types; i++) {
		ghostwatch__v1__fleet_type_count__init(&m->types[i]);
		m->types[i].name = (char *)h->types[i].name;
		m->types[i].count = h->types[i].count;
		m->type_ptrs[i] = &m->types[i];
	}
	p->types = m->type_ptrs;
	p->n_types = h->n_types;
	for (size_t i = 0; i < h->n_findings; i++) {
		ghostwatch__v1__fleet_finding_state__init(&m->findings[i]);
		m->findings[i].rule_id = (char *)h->findings[i].rule_id;
		m->findings[i].severity = (char *)h->findings[i].severity;
		m->findings[i].count = h->findings[i].count;
		m->findings[i].matched = (char *)h->findings[i].matched;
		m->findings[i].category = (char *)h->findings[i].category;
		m->finding_ptrs[i] = &m->findings[i];
	}
	p->findings = m->finding_ptrs;
	p->n_findings = h->n_findings;
	for (size_t i = 0; i < h->n_devices; i++)
		m->devices[i] = (char *)h->devices[i];
	p->devices = m->devices;
	p->n_devices = h->n_devices;
	p->n_rejected_by = rejects_to_msgs(h->rejected_by, m->rej, m->rej_ptrs);
	p->rejected_by = m->rej_ptrs;
	p->employee_id = str_or_empty(h->employee_id);
	p->employee_timezone = str_or_empty(h->employee_timezone);
	place_to_msg(h, m);
	for (size_t i = 0; i < h->places_seen.n; i++) {
		const struct fleet_place_seen *ps = &h->places_seen.seen[i];

		ghostwatch__v1__fleet_place_seen__init(&m->seen[i]);
		m->seen[i].kind = (char *)ps->kind;
		m->seen[i].value = (char *)ps->value;
		m->seen[i].first_ns = ps->first_ns;
		m->seen[i].last_ns = ps->last_ns;
		m->seen_ptrs[i] = &m->seen[i];
	}
	p->places_seen = m->seen_ptrs;
	p->n_places_seen = h->places_seen.n;
	for (size_t i = 0; i < h->n_raised; i++) {
		ghostwatch__v1__fleet_raised__init(&m->raised[i]);
		m->raised[i].rule_id = (char *)h->raised[i].rule_id;
		m->raised[i].signature = (char *)h->raised[i].signature;
		m->raised_ptrs[i] = &m->raised[i];
	}
	p->raised = m->raised_ptrs;
	p->n_raised = h->n_raised;
	if (h->has_activity) {
		p->activity_minutes = (uint32_t *)h->activity;
		p->n_activity_minutes = FLEET_HOURS_OF_WEEK;
	}
	tamper_to_msg(&h->tamper, &m->tamper);
	p->tamper = &m->tamper;
	return 0;
}

int fleet_state_pack_host(const struct fleet_host *h, uint8_t **out, size_t *out_len)
{
	struct host_msgs *m = calloc(1, sizeof(*m));
	int rc = m ? host_to_msg(h, m) : -ENOMEM;

	if (!rc) {
		*out_len = ghostwatch__v1__fleet_host_state__get_packed_size(&m->host);
		*out = malloc(*out_len ? *out_len : 1);
		if (*out)
			ghostwatch__v1__fleet_host_state__pack(&m->host, *out);
		else
			rc = -ENOMEM;
	}
	if (m) {
		free(m->ranges);
		free(m->range_ptrs);
	}
	free(m);
	return rc;
}

/* Identity strings come from the value that saw the host last. */
static void merge_str(char **dst, const char *src, bool newer)
{
	if (!*dst || !**dst || newer)
		fleet_set_str(dst, src);
}

static bool has_matched(const struct fleet_host *h, const char *rule_id)
{
	for (size_t i = 0; i < h->n_findings; i++)
		if (strncmp(h->findings[i].rule_id, rule_id, FLEET_RULE_ID - 1) == 0)
			return h->findings[i].matched[0] != '\0';
	return false;
}

static struct fleet_host *merge_host(struct fleet_view *v, const Ghostwatch__V1__FleetHostState *p)
{
	struct fleet_host *h;
	uint64_t overlap = 0;
	bool newer;

	if (!host_id_valid(p->id, strlen(p->id)))
		return NULL;
	for (size_t i = 0; i < p->n_ranges; i++)
		if (!p->ranges[i]->lo || p->ranges[i]->lo > p->ranges[i]->hi)
			return NULL;
	h = fleet_view_host(v, p->id);
	if (!h)
		return NULL;
	if (p->first_seen_ns && (!h->first_seen_ns || p->first_seen_ns < h->first_seen_ns))
		h->first_seen_ns = p->first_seen_ns;
	newer = p->last_seen_ns >= h->last_seen_ns;
	if (newer)
		h->last_seen_ns = p->last_seen_ns;
	merge_str(&h->hostname, p->hostname, newer);
	merge_str(&h->machine_id, p->machine_id, newer);
	merge_str(&h->boot_id, p->boot_id, newer);
	merge_str(&h->agent_version, p->agent_version, newer);
	merge_str(&h->kernel_release, p->kernel_release, newer);
	merge_str(&h->cert_identity, p->cert_identity, newer);
	if (*p->employee_id)
		merge_str(&h->employee_id, p->employee_id, newer);
	if (*p->employee_timezone)
		merge_str(&h->employee_timezone, p->employee_timezone, newer);
	place_from_msg(h, p);
	if (p->n_activity_minutes == FLEET_HOURS_OF_WEEK && (newer || !h->has_activity)) {
		memcpy(h->activity, p->activity_minutes, sizeof(h->activity));
		h->has_activity = true;
	}
	for (size_t i = 0; i < p->n_raised; i++)
		if (newer || !*fleet_host_raised(h, p->raised[i]->rule_id))
			fleet_host_set_raised(h, p->raised[i]->rule_id, p->raised[i]->signature);
	if (p->max_window_end_ns > h->max_window_end_ns)
		h->max_window_end_ns = p->max_window_end_ns;
	if (p->seq_resets > h->seq_resets)
		h->seq_resets = p->seq_resets; /* every collector sees the same restarts */
	h->first_range_folded |= p->first_range_folded;
	h->bad_events += p->bad_events;
	h->batches += p->batches;
	h->repeats += p->repeats;
	h->events += p->events;
	h->rejected += p->rejected;
	h->gaps_folded += p->gaps_folded;
	h->spool_dropped_batches += p->spool_dropped_batches;
	h->spool_dropped_events += p->spool_dropped_events;
	if (newer)
		h->agent_drops = p->agent_drops;
	for (size_t i = 0; i < p->n_ranges; i++)
		overlap += fleet_host_add_range(h, p->ranges[i]->lo, p->ranges[i]->hi);
	for (size_t i = 0; i < p->n_types; i++)
		fleet_host_add_type(h, p->types[i]->name, p->types[i]->count);
	if (p->has_score)
		fleet_host_set_score(h, p->fraud_score, p->fraud_score_ns);
	h->findings_dropped += p->findings_dropped;
	for (size_t i = 0; i < p->n_findings; i++) {
		fleet_host_add_finding(h, p->findings[i]->rule_id, p->findings[i]->severity,
				       p->findings[i]->count);
		if (newer || !has_matched(h, p->findings[i]->rule_id))
			fleet_host_set_matched(h, p->findings[i]->rule_id, p->findings[i]->matched,
					       p->findings[i]->category);
	}
	h->devices_dropped += p->devices_dropped;
	for (size_t i = 0; i < p->n_devices; i++)
		fleet_host_add_device(h, p->devices[i]);
	rejects_from_msgs(h->rejected_by, p->rejected_by, p->n_rejected_by);
	/* The same seq held by two values (two collectors both got it) is a repeat too. */
	if (p->tamper)
		tamper_merge(&h->tamper, p->tamper);
	/* The same seq held by two state files (two collectors both got it) is a repeat too. */
	h->repeats += overlap;
	return h;
}

struct fleet_host *fleet_state_merge_host(struct fleet_view *v, const uint8_t *buf, size_t len)
{
	Ghostwatch__V1__FleetHostState *p = ghostwatch__v1__fleet_host_state__unpack(NULL, len, buf);
	struct fleet_host *h = p ? merge_host(v, p) : NULL;

	if (p)
		ghostwatch__v1__fleet_host_state__free_unpacked(p, NULL);
	return h;
}

int fleet_state_pack_unattributed(const uint64_t rejected[BATCH_VERDICT_COUNT], uint8_t **out,
				  size_t *out_len)
{
	Ghostwatch__V1__FleetState st = GHOSTWATCH__V1__FLEET_STATE__INIT;
	Ghostwatch__V1__FleetRejectCount rej[BATCH_VERDICT_COUNT], *rej_ptrs[BATCH_VERDICT_COUNT];

	st.version = STATE_VERSION;
	st.n_rejected = rejects_to_msgs(rejected, rej, rej_ptrs);
	st.rejected = rej_ptrs;
	*out_len = ghostwatch__v1__fleet_state__get_packed_size(&st);
	*out = malloc(*out_len ? *out_len : 1);
	if (!*out)
		return -ENOMEM;
	ghostwatch__v1__fleet_state__pack(&st, *out);
	return 0;
}

int fleet_state_merge_unattributed(uint64_t rejected[BATCH_VERDICT_COUNT], const uint8_t *buf,
				   size_t len)
{
	Ghostwatch__V1__FleetState *st = ghostwatch__v1__fleet_state__unpack(NULL, len, buf);

	if (!st || st->version != STATE_VERSION) {
		if (st)
			ghostwatch__v1__fleet_state__free_unpacked(st, NULL);
		return -EINVAL;
	}
	rejects_from_msgs(rejected, st->rejected, st->n_rejected);
	ghostwatch__v1__fleet_state__free_unpacked(st, NULL);
	return 0;
}
