/*
 * net_domain.c - the network domain as the agent runs it (network.h): its state, and what it does
 * at start, per record, per fact, per tick and at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/agent.h"
#include "network.h"

static int net_domain_load(struct gw_agent *a, void *state)
{
	(void)a;
	/* network hooks failing leave the process hooks running: the status says why */
	if (net_load(state))
		fprintf(stderr, "ghostwatch: network hooks unavailable, continuing without them\n");
	return 0;
}

static int net_domain_start(struct gw_agent *a, void *state)
{
	(void)a;
	net_start(state);
	return 0;
}

static int net_domain_record(struct gw_agent *a, void *state, const void *data, size_t size)
{
	(void)a;
	return net_handle_record(state, data, size);
}

static void net_domain_observe(struct gw_agent *a, void *state, const struct gw_fact *f)
{
	(void)a;
	if (f->kind == GW_FACT_EXIT)
		net_on_process_exit(state, f->process_id, gw_now_boottime_ns());
}

static void net_domain_tick(struct gw_agent *a, void *state, uint64_t now_ns)
{
	(void)a;
	net_tick(state, now_ns);
}

static uint64_t net_domain_next_tick(const struct gw_agent *a, void *state, uint64_t now_ns)
{
	(void)a;
	return net_next_tick(state, now_ns);
}

static void net_domain_counters(const struct gw_agent *a, void *state, struct gw_stats_parts *p)
{
	const struct gw_net *n = state;
	const char *names[64];
	uint64_t values[64], flows = 0, dns = 0;
	size_t k = net_counters(n, names, values, 64);

	(void)a;
	for (size_t i = 0; i < k; i++) {
		if (!strcmp(names[i], "flow_evictions"))
			flows = values[i];
		else if (!strcmp(names[i], "dns_cache_evictions"))
			dns = values[i];
	}
	agent_stats_add(&p->evictions, "flows", flows);
	agent_stats_add(&p->evictions, "dns_cache", dns);
	if (n->opt.enabled)
		for (size_t i = 0; i < k; i++)
			agent_stats_add(&p->network, names[i], values[i]);
}

static void net_domain_finish(struct gw_agent *a, void *state)
{
	(void)a;
	net_shutdown(state);
}

static void net_domain_destroy(struct gw_agent *a, void *state)
{
	(void)a;
	net_destroy(state);
	free(state);
}

int net_register(struct gw_agent *a, const struct gw_net_options *o)
{
	struct gw_net *n = calloc(1, sizeof(*n));
	int err;

	if (!n)
		return -1;
	err = net_init(n, a, o);
	if (!err)
		err = agent_register(a, &(struct gw_domain){
						.name = "net",
						.state = n,
						.record_types = { GW_EV_TCP_CONNECT, GW_EV_TCP_ACCEPT,
								  GW_EV_TCP_CLOSE, GW_EV_UDP_SEND,
								  GW_EV_DNS_ANSWER, GW_EV_DNS_QUERY,
								  GW_EV_TCP_PROTO },
					.load = net_domain_load,
					.start = net_domain_start,
						.handle_record = net_domain_record,
						.observe = net_domain_observe,
						.tick = net_domain_tick,
						.next_tick = net_domain_next_tick,
						.counters = net_domain_counters,
						.finish = net_domain_finish,
						.destroy = net_domain_destroy,
					});
	if (err) {
		net_destroy(n);
		free(n);
	}
	return err;
}
