/* roster.c - the employee roster, silent employees and enrolled hosts that never reported. See
 * roster.h. */
#include "roster.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/text.h"
#include "fleet_html.h"
#include "fleet_view.h"

#define NS_PER_DAY (86400ull * 1000000000ull)

struct enrolled {
	char host_id[GW_HOST_ID_MAX + 1];
	char file[256];
	uint64_t issued_ns;
};

/* The names deploy/host-id.sh reserves for the fleet's servers: never an agent. */
static bool reserved(const char *cn)
{
	static const char *const names[] = { "collector", "ghostwatch-collector", "ghostwatch",
					     "sys", "system", "admin", "nats", "jetstream" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(cn, names[i]))
			return true;
	return cn[0] == '_';
}

/* An agent's client certificate: CN is a host id, client auth, not a CA. */
static bool agent_certificate(X509 *x, char *cn, size_t size, uint64_t *issued_ns)
{
	const ASN1_TIME *nb = X509_get0_notBefore(x);
	struct tm tm;
	int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, (int)size);

	if (n <= 0 || (size_t)n >= size || !host_id_valid(cn, (size_t)n) || reserved(cn) ||
	    X509_check_ca(x) || !(X509_get_extension_flags(x) & EXFLAG_XKUSAGE) ||
	    !(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT))
		return false;
	*issued_ns = nb && ASN1_TIME_to_tm(nb, &tm) ? (uint64_t)timegm(&tm) * 1000000000ull : 0;
	return true;
}

static int cert_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 4 &&
	       (!strcmp(d->d_name + n - 4, ".pem") || !strcmp(d->d_name + n - 4, ".crt"));
}

/* The hosts enrolled in dir (one per host id); how many, or -1 when dir cannot be read. */
static int read_enrolled(const char *dir, struct enrolled **out)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, cert_name, alphasort), got = 0;

	*out = calloc(n > 0 ? (size_t)n : 1, sizeof(**out));
	if (n < 0 || !*out) {
		for (int i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[4096], cn[GW_HOST_ID_MAX + 2];
		struct enrolled *e = &(*out)[got];
		FILE *f;
		X509 *x = NULL;
		bool dup = false;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		f = fopen(path, "r");
		if (f) {
			x = PEM_read_X509(f, NULL, NULL, NULL);
			fclose(f);
		}
		if (x && agent_certificate(x, cn, sizeof(cn), &e->issued_ns)) {
			for (int j = 0; j < got; j++)
				dup |= !strcmp((*out)[j].host_id, cn);
			if (!dup) {
				memcpy(e->host_id, cn, strlen(cn) + 1); /* valid: <= 64 */
				snprintf(e->file, sizeof(e->file), "%s", names[i]->d_name);
				got++;
			}
		}
		X509_free(x);
		free(names[i]);
	}
	free(names);
	return got;
}

static bool never_reported(struct fleet_view *v, const char *host_id)
{
	struct fleet_host *h;

	HASH_FIND_STR(v->hosts, host_id, h);
	return !h || !h->batches;
}

/* The latest arrival of any host of employee `id`. */
static uint64_t employee_last_seen(const struct fleet_view *v, const char *id, size_t *n_hosts)
{
	uint64_t last = 0;

	*n_hosts = 0;
	for (const struct fleet_host *h = v->hosts; h; h = h->hh.next) {
		if (!h->employee_id || strcmp(h->employee_id, id))
			continue;
		(*n_hosts)++;
		if (h->last_seen_ns > last)
			last = h->last_seen_ns;
	}
	return last;
}

/* Whether h is the first host (in view order) of its employee: each employee once. */
static bool first_of_employee(const struct fleet_view *v, const struct fleet_host *h)
{
	if (!h->employee_id || !*h->employee_id)
		return false;
	for (const struct fleet_host *o = v->hosts; o != h; o = o->hh.next)
		if (o->employee_id && !strcmp(o->employee_id, h->employee_id))
			return false;
	return true;
}

static bool silent(uint64_t last_ns, uint64_t now_ns, const struct roster_opts *o)
{
	return now_ns > last_ns && now_ns - last_ns >= o->silent_days * NS_PER_DAY;
}

void roster_report_table(struct fleet_view *v, FILE *out, uint64_t now_ns,
			 const struct roster_opts *o)
{
	struct enrolled *en = NULL;
	int n_en;

	fprintf(out, "\nemployees (employee.id of the agents; silent: no host reported for %u "
		     "days):\n", o->silent_days);
	for (const struct fleet_host *h = v->hosts; h; h = h->hh.next) {
		size_t n_hosts;
		uint64_t last;

		if (!first_of_employee(v, h))
			continue;
		last = employee_last_seen(v, h->employee_id, &n_hosts);
		fprintf(out, "  %-24s %zu host(s), last report %" PRIu64 " h ago%s:",
			h->employee_id, n_hosts,
			(uint64_t)(now_ns > last ? (now_ns - last) / 3600000000000ull : 0),
			silent(last, now_ns, o) ? " SILENT" : "");
		for (const struct fleet_host *x = h; x; x = x->hh.next)
			if (x->employee_id && !strcmp(x->employee_id, h->employee_id))
				fprintf(out, " %s", x->id);
		fputc('\n', out);
	}
	if (!o->enrolled_dir)
		return;
	n_en = read_enrolled(o->enrolled_dir, &en);
	if (n_en < 0)
		fprintf(out, "enrolled hosts: cannot read %s\n", o->enrolled_dir);
	else
		fprintf(out, "enrolled, never reported (certificates in %s):\n", o->enrolled_dir);
	for (int i = 0; i < n_en; i++)
		if (never_reported(v, en[i].host_id))
			fprintf(out, "  %-24s NEVER REPORTED (certificate %s)\n", en[i].host_id,
				en[i].file);
	free(en);
}

void roster_report_html(struct fleet_view *v, FILE *out, uint64_t now_ns,
			const struct roster_opts *o)
{
	struct enrolled *en = NULL;
	int n_en = o->enrolled_dir ? read_enrolled(o->enrolled_dir, &en) : 0;
	bool any = false;

	fprintf(out, "<h2 id=\"roster\">Employees</h2>\n<p class=\"muted\">As the agents declare "
		     "them (employee.id); silent: no host reported for %u days.</p>\n"
		     "<table class=\"roster\"><tr><th>Employee</th><th>Hosts</th>"
		     "<th>Last report</th></tr>\n", o->silent_days);
	for (const struct fleet_host *h = v->hosts; h; h = h->hh.next) {
		size_t n_hosts;
		uint64_t last;
		bool quiet;

		if (!first_of_employee(v, h))
			continue;
		any = true;
		last = employee_last_seen(v, h->employee_id, &n_hosts);
		quiet = silent(last, now_ns, o);
		fprintf(out, "<tr%s><td>", quiet ? " class=\"silent\"" : "");
		fleet_html_escape(out, h->employee_id);
		fputs("</td><td>", out);
		for (const struct fleet_host *x = h; x; x = x->hh.next) {
			if (!x->employee_id || strcmp(x->employee_id,
							     h->employee_id))
				continue;
			fleet_html_escape(out, x->id);
			fputc(' ', out);
		}
		fprintf(out, "</td><td>%" PRIu64 " h ago%s</td></tr>\n",
			(uint64_t)(now_ns > last ? (now_ns - last) / 3600000000000ull : 0),
			quiet ? " <b>SILENT</b>" : "");
	}
	if (!any)
		fputs("<tr><td colspan=\"3\" class=\"muted\">No agent declared an employee.</td>"
		      "</tr>\n", out);
	fputs("</table>\n", out);
	if (o->enrolled_dir) {
		fputs("<h3>Enrolled, never reported</h3>\n<ul class=\"never\">\n", out);
		if (n_en < 0) {
			fputs("<li>cannot read ", out);
			fleet_html_escape(out, o->enrolled_dir);
			fputs("</li>\n", out);
		}
		for (int i = 0; i < n_en; i++) {
			if (!never_reported(v, en[i].host_id))
				continue;
			fputs("<li><b>", out);
			fleet_html_escape(out, en[i].host_id);
			fputs("</b> (certificate ", out);
			fleet_html_escape(out, en[i].file);
			fputs(")</li>\n", out);
		}
		fputs("</ul>\n", out);
	}
	free(en);
}

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	gw_json_escape(out, s ? s : "");
	fputc('"', out);
}

void roster_report_json(struct fleet_view *v, FILE *out, uint64_t now_ns,
			const struct roster_opts *o)
{
	struct enrolled *en = NULL;
	int n_en = o->enrolled_dir ? read_enrolled(o->enrolled_dir, &en) : 0;
	bool first = true;

	fprintf(out, "\"roster\":{\"silent_days\":%u,\"employees\":[", o->silent_days);
	for (const struct fleet_host *h = v->hosts; h; h = h->hh.next) {
		size_t n_hosts;
		uint64_t last;
		bool first_host = true;

		if (!first_of_employee(v, h))
			continue;
		last = employee_last_seen(v, h->employee_id, &n_hosts);
		fputs(first ? "{\"employee_id\":" : ",{\"employee_id\":", out);
		first = false;
		json_str(out, h->employee_id);
		fprintf(out, ",\"last_seen_ns\":%" PRIu64 ",\"silent\":%s,\"hosts\":[", last,
			silent(last, now_ns, o) ? "true" : "false");
		for (const struct fleet_host *x = h; x; x = x->hh.next) {
			if (!x->employee_id || strcmp(x->employee_id,
							     h->employee_id))
				continue;
			fputs(first_host ? "" : ",", out);
			first_host = false;
			json_str(out, x->id);
		}
		fputs("]}", out);
	}
	fprintf(out, "],\"enrolled_dir\":");
	if (o->enrolled_dir)
		json_str(out, o->enrolled_dir);
	else
		fputs("null", out);
	fprintf(out, ",\"enrolled\":%d,\"never_reported\":[", n_en > 0 ? n_en : 0);
	first = true;
	for (int i = 0; i < n_en; i++) {
		if (!never_reported(v, en[i].host_id))
			continue;
		fputs(first ? "{\"host_id\":" : ",{\"host_id\":", out);
		first = false;
		json_str(out, en[i].host_id);
		fputs(",\"certificate\":", out);
		json_str(out, en[i].file);
		fprintf(out, ",\"issued_ns\":%" PRIu64 "}", en[i].issued_ns);
	}
	fputs("]}", out);
	free(en);
}
