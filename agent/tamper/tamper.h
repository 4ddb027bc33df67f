/*
 * tamper.h - the tamper domain: what the agent can tell about attempts to silence it. At the end of
 * the run, a stop signal sent by anyone but the service manager or a package manager
 * (core/stop_sender.h) is raised as GW-AGENT-STOPPED, naming the sender, in time for the final
 * batch. At start and at each SIGHUP it reports what the agent runs with: an AgentIntegrity event
 * with the digests of its executable, config and rules files (integrity.h). Every check_seconds
 * (and at start) it reads its BPF links back from the kernel (core/attach_registry.h): one gone,
 * detached or running another program is GW-AGENT-DETACHED, naming the program, and a detached
 * cgroup link is attached again. The same check asks whether the ring still brings what the
 * programs make (tamper_ring.h): records consumed by another program, flood limits rewritten or
 * an exit canary gone unseen are GW-AGENT-RING-TAMPERED.
 */
#ifndef GW_TAMPER_H
#define GW_TAMPER_H

#include <stdbool.h>
#include <stdint.h>

struct gw_agent;

#define TAMPER_PATH_MAX 4096

struct tamper_options {
	bool report_stop; /* fleet mode: an unexpected stop is a finding (not for the debug view) */
	const char *config_path; /* fleet mode's config file, NULL outside (copied) */
	uint32_t check_seconds;	 /* how often the links are checked; 0: only at start */
};

int tamper_register(struct gw_agent *a, const struct tamper_options *o);

struct gw_behaviour_rule;

/* For the domain's own checks (tamper_ring.c): logs why and publishes it as `rule`'s finding
 * about `subject`, shown by an "agent" evidence. */
void tamper_raise(struct gw_agent *a, const struct gw_behaviour_rule *rule, const char *subject,
		  const char *why);

#endif
