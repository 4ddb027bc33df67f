#include "fleet_view.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/text.h"
#include "event_line.h"
#include "strbuf.h"

void fleet_view_init(struct fleet_view *v)
{
	memset(v, 0, sizeof(*v));
}

static void host_free(struct fleet_host *h)
{
	free(h->hostname);
	free(h->machine_id);
	free(h->boot_id);
	free(h->agent_version);
	free(h->kernel_release);
	free(h->cert_identity);
	free(h->ranges);
	free(h->findings);
	free(h->devices);
	free(h->employee_id);
	free(h->employee_timezone);
	fleet_place_free(&h->place);
	tamper_free(&h->tamper);
	free(h);
}

void fleet_view_free(struct fleet_view *v)
{
	struct fleet_host *h, *tmp;

	HASH_ITER(hh, v->hosts, h, tmp) {
		HASH_DEL(v->hosts, h);
		host_free(h);
	}
	fleet_view_init(v);
}

void fleet_view_drop(struct fleet_view *v, struct fleet_host *h)
{
	HASH_DEL(v->hosts, h);
	host_free(h);
}

struct fleet_host *fleet_view_host(struct fleet_view *v, const char *host_id)
{
	struct fleet_host *h;
	size_t len = strlen(host_id);

	HASH_FIND(hh, v->hosts, host_id, len, h);
	if (h || len > GW_HOST_ID_MAX)
		return h;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	memcpy(h->id, host_id, len);
	HASH_ADD(hh, v->hosts, id, len, h);
	return h;
}

static const struct fleet_host *find_host(const struct fleet_view *v, const char *host_id)
{
	struct fleet_host *h;

	HASH_FIND(hh, v->hosts, host_id, strlen(host_id), h);
	return h;
}

uint64_t fleet_host_add_range(struct fleet_host *h, uint64_t lo, uint64_t hi)
{
	uint64_t overlap = 0;
	size_t first = h->n_ranges, last = 0, i;

	for (i = 0; i < h->n_ranges; i++) {
		struct seq_range *r = &h->ranges[i];
		uint64_t a = r->lo > lo ? r->lo : lo, b = r->hi < hi ? r->hi : hi;

		if (a <= b)
			overlap += b - a + 1;
		/* touching or overlapping ranges merge: [1,3] + [4,6] = [1,6] (seq 0 is never
		 * valid, so lo - 1 and r->lo - 1 cannot wrap) */
		if (r->hi >= lo - 1 && r->lo - 1 <= hi) {
			if (first == h->n_ranges)
				first = i;
			last = i;
		}
	}
	if (first < h->n_ranges) {
		struct seq_range *r = &h->ranges[first];
		r->lo = r->lo < lo ? r->lo : lo;
		r->hi = h->ranges[last].hi > hi ? h->ranges[last].hi : hi;
		memmove(&h->ranges[first + 1], &h->ranges[last + 1],
			(h->n_ranges - last - 1) * sizeof(*r));
		h->n_ranges -= last - first;
		return overlap;
	}
	if (h->n_ranges == h->cap_ranges) {
		size_t cap = h->cap_ranges ? h->cap_ranges * 2 : 4;
		struct seq_range *p = realloc(h->ranges, (cap + 1) * sizeof(*p));
		if (!p)
			return 0;
		h->ranges = p;
		h->cap_ranges = cap;
	}
	for (i = 0; i < h->n_ranges && h->ranges[i].lo < lo; i++)
		;
	memmove(&h->ranges[i + 1], &h->ranges[i], (h->n_ranges - i) * sizeof(*h->ranges));
	h->ranges[i] = (struct seq_range){ lo, hi };
	h->n_ranges++;
	while (h->n_ranges > FLEET_MAX_RANGES) {
		h->first_range_folded = true;
		h->gaps_folded += h->ranges[1].lo - h->ranges[0].hi - 1;
		h->ranges[0].hi = h->ranges[1].hi;
		memmove(&h->ranges[1], &h->ranges[2], (h->n_ranges - 2) * sizeof(*h->ranges));
		h->n_ranges--;
	}
	return 0;
}

static bool host_seen(const struct fleet_host *h, uint64_t seq)
{
	if (h->n_ranges && seq < h->ranges[0].lo)
		return false;
	/* Once holes were folded into the first range it no longer says which numbers arrived: a
	 * late batch there is written (and counted as a repeat) rather than risk skipping it. */
	for (size_t i = h->first_range_folded ? 1 : 0; i < h->n_ranges; i++)
		if (seq >= h->ranges[i].lo && seq <= h->ranges[i].hi)
			return true;
	return false;
}

bool fleet_view_seen(const struct fleet_view *v, const char *host_id, uint64_t seq)
{
	const struct fleet_host *h = find_host(v, host_id);

	return h && host_seen(h, seq);
}

static bool is_seq_restart(const struct fleet_host *h, const Ghostwatch__V1__Batch *b)
{
	return h->max_window_end_ns && b->window_start_ns > h->max_window_end_ns;
}

bool fleet_view_is_repeat(const struct fleet_view *v, const Ghostwatch__V1__Batch *b)
{
	const struct fleet_host *h = find_host(v, b->host->host_id);

	return h && fleet_view_seen(v, b->host->host_id, b->seq) && !is_seq_restart(h, b);
}

void fleet_set_str(char **dst, const char *src)
{
	if (!src || (*dst && strcmp(*dst, src) == 0))
		return;
	char *s = strdup(src);
	if (s) {
		free(*dst);
		*dst = s;
	}
}

void fleet_host_add_type(struct fleet_host *h, const char *name, uint64_t n)
{
	for (size_t i = 0; i < h->n_types; i++)
		if (strcmp(h->types[i].name, name) == 0) {
			h->types[i].count += n;
			return;
		}
	if (h->n_types == FLEET_MAX_TYPES)
		return;
	snprintf(h->types[h->n_types].name, FLEET_TYPE_NAME, "%s", name);
	h->types[h->n_types++].count = n;
}

static int severity_rank(const char *s)
{
	static const char *const order[] = { "info", "low", "medium", "high", "critical" };

	for (int i = 0; i < 5; i++)
		if (strcmp(s, order[i]) == 0)
			return i + 1;
	return 0;
}

void fleet_host_add_finding(struct fleet_host *h, const char *rule_id, const char *severity,
			    uint64_t count)
{
	size_t i;

	if (!rule_id || !*rule_id)
		return;
	for (i = 0; i < h->n_findings; i++)
		if (strncmp(h->findings[i].rule_id, rule_id, FLEET_RULE_ID - 1) == 0)
			break;
	if (i == h->n_findings) {
		if (!h->findings)
			h->findings = calloc(FLEET_MAX_FINDINGS, sizeof(*h->findings));
		if (!h->findings || h->n_findings == FLEET_MAX_FINDINGS) {
			h->findings_dropped++;
			return;
		}
		snprintf(h->findings[i].rule_id, FLEET_RULE_ID, "%s", rule_id);
		h->n_findings++;
	}
	if (severity && *severity)
		snprintf(h->findings[i].severity, sizeof(h->findings[i].severity), "%s", severity);
	if (count > h->findings[i].count)
		h->findings[i].count = count;
}

void fleet_host_set_matched(struct fleet_host *h, const char *rule_id, const char *matched,
			    const char *category)
{
	for (size_t i = 0; rule_id && i < h->n_findings; i++) {
		struct finding_summary *f = &h->findings[i];

		if (strncmp(f->rule_id, rule_id, FLEET_RULE_ID - 1) != 0)
			continue;
		if (matched && *matched) {
			size_t n;

			gw_utf8_sanitize(matched, strlen(matched), f->matched, sizeof(f->matched));
			n = strlen(f->matched);
			if (n < strlen(matched) && n >= 3) {
				/* cut short: say so, on a character boundary */
				n -= 3;
				while (n && ((unsigned char)f->matched[n] & 0xc0) == 0x80)
					n--;
				memcpy(f->matched + n, "...", 4);
			}
		}
		if (category && *category)
			snprintf(f->category, sizeof(f->category), "%s", category);
	}
}

void fleet_host_add_device(struct fleet_host *h, const char *id)
{
	if (!id || !*id)
		return;
	for (size_t i = 0; i < h->n_devices; i++)
		if (strncmp(h->devices[i], id, FLEET_DEVICE_ID - 1) == 0)
			return;
	if (!h->devices)
		h->devices = calloc(FLEET_MAX_DEVICES, sizeof(*h->devices));
	if (!h->devices || h->n_devices == FLEET_MAX_DEVICES) {
		h->devices_dropped++;
		return;
	}
	snprintf(h->devices[h->n_devices++], FLEET_DEVICE_ID, "%s", id);
}

void fleet_host_set_score(struct fleet_host *h, uint32_t score, uint64_t when_ns)
{
	if (h->has_score && when_ns < h->fraud_score_ns)
		return;	/* an older score arriving late (redelivery, merge) */
	h->has_score = true;
	h->fraud_score = score;
	h->fraud_score_ns = when_ns;
}

/* A string field of a message, looked up by name through its descriptor, or NULL. */
static const char *string_field(const ProtobufCMessage *m, const char *name)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(
		m->descriptor, name);

	if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED ||
	    (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
		return NULL;
	return *(char *const *)((const char *)m + f->offset);
}

/*
 * Devices are read through the descriptors ("device" events: kind + model_fingerprint), so the
 * fleet view needs no code change when the device schema grows; findings and the fraud score are
 * typed.
 */
static void record_detections(struct fleet_host *h, const Ghostwatch__V1__Event *ev,
			      uint64_t now_ns)
{
	const ProtobufCFieldDescriptor *f;
	const ProtobufCMessage *member;
	const char *kind, *fp;
	char id[FLEET_DEVICE_ID];

	switch (ev->kind_case) {
	case GHOSTWATCH__V1__EVENT__KIND_PLACE:
		if (ev->place && fleet_place_record(&h->place, &h->places_seen, ev->place, now_ns))
			h->detect_due = true;
		return;
	case GHOSTWATCH__V1__EVENT__KIND_FINDING:
		if (ev->finding) {
			fleet_host_add_finding(h, ev->finding->rule_id, ev->finding->severity,
					       ev->finding->count);
			fleet_host_set_matched(h, ev->finding->rule_id, ev->finding->matched,
					       ev->finding->category);
			h->detect_due = true;	/* an IP-KVM finding makes a farm critical */
		}
		return;
	case GHOSTWATCH__V1__EVENT__KIND_FRAUD_SCORE:
		if (ev->fraud_score)
			fleet_host_set_score(h, ev->fraud_score->score, ev->time_ns);
		return;
	default:
		break;
	}
	f = protobuf_c_message_descriptor_get_field(ev->base.descriptor, ev->kind_case);
	if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE || strncmp(f->name, "device", 6) != 0)
		return;
	member = *(ProtobufCMessage *const *)((const char *)ev + f->offset);
	if (!member)
		return;
	fp = string_field(member, "model_fingerprint");
	kind = string_field(member, "kind");
	if (!fp || !*fp)
		return;
	snprintf(id, sizeof(id), "%.12s:%.16s", kind && *kind ? kind : "device", fp);
	fleet_host_add_device(h, id);
}

/*
 * The batch's activity profile, read through the descriptors ("activity_profile" with its 168
 * "minutes"), so the fleet view needs no code change when the schema gains it.
 */
static void record_activity(struct fleet_host *h, const Ghostwatch__V1__Batch *b)
{
	const ProtobufCFieldDescriptor *f, *m;
	const ProtobufCMessage *ap;
	const uint32_t *minutes;

	f = protobuf_c_message_descriptor_get_field_by_name(b->base.descriptor, "activity_profile");
	if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED)
		return;
	ap = *(ProtobufCMessage *const *)((const char *)b + f->offset);
	m = ap ? protobuf_c_message_descriptor_get_field_by_name(ap->descriptor, "minutes") : NULL;
	if (!m || m->type != PROTOBUF_C_TYPE_UINT32 || m->label != PROTOBUF_C_LABEL_REPEATED ||
	    *(const size_t *)((const char *)ap + m->quantifier_offset) != FLEET_HOURS_OF_WEEK)
		return;
	minutes = *(uint32_t *const *)((const char *)ap + m->offset);
	memcpy(h->activity, minutes, sizeof(h->activity));
	h->has_activity = true;
}

static void touch(struct fleet_host *h, uint64_t now_ns)
{
	if (!h->first_seen_ns || now_ns < h->first_seen_ns)
		h->first_seen_ns = now_ns;
	if (now_ns > h->last_seen_ns)
		h->last_seen_ns = now_ns;
}

void fleet_host_record(struct fleet_host *h, const Ghostwatch__V1__Batch *b, size_t bad_events,
		       uint64_t now_ns)
{
	const Ghostwatch__V1__HostIdentity *id = b->host;

	touch(h, now_ns);
	fleet_set_str(&h->hostname, id->hostname);
	fleet_set_str(&h->machine_id, id->machine_id);
	fleet_set_str(&h->boot_id, id->boot_id);
	fleet_set_str(&h->agent_version, id->agent_version);
	fleet_set_str(&h->kernel_release, id->kernel_release);
	fleet_set_str(&h->cert_identity, id->cert_identity);
	if (id->employee_id && *id->employee_id &&
	    (!h->employee_id || strcmp(h->employee_id, id->employee_id) != 0)) {
		fleet_set_str(&h->employee_id, id->employee_id);
		h->detect_due = true;
	}
	if (id->employee_timezone && *id->employee_timezone)
		fleet_set_str(&h->employee_timezone, id->employee_timezone);
	if (b->place && fleet_place_record(&h->place, &h->places_seen, b->place, now_ns))
		h->detect_due = true;
	record_activity(h, b);
	if (host_seen(h, b->seq) && is_seq_restart(h, b)) {
		h->gaps_folded = fleet_host_gaps(h);	/* the old run's losses stay counted */
		h->n_ranges = 0;
		h->first_range_folded = false;
		h->seq_resets++;
	}
	if (fleet_host_add_range(h, b->seq, b->seq))
		h->repeats++;
	if (b->window_end_ns > h->max_window_end_ns)
		h->max_window_end_ns = b->window_end_ns;
	h->batches++;
	h->events += b->n_events;
	h->bad_events += bad_events;
	for (size_t i = 0; i < b->n_events; i++) {
		fleet_host_add_type(h, event_type_name(b->events[i]), 1);
		record_detections(h, b->events[i], now_ns);
	}
	if (b->spool) {
		h->spool_dropped_batches += b->spool->dropped_batches;
		h->spool_dropped_events += b->spool->dropped_events;
	}
	if (b->stats) {
		uint64_t drops = 0;
		for (size_t i = 0; i < b->stats->n_drops; i++)
			drops += b->stats->drops[i]->value;
		h->agent_drops = drops;
	}
}

void fleet_host_repeat(struct fleet_host *h, uint64_t now_ns)
{
	touch(h, now_ns);
	h->repeats++;
}

void fleet_host_reject(struct fleet_host *h, enum batch_verdict why, uint64_t now_ns)
{
	touch(h, now_ns);
	h->rejected++;
	if (why < BATCH_VERDICT_COUNT)
		h->rejected_by[why]++;
}

void fleet_host_counts(const struct fleet_host *h, struct fleet_counts *out)
{
	memset(out, 0, sizeof(*out));
	out->batches = h->batches;
	out->events = h->events;
	out->repeats = h->repeats;
	out->bad_events = h->bad_events;
	for (size_t i = 0; i < h->n_types; i++)
		if (strcmp(h->types[i].name, "unknown") == 0)
			out->unknown_events = h->types[i].count;
	memcpy(out->rejected, h->rejected_by, sizeof(out->rejected));
}

void fleet_view_account(struct fleet_view *v, const struct fleet_counts *now,
			const struct fleet_counts *before)
{
	static const struct fleet_counts zero;

	if (!before)
		before = &zero;
	v->batches += now->batches - before->batches;
	v->events += now->events - before->events;
	v->repeats += now->repeats - before->repeats;
	v->bad_events += now->bad_events - before->bad_events;
	v->unknown_events += now->unknown_events - before->unknown_events;
	for (int r = 0; r < BATCH_VERDICT_COUNT; r++)
		v->rejected[r] += now->rejected[r] - before->rejected[r];
}

void fleet_view_record(struct fleet_view *v, const Ghostwatch__V1__Batch *b, size_t bad_events,
		       uint64_t now_ns)
{
	struct fleet_host *h = fleet_view_host(v, b->host->host_id);
	struct fleet_counts before, after;

	if (!h)
		return;
	fleet_host_counts(h, &before);
	fleet_host_record(h, b, bad_events, now_ns);
	fleet_host_counts(h, &after);
	fleet_view_account(v, &after, &before);
}

void fleet_view_repeat(struct fleet_view *v, const char *host_id, uint64_t now_ns)
{
	struct fleet_host *h = fleet_view_host(v, host_id);

	v->repeats++;
	if (h)
		fleet_host_repeat(h, now_ns);
}

void fleet_view_reject(struct fleet_view *v, const char *host_id, enum batch_verdict why,
		       uint64_t now_ns)
{
	struct fleet_host *h = host_id ? fleet_view_host(v, host_id) : NULL;

	if (why < BATCH_VERDICT_COUNT)
		v->rejected[why]++;
	if (h)
		fleet_host_reject(h, why, now_ns);
}

uint64_t fleet_host_gaps(const struct fleet_host *h)
{
	uint64_t gaps = h->gaps_folded;

	for (size_t i = 1; i < h->n_ranges; i++)
		gaps += h->ranges[i].lo - h->ranges[i - 1].hi - 1;
	return gaps;
}

uint64_t fleet_host_first_seq(const struct fleet_host *h)
{
	return h->n_ranges ? h->ranges[0].lo : 0;
}

uint64_t fleet_host_last_seq(const struct fleet_host *h)
{
	return h->n_ranges ? h->ranges[h->n_ranges - 1].hi : 0;
}

const char *fleet_host_worst_severity(const struct fleet_host *h)
{
	const char *worst = "";

	for (size_t i = 0; i < h->n_findings; i++)
		if (severity_rank(h->findings[i].severity) > severity_rank(worst))
			worst = h->findings[i].severity;
	return worst;
}

uint32_t fleet_host_score(const struct fleet_host *h)
{
	static const struct {
		const char *severity;
		uint32_t points;
	} weight[] = { { "critical", 50 }, { "high", 30 }, { "medium", 15 }, { "low", 5 } };
	uint32_t score = h->has_score ? h->fraud_score : 0;

	for (size_t i = 0; i < h->n_findings; i++) {
		if (strncmp(h->findings[i].rule_id, "GW-FLEET-", 9) != 0)
			continue;
		for (size_t w = 0; w < sizeof(weight) / sizeof(weight[0]); w++)
			if (strcmp(h->findings[i].severity, weight[w].severity) == 0)
				score += weight[w].points;
	}
	return score > 100 ? 100 : score;
}

const char *fleet_host_raised(const struct fleet_host *h, const char *rule_id)
{
	for (size_t i = 0; i < h->n_raised; i++)
		if (strcmp(h->raised[i].rule_id, rule_id) == 0)
			return h->raised[i].signature;
	return "";
}

void fleet_host_set_raised(struct fleet_host *h, const char *rule_id, const char *signature)
{
	size_t i;

	for (i = 0; i < h->n_raised; i++)
		if (strcmp(h->raised[i].rule_id, rule_id) == 0)
			break;
	if (i == FLEET_MAX_RAISED)
		return;
	if (i == h->n_raised)
		h->n_raised++;
	snprintf(h->raised[i].rule_id, sizeof(h->raised[i].rule_id), "%s", rule_id);
	snprintf(h->raised[i].signature, sizeof(h->raised[i].signature), "%s", signature);
}
