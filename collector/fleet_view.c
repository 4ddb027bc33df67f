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

bool fleet_view_seen(const struct fleet_view *v, const char *host_id, uint64_t seq)
{
	const struct fleet_host *h = find_host(v, host_id);

	if (!h)
		return false;
	if (h->n_ranges && seq < h->ranges[0].lo)
		return false;
	/* Once holes were folded into the first range it no longer says which numbers arrived: a
	 * late batch there is written (and counted as a repeat) rather than risk skipping it. */
	for (size_t i = h->first_range_folded ? 1 : 0; i < h->n_ranges; i++)
		if (seq >= h->ranges[i].lo && seq <= h->ranges[i].hi)
			return true;
	return false;
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
static void record_detections(struct fleet_host *h, const Ghostwatch__V1__Event *ev)
{
	const ProtobufCFieldDescriptor *f;
	const ProtobufCMessage *member;
	const char *kind, *fp;
	char id[FLEET_DEVICE_ID];

	switch (ev->kind_case) {
	case GHOSTWATCH__V1__EVENT__KIND_FINDING:
		if (ev->finding)
			fleet_host_add_finding(h, ev->finding->rule_id, ev->finding->severity, ev->finding->count);
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

static void touch(struct fleet_host *h, uint64_t now_ns)
{
	if (!h->first_seen_ns || now_ns < h->first_seen_ns)
		h->first_seen_ns = now_ns;
	if (now_ns > h->last_seen_ns)
		h->last_seen_ns = now_ns;
}

void fleet_view_record(struct fleet_view *v, const Ghostwatch__V1__Batch *b, size_t bad_events,
		       uint64_t now_ns)
{
	const Ghostwatch__V1__HostIdentity *id = b->host;
	struct fleet_host *h = fleet_view_host(v, id->host_id);

	if (!h)
		return;
	touch(h, now_ns);
	fleet_set_str(&h->hostname, id->hostname);
	fleet_set_str(&h->machine_id, id->machine_id);
	fleet_set_str(&h->boot_id, id->boot_id);
	fleet_set_str(&h->agent_version, id->agent_version);
	fleet_set_str(&h->kernel_release, id->kernel_release);
	fleet_set_str(&h->cert_identity, id->cert_identity);
	if (fleet_view_seen(v, id->host_id, b->seq) && is_seq_restart(h, b)) {
		h->gaps_folded = fleet_host_gaps(h);	/* the old run's losses stay counted */
		h->n_ranges = 0;
		h->first_range_folded = false;
		h->seq_resets++;
	}
	if (fleet_host_add_range(h, b->seq, b->seq)) {
		h->repeats++;
		v->repeats++;
	}
	if (b->window_end_ns > h->max_window_end_ns)
		h->max_window_end_ns = b->window_end_ns;
	h->batches++;
	v->batches++;
	h->events += b->n_events;
	v->events += b->n_events;
	h->bad_events += bad_events;
	v->bad_events += bad_events;
	for (size_t i = 0; i < b->n_events; i++) {
		const char *t = event_type_name(b->events[i]);
		fleet_host_add_type(h, t, 1);
		if (strcmp(t, "unknown") == 0)
			v->unknown_events++;
		record_detections(h, b->events[i]);
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

void fleet_view_repeat(struct fleet_view *v, const char *host_id, uint64_t now_ns)
{
	struct fleet_host *h = fleet_view_host(v, host_id);

	v->repeats++;
	if (h) {
		touch(h, now_ns);
		h->repeats++;
	}
}

void fleet_view_reject(struct fleet_view *v, const char *host_id, enum batch_verdict why,
		       uint64_t now_ns)
{
	if (why < BATCH_VERDICT_COUNT)
		v->rejected[why]++;
	if (host_id) {
		struct fleet_host *h = fleet_view_host(v, host_id);
		if (h) {
			touch(h, now_ns);
			h->rejected++;
		}
	}
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

/* ---- report ---------------------------------------------------------------------------------- */

static int host_cmp(struct fleet_host *a, struct fleet_host *b)
{
	return strcmp(a->id, b->id);
}

static void fmt_age(char *buf, size_t len, uint64_t now_ns, uint64_t then_ns)
{
	uint64_t s;

	if (!then_ns) {
		snprintf(buf, len, "never");
		return;
	}
	s = now_ns > then_ns ? (now_ns - then_ns) / 1000000000ull : 0;
	if (s < 120)
		snprintf(buf, len, "%" PRIu64 "s ago", s);
	else if (s < 7200)
		snprintf(buf, len, "%" PRIu64 "m ago", s / 60);
	else if (s < 172800)
		snprintf(buf, len, "%" PRIu64 "h ago", s / 3600);
	else
		snprintf(buf, len, "%" PRIu64 "d ago", s / 86400);
}

/* An agent-supplied name for a terminal table: at most `width` bytes, control characters (ESC
 * sequences could rewrite the operator's screen) shown as '?', not cut inside a UTF-8 sequence. */
static void display_cell(char *dst, size_t width, const char *src)
{
	size_t n = 0;

	if (!src || !*src)
		src = "-";
	for (; src[n] && n < width; n++)
		dst[n] = ((unsigned char)src[n] < 0x20 || src[n] == 0x7f) ? '?' : src[n];
	if (src[n])
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;	/* src[n] continues a sequence: drop its start too */
	dst[n] = '\0';
}

void fleet_view_report_table(struct fleet_view *v, FILE *out, uint64_t now_ns)
{
	struct fleet_host *h;
	char age[32], seqs[48], name[21], score[16];

	HASH_SORT(v->hosts, host_cmp);
	fprintf(out,
		"%-24s %-20s %-10s %-15s %8s %10s %6s %7s %8s %5s %9s %5s %8s %7s %-8s  %s\n",
		"HOST", "HOSTNAME", "LAST SEEN", "SEQ", "BATCHES", "EVENTS", "GAPS", "REPEATS",
		"REJECTED", "BADEV", "SPOOLDROP", "SCORE", "FINDINGS", "DEVICES", "WORST",
		"EVENT TYPES");
	for (h = v->hosts; h; h = h->hh.next) {
		struct strbuf types;

		strbuf_init(&types, 0);
		for (size_t i = 0; i < h->n_types; i++)
			strbuf_printf(&types, "%s%s=%" PRIu64, i ? " " : "", h->types[i].name,
				      h->types[i].count);
		fmt_age(age, sizeof(age), now_ns, h->last_seen_ns);
		if (h->n_ranges && h->seq_resets)
			snprintf(seqs, sizeof(seqs), "%" PRIu64 "-%" PRIu64 " r%" PRIu64,
				 fleet_host_first_seq(h), fleet_host_last_seq(h), h->seq_resets);
		else if (h->n_ranges)
			snprintf(seqs, sizeof(seqs), "%" PRIu64 "-%" PRIu64, fleet_host_first_seq(h),
				 fleet_host_last_seq(h));
		else
			snprintf(seqs, sizeof(seqs), "-");
		display_cell(name, sizeof(name) - 1, h->hostname);
		if (h->has_score)
			snprintf(score, sizeof(score), "%" PRIu32, h->fraud_score);
		else
			snprintf(score, sizeof(score), "-");
		fprintf(out,
			"%-24s %-20s %-10s %-15s %8" PRIu64 " %10" PRIu64 " %6" PRIu64
			" %7" PRIu64 " %8" PRIu64 " %5" PRIu64 " %9" PRIu64 " %5s %8" PRIu64
			" %7" PRIu64 " %-8s  %s\n",
			h->id, name, age, seqs, h->batches, h->events, fleet_host_gaps(h), h->repeats,
			h->rejected, h->bad_events, h->spool_dropped_events, score,
			(uint64_t)h->n_findings + h->findings_dropped,
			(uint64_t)h->n_devices + h->devices_dropped,
			*fleet_host_worst_severity(h) ? fleet_host_worst_severity(h) : "-",
			types.data ? types.data : "");
		strbuf_free(&types);
	}
	fprintf(out, "\n%u hosts, %" PRIu64 " batches, %" PRIu64 " events, %" PRIu64
		     " repeats, %" PRIu64 " events of unknown kind, %" PRIu64
		     " undecodable events dropped\n",
		HASH_COUNT(v->hosts), v->batches, v->events, v->repeats, v->unknown_events,
		v->bad_events);
	uint64_t total = 0;
	for (int r = 1; r < BATCH_VERDICT_COUNT; r++)
		total += v->rejected[r];
	fprintf(out, "rejected: %" PRIu64, total);
	for (int r = 1; r < BATCH_VERDICT_COUNT; r++)
		if (v->rejected[r])
			fprintf(out, " %s=%" PRIu64, batch_verdict_name(r), v->rejected[r]);
	fprintf(out, "\n");
}

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	gw_json_escape(out, s ? s : "");
	fputc('"', out);
}

void fleet_view_report_json(struct fleet_view *v, FILE *out)
{
	struct fleet_host *h;
	uint64_t total = 0;

	HASH_SORT(v->hosts, host_cmp);
	fprintf(out, "{\"hosts\":[");
	for (h = v->hosts; h; h = h->hh.next) {
		const struct {
			const char *key, *value;
		} ids[] = {
			{ "host_id", h->id },
			{ "hostname", h->hostname },
			{ "machine_id", h->machine_id },
			{ "boot_id", h->boot_id },
			{ "agent_version", h->agent_version },
			{ "kernel_release", h->kernel_release },
			{ "cert_identity", h->cert_identity },
		};

		fputs(h == v->hosts ? "{" : ",{", out);
		for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
			fprintf(out, "%s\"%s\":", i ? "," : "", ids[i].key);
			json_str(out, ids[i].value);
		}
		fprintf(out,
			",\"first_seen_ns\":%" PRIu64 ",\"last_seen_ns\":%" PRIu64
			",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64 ",\"batches\":%" PRIu64
			",\"events\":%" PRIu64 ",\"gaps\":%" PRIu64 ",\"repeats\":%" PRIu64
			",\"seq_resets\":%" PRIu64
			",\"rejected\":%" PRIu64 ",\"undecodable_events\":%" PRIu64
			",\"spool_dropped_batches\":%" PRIu64
			",\"spool_dropped_events\":%" PRIu64 ",\"agent_drops\":%" PRIu64
			",\"devices\":%" PRIu64 ",\"findings\":%" PRIu64 ",\"missing\":[",
			h->first_seen_ns, h->last_seen_ns, fleet_host_first_seq(h),
			fleet_host_last_seq(h), h->batches, h->events, fleet_host_gaps(h),
			h->repeats, h->seq_resets, h->rejected, h->bad_events, h->spool_dropped_batches,
			h->spool_dropped_events,
			h->agent_drops, (uint64_t)h->n_devices + h->devices_dropped,
			(uint64_t)h->n_findings + h->findings_dropped);
		for (size_t i = 1; i < h->n_ranges; i++)
			fprintf(out, "%s[%" PRIu64 ",%" PRIu64 "]", i > 1 ? "," : "",
				h->ranges[i - 1].hi + 1, h->ranges[i].lo - 1);
		fprintf(out, "],\"fraud_score\":");
		if (h->has_score)
			fprintf(out, "%" PRIu32, h->fraud_score);
		else
			fputs("null", out);
		fprintf(out, ",\"worst_severity\":");
		json_str(out, fleet_host_worst_severity(h));
		fprintf(out, ",\"finding_rules\":[");
		for (size_t i = 0; i < h->n_findings; i++) {
			fprintf(out, "%s{\"rule_id\":", i ? "," : "");
			json_str(out, h->findings[i].rule_id);
			fprintf(out, ",\"severity\":");
			json_str(out, h->findings[i].severity);
			fprintf(out, ",\"count\":%" PRIu64 "}", h->findings[i].count);
		}
		fprintf(out, "],\"device_ids\":[");
		for (size_t i = 0; i < h->n_devices; i++) {
			fputs(i ? "," : "", out);
			json_str(out, h->devices[i]);
		}
		fprintf(out, "],\"types\":{");
		for (size_t i = 0; i < h->n_types; i++) {
			fprintf(out, "%s", i ? "," : "");
			json_str(out, h->types[i].name);
			fprintf(out, ":%" PRIu64, h->types[i].count);
		}
		fprintf(out, "}}");
	}
	fprintf(out, "],\"batches\":%" PRIu64 ",\"events\":%" PRIu64 ",\"repeats\":%" PRIu64
		     ",\"unknown_events\":%" PRIu64 ",\"undecodable_events\":%" PRIu64
		     ",\"rejected\":{",
		v->batches, v->events, v->repeats, v->unknown_events, v->bad_events);
	for (int r = 1; r < BATCH_VERDICT_COUNT; r++) {
		total += v->rejected[r];
		fprintf(out, "%s\"%s\":%" PRIu64, r > 1 ? "," : "", batch_verdict_name(r),
			v->rejected[r]);
	}
	fprintf(out, "},\"rejected_total\":%" PRIu64 "}\n", total);
}
