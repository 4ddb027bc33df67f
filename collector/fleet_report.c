/* fleet_report.c - the fleet view printed: a table for people, JSON for machines. */
#include "fleet_report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "strbuf.h"

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

void fleet_report_table(struct fleet_view *v, FILE *out, uint64_t now_ns)
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
		if (h->has_score || fleet_host_score(h))
			snprintf(score, sizeof(score), "%" PRIu32, fleet_host_score(h));
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

void fleet_report_json(struct fleet_view *v, FILE *out)
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
			{ "employee_id", h->employee_id },
			{ "employee_timezone", h->employee_timezone },
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
		fprintf(out, ",\"score\":%" PRIu32 ",\"place\":{\"gateway_mac_hash\":",
			fleet_host_score(h));
		json_str(out, h->place.gateway);
		fprintf(out, ",\"wifi_bssid_hash\":");
		json_str(out, h->place.bssid);
		fprintf(out, ",\"timezone\":");
		json_str(out, h->place.timezone);
		fprintf(out, ",\"ipkvm\":");
		json_str(out, h->place.ipkvm);
		fprintf(out, ",\"neighbours\":%zu,\"time_ns\":%" PRIu64 "}", h->place.n_neighbours,
			h->place.time_ns);
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
