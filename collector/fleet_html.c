/* fleet_html.c - the fleet view as one HTML page. See fleet_html.h. */
#include "fleet_html.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "roster.h"

#define FARM_RULE "GW-FLEET-LAPTOP-FARM"
#define MAX_FARMS 64

static const char STYLE[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1b1f24;background:#f6f7f9}"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}"
	".summary{color:#57606a}"
	".farms{display:flex;flex-wrap:wrap;gap:16px}"
	".farm{border:3px solid #cf222e;border-radius:10px;padding:10px 14px;background:#fff0f0}"
	".farm.critical{background:#ffd8d3}"
	".farm h3{margin:0 0 6px;font-size:15px}.farm ul{margin:0;padding-left:18px}"
	".farm .evidence{max-width:520px;color:#57606a;font-size:12px}"
	"table{border-collapse:collapse;background:#fff;width:100%}"
	"th,td{border-bottom:1px solid #d0d7de;padding:6px 8px;text-align:left;vertical-align:top}"
	"th{background:#eaeef2}"
	".score{font-weight:700;font-size:18px}"
	".sev{border-radius:4px;padding:0 5px;color:#fff;font-size:12px}"
	".sev-critical{background:#82071e}.sev-high{background:#cf222e}"
	".sev-medium{background:#bf8700}.sev-low{background:#0969da}.sev-info{background:#57606a}"
	".finding .evidence{color:#57606a;font-size:12px;max-width:420px}"
	".muted{color:#8c959f}.loss{color:#cf222e;font-weight:700}"
	".heat{border-collapse:collapse;width:auto;background:none}"
	".heat td{width:7px;height:7px;padding:0;border:1px solid #fff}"
	".heat th{font-size:9px;padding:0 3px;background:none;border:0}"
	".roster tr.silent td{background:#fff8c5}";

void fleet_html_escape(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default:
			/* control characters have no business in a page */
			fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
		}
	}
}

static void text(FILE *out, const char *s, const char *none)
{
	fleet_html_escape(out, s && *s ? s : none);
}

static int score_cmp(struct fleet_host *a, struct fleet_host *b)
{
	uint32_t sa = fleet_host_score(a), sb = fleet_host_score(b);

	if (sa != sb)
		return sa > sb ? -1 : 1;
	return strcmp(a->id, b->id);
}

/* The farms the hosts' laptop-farm findings name: each distinct member list once. */
static void farms(struct fleet_view *v, FILE *out)
{
	const char *seen[MAX_FARMS];
	size_t n = 0;

	fputs("<h2>Laptop farms</h2>\n<div class=\"farms\">\n", out);
	for (struct fleet_host *h = v->hosts; h && n < MAX_FARMS; h = h->hh.next) {
		const char *sig = fleet_host_raised(h, FARM_RULE), *bar = strchr(sig, '|');
		bool dup = !*sig || !bar;
		char members[FLEET_SIGNATURE], spaced[FLEET_SIGNATURE];

		for (size_t i = 0; i < n && !dup; i++)
			dup = strncmp(seen[i], sig, (size_t)(bar - sig) + 1) == 0;
		if (dup)
			continue;
		seen[n++] = sig;
		snprintf(members, sizeof(members), "%.*s", (int)(bar - sig), sig);
		fprintf(out, "<section class=\"farm%s\" data-hosts=\"",
			strcmp(bar + 1, "critical") == 0 ? " critical" : "");
		snprintf(spaced, sizeof(spaced), "%s", members);
		for (char *m = strchr(spaced, ','); m; m = strchr(m, ','))
			*m = ' ';
		text(out, spaced, "");
		fputs("\"><h3>Farm, ", out);
		text(out, bar + 1, "?");
		fputs(" severity</h3><ul>", out);
		for (char *save = NULL, *m = strtok_r(members, ",", &save); m;
		     m = strtok_r(NULL, ",", &save)) {
			struct fleet_host *mh;

			HASH_FIND(hh, v->hosts, m, strlen(m), mh);
			fputs("<li class=\"farm-host\"><a href=\"#host-", out);
			text(out, m, "");
			fputs("\">", out);
			text(out, m, "");
			fputs("</a> &mdash; ", out);
			text(out, mh ? mh->hostname : NULL, "?");
			fputs(", employee ", out);
			text(out, mh ? mh->employee_id : NULL, "undeclared");
			fputs("</li>", out);
		}
		fputs("</ul></section>\n", out);
	}
	if (!n)
		fputs("<p class=\"muted\">No laptop farm: no two employees' hosts share a room.</p>\n",
		      out);
	fputs("</div>\n", out);
}

/* The declared timezone's offset from UTC now, in hours; *known false (and 0) when the zone is
 * not declared or not in the system's zone database. */
static int tz_offset_hours(const char *zone, time_t now, bool *known)
{
	char path[256], *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	struct tm tm;
	int off = 0;

	*known = zone && *zone && zone[0] != '/' && !strstr(zone, "..") &&
		 snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone) < (int)sizeof(path) &&
		 access(path, R_OK) == 0;
	if (*known) {
		setenv("TZ", zone, 1);
		tzset();
		if (localtime_r(&now, &tm))
			off = (int)(tm.tm_gmtoff / 3600);
		if (old)
			setenv("TZ", old, 1);
		else
			unsetenv("TZ");
		tzset();
	}
	free(old);
	return off;
}

static void heatmap(const struct fleet_host *h, FILE *out, time_t now)
{
	static const char *const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
	bool known;
	int off = tz_offset_hours(h->employee_timezone, now, &known);

	if (!h->has_activity) {
		fputs("<span class=\"muted no-activity\">no activity profile from this host's agent"
		      "</span>", out);
		return;
	}
	fputs("<table class=\"heat\" title=\"active minutes per hour of the week\"><tr><th></th>",
	      out);
	for (int hr = 0; hr < 24; hr += 6)
		fprintf(out, "<th colspan=\"6\">%02d</th>", hr);
	fputs("</tr>", out);
	for (int d = 0; d < 7; d++) {
		fprintf(out, "<tr><th>%s</th>", days[d]);
		for (int hr = 0; hr < 24; hr++) {
			/* local hour d*24+hr is UTC hour (local - offset) */
			int utc = ((d * 24 + hr - off) % FLEET_HOURS_OF_WEEK + FLEET_HOURS_OF_WEEK) %
				  FLEET_HOURS_OF_WEEK;
			uint32_t m = h->activity[utc] > 120 ? 120 : h->activity[utc];

			fprintf(out, "<td class=\"hour\" style=\"background:rgba(9,105,218,%.2f)\" "
				"title=\"%s %02d:00 %" PRIu32 " min\"></td>", m / 120.0 * 0.95 + 0.05,
				days[d], hr, h->activity[utc]);
		}
		fputs("</tr>", out);
	}
	fputs("</table><span class=\"muted\">", out);
	if (known)
		text(out, h->employee_timezone, "");
	else
		fputs("UTC (no declared timezone)", out);
	fputs("</span>", out);
}

static void host_row(const struct fleet_host *h, FILE *out, time_t now)
{
	uint64_t gaps = fleet_host_gaps(h);

	fprintf(out, "<tr class=\"host\" id=\"host-%s\"><td class=\"score\">%" PRIu32 "</td><td>",
		h->id, fleet_host_score(h));
	fprintf(out, "<b class=\"host-id\">%s</b><br><span class=\"hostname\">", h->id);
	text(out, h->hostname, "-");
	fputs("</span><br>employee <span class=\"employee\">", out);
	text(out, h->employee_id, "undeclared");
	fputs("</span></td><td class=\"findings\">", out);
	for (size_t i = 0; i < h->n_findings; i++) {
		fputs("<div class=\"finding\"><span class=\"sev sev-", out);
		text(out, h->findings[i].severity, "info");
		fputs("\">", out);
		text(out, h->findings[i].severity, "info");
		fputs("</span> ", out);
		text(out, h->findings[i].rule_id, "?");
		fprintf(out, " &times;%" PRIu64, h->findings[i].count);
		if (h->findings[i].matched[0]) {
			fputs("<div class=\"evidence\">", out);
			text(out, h->findings[i].matched, "");
			fputs("</div>", out);
		}
		fputs("</div>", out);
	}
	if (!h->n_findings)
		fputs("<span class=\"muted\">none</span>", out);
	fputs("</td><td class=\"place\">", out);
	if (h->place.time_ns) {
		fputs("gateway ", out);
		text(out, h->place.gateway, "-");
		fputs("<br>BSSID ", out);
		text(out, h->place.bssid, "-");
		fputs("<br>timezone ", out);
		text(out, h->place.timezone, "-");
		fprintf(out, "<br>%zu LAN neighbours", h->place.n_neighbours);
		if (h->place.ipkvm[0]) {
			fputs("<br><b>IP-KVM: ", out);
			text(out, h->place.ipkvm, "");
			fputs("</b>", out);
		}
	} else {
		fputs("<span class=\"muted\">no place reported</span>", out);
	}
	fputs("</td><td class=\"devices\">", out);
	for (size_t i = 0; i < h->n_devices; i++) {
		text(out, h->devices[i], "");
		fputs("<br>", out);
	}
	if (!h->n_devices)
		fputs("<span class=\"muted\">none</span>", out);
	fprintf(out, "</td><td class=\"losses\"><span class=\"%s\">%" PRIu64 " gaps</span><br>"
		"%" PRIu64 " repeats<br>%" PRIu64 " rejected<br>%" PRIu64 " spool drops<br>"
		"%" PRIu64 " agent drops</td><td>", gaps ? "loss gaps" : "gaps", gaps, h->repeats,
		h->rejected, h->spool_dropped_events, h->agent_drops);
	heatmap(h, out, now);
	fputs("</td></tr>\n", out);
}

int fleet_html_write(struct fleet_view *v, FILE *out, uint64_t now_ns,
		     const struct roster_opts *ro)
{
	time_t now = (time_t)(now_ns / 1000000000ull);
	struct tm tm;
	char when[64] = "";
	uint64_t rejected = 0;
	bool any_activity = false;

	HASH_SORT(v->hosts, score_cmp);
	for (int r = 1; r < BATCH_VERDICT_COUNT; r++)
		rejected += v->rejected[r];
	if (gmtime_r(&now, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<title>ghostwatch fleet</title><style>%s</style></head><body>\n"
		"<h1>ghostwatch fleet</h1>\n<p class=\"summary\">%s &middot; %u hosts &middot; "
		"%" PRIu64 " batches &middot; %" PRIu64 " events &middot; %" PRIu64 " repeats "
		"&middot; %" PRIu64 " rejected</p>\n", STYLE, when, HASH_COUNT(v->hosts),
		v->batches, v->events, v->repeats, rejected);
	farms(v, out);
	fputs("<h2>Hosts by score</h2>\n", out);
	for (struct fleet_host *h = v->hosts; h; h = h->hh.next)
		any_activity |= h->has_activity;
	if (!any_activity)
		fputs("<p class=\"muted\" id=\"no-activity\">No host reported an activity profile: "
		      "the heat-maps appear once agents send one.</p>\n", out);
	fputs("<table class=\"hosts\"><tr><th>Score</th><th>Host</th><th>Findings</th>"
	      "<th>Place</th><th>Devices</th><th>Gaps and drops</th><th>Activity (hour of week, "
	      "employee's timezone)</th></tr>\n", out);
	for (struct fleet_host *h = v->hosts; h; h = h->hh.next)
		host_row(h, out, now);
	fputs("</table>\n", out);
	if (ro)
		roster_report_html(v, out, now_ns, ro);
	fputs("</body></html>\n", out);
	return ferror(out) ? -1 : 0;
}
