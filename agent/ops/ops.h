/*
 * ops.h - the ops endpoint (metrics.listen): Prometheus text metrics and a health check for the
 * people who run the agent, off unless configured. A domain without BPF: once a second its tick
 * renders a snapshot of the agent's health (AgentStats, the fleet transport's state, the fraud
 * score, findings and events emitted per kind, which its sink counts) into text and hands it to
 * the HTTP thread (ops_http.h), which never sees the agent context. `ghostwatch status`
 * (ops_status.h) reads the same endpoint for a person.
 */
#ifndef GW_OPS_H
#define GW_OPS_H

struct gw_agent;

struct ops_options {
	const char *listen; /* NULL or "": off; else a listen_addr.h endpoint */
};

/* Registers the domain and its sink when listen is set; 0 or -errno (a bad address: -EINVAL,
 * said on stderr). */
int ops_register(struct gw_agent *a, const struct ops_options *o);

#endif
