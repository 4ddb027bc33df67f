/* tamper.c - tamper evidence across an agent's runs. See tamper.h. */
#include "tamper.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_finding.h"
#include "fleet_view.h"

void tamper_opts_default(struct tamper_opts *o)
{
	o->silenced_after_ns = (uint64_t)TAMPER_SILENCED_AFTER_S * 1000000000ull;
}

static bool same(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static void raise_finding(FILE *out, struct fleet_view *v, const char *host_id, const char *rule,
		  const char *title, const char *severity, const char *matched, uint64_t now_ns)
{
	fleet_finding_raise(out, v, host_id, &(struct fleet_finding){
						     .rule_id = rule,
						     .title = title,
						     .category = "tamper",
						     .severity = severity,
						     .confidence = "high",
						     .technique = "T1562.001",
						     .subject = "agent",
						     .matched = matched,
						     .time_ns = now_ns,
					     });
}

/* The run a batch belongs to, folded into the host's state: later runs and later windows win, so
 * folding one batch twice, or onto a value another collector wrote since, changes nothing more. */
static void note_run(struct fleet_tamper *t, const Ghostwatch__V1__Batch *b)
{
	const Ghostwatch__V1__HostIdentity *id = b->host;

	if (!id->agent_start_ns || id->agent_start_ns < t->agent_start_ns)
		return; /* an agent that does not say, or a late batch of an older run */
	if (id->agent_start_ns > t->agent_start_ns) {
		t->agent_start_ns = id->agent_start_ns;
		t->window_end_ns = 0;
		fleet_set_str(&t->boot_id, id->boot_id);
	}
	if (b->window_end_ns > t->window_end_ns)
		t->window_end_ns = b->window_end_ns;
}

/* A new run of the agent is checked against the previous run's end. */
static void check_run(const struct tamper_opts *o, FILE *out, struct fleet_view *v,
		      const struct fleet_tamper *t, const Ghostwatch__V1__Batch *b, uint64_t now_ns)
{
	const Ghostwatch__V1__HostIdentity *id = b->host;
	uint64_t gap_s;
	char why[256];

	if (!id->agent_start_ns || id->agent_start_ns <= t->agent_start_ns || !t->agent_start_ns ||
	    !same(id->boot_id, t->boot_id) || !t->window_end_ns ||
	    id->agent_start_ns <= t->window_end_ns + o->silenced_after_ns)
		return;
	gap_s = (id->agent_start_ns - t->window_end_ns) / 1000000000ull;

	snprintf(why, sizeof(why),
		 "the agent was down %" PRIu64 " s while the host ran (boot id %s): gap_s=%" PRIu64,
		 gap_s, id->boot_id, gap_s);
	raise_finding(out, v, id->host_id, "GW-FLEET-SILENCED", "Agent silenced while the host ran",
		      "high", why, now_ns);
}

/* "binary, rules" into out: what differs between the stored hashes and this start's. */
static void changed_parts(const struct fleet_tamper *t, const Ghostwatch__V1__AgentIntegrity *in,
			  char *out, size_t size)
{
	const char *names[3] = { "binary", "config", "rules" };
	const char *was[3] = { t->binary_sha256, t->config_sha256, t->rules_sha256 };
	const char *now[3] = { in->binary_sha256, in->config_sha256, in->rules_sha256 };
	size_t len = 0;

	out[0] = '\0';
	for (int i = 0; i < 3 && len < size; i++)
		if (was[i] && *was[i] && !same(was[i], now[i]))
			len += (size_t)snprintf(out + len, size - len, "%s%s %.12s -> %.12s",
						len ? ", " : "", names[i], was[i], now[i]);
}

static void check_integrity(FILE *out, struct fleet_view *v, const struct fleet_tamper *t,
			    const Ghostwatch__V1__Batch *b, const Ghostwatch__V1__AgentIntegrity *in,
			    uint64_t now_ns)
{
	const Ghostwatch__V1__HostIdentity *id = b->host;
	char parts[200], why[256];

	changed_parts(t, in, parts, sizeof(parts));
	if (parts[0] && same(t->agent_version, id->agent_version)) {
		snprintf(why, sizeof(why), "changed between starts of version %s: %s",
			 id->agent_version, parts);
		raise_finding(out, v, id->host_id, "GW-FLEET-CONFIG-CHANGED",
		      "Agent binary, config or rules changed without a version change", "medium", why,
		      now_ns);
	}
	if (!in->rules_enabled) {
		snprintf(why, sizeof(why), "the agent runs with 0 of %u rules enabled",
			 in->rules_total);
		raise_finding(out, v, id->host_id, "GW-FLEET-DETECTIONS-OFF",
		      "Agent runs with detections disabled", "high", why, now_ns);
	}
}

static void note_integrity(struct fleet_tamper *t, const Ghostwatch__V1__Batch *b,
			   const Ghostwatch__V1__AgentIntegrity *in)
{
	if (b->host->agent_start_ns < t->agent_start_ns)
		return; /* an older run's digests */
	fleet_set_str(&t->agent_version, b->host->agent_version);
	fleet_set_str(&t->binary_sha256, in->binary_sha256);
	fleet_set_str(&t->config_sha256, in->config_sha256);
	fleet_set_str(&t->rules_sha256, in->rules_sha256);
}

void tamper_note_batch(struct fleet_tamper *t, const Ghostwatch__V1__Batch *b)
{
	note_run(t, b);
	for (size_t i = 0; i < b->n_events; i++)
		if (b->events[i]->kind_case == GHOSTWATCH__V1__EVENT__KIND_INTEGRITY)
			note_integrity(t, b, b->events[i]->integrity);
}

void tamper_on_batch(const struct tamper_opts *o, FILE *out, struct fleet_view *v,
		     const Ghostwatch__V1__Batch *b, uint64_t now_ns)
{
	struct fleet_host *h = fleet_view_host(v, b->host->host_id);

	if (!h)
		return;
	check_run(o, out, v, &h->tamper, b, now_ns);
	note_run(&h->tamper, b);
	for (size_t i = 0; i < b->n_events; i++)
		if (b->events[i]->kind_case == GHOSTWATCH__V1__EVENT__KIND_INTEGRITY) {
			check_integrity(out, v, &h->tamper, b, b->events[i]->integrity, now_ns);
			note_integrity(&h->tamper, b, b->events[i]->integrity);
		}
}

void tamper_free(struct fleet_tamper *t)
{
	free(t->boot_id);
	free(t->agent_version);
	free(t->binary_sha256);
	free(t->config_sha256);
	free(t->rules_sha256);
	memset(t, 0, sizeof(*t));
}

static char *or_empty(char *s)
{
	return s ? s : (char *)"";
}

void tamper_to_msg(const struct fleet_tamper *t, Ghostwatch__V1__FleetTamperState *m)
{
	ghostwatch__v1__fleet_tamper_state__init(m);
	m->boot_id = or_empty(t->boot_id);
	m->agent_start_ns = t->agent_start_ns;
	m->window_end_ns = t->window_end_ns;
	m->agent_version = or_empty(t->agent_version);
	m->binary_sha256 = or_empty(t->binary_sha256);
	m->config_sha256 = or_empty(t->config_sha256);
	m->rules_sha256 = or_empty(t->rules_sha256);
}

static void take(char **dst, const char *src)
{
	if (src && *src)
		fleet_set_str(dst, src);
}

void tamper_merge(struct fleet_tamper *t, const Ghostwatch__V1__FleetTamperState *m)
{
	if (m->agent_start_ns < t->agent_start_ns)
		return;
	if (m->agent_start_ns > t->agent_start_ns || m->window_end_ns > t->window_end_ns)
		t->window_end_ns = m->window_end_ns;
	t->agent_start_ns = m->agent_start_ns;
	take(&t->boot_id, m->boot_id);
	take(&t->agent_version, m->agent_version);
	take(&t->binary_sha256, m->binary_sha256);
	take(&t->config_sha256, m->config_sha256);
	take(&t->rules_sha256, m->rules_sha256);
}
