/*
 * latency.h - the remote-operation latency domain: how far away the operator of a remote-control
 * connection is, measured live. It learns which processes are remote control from the facts (a
 * rule matched: rmm tools, VNC/RDP servers, input injectors; or an SSH login), watches their TCP
 * connections, reads the kernel's smoothed RTT and its deviation a few times per window (the
 * latency walk, bpf/latency.bpf.c) and emits a RemoteLatency event per connection per window.
 *
 * Its own rules: GW-LATENCY-FAR-OPERATOR (the controlling peer is at least far_rtt_ms away while
 * the operator works) and GW-LATENCY-NO-PHYSICAL-INPUT (processes keep starting in the graphical
 * session while every physical input device is silent and remote control is live; needs the input
 * cadence hook, whose windows it observes as facts).
 */
#ifndef GW_LATENCY_DOMAIN_H
#define GW_LATENCY_DOMAIN_H

#include <stdint.h>

struct gw_agent;

struct latency_options {
	uint32_t window_s;	   /* 0: the domain is off */
	uint32_t far_rtt_ms;	   /* 0: no far-operator finding */
	uint32_t no_input_minutes; /* 0: no activity-without-physical-input finding */
};

void latency_options_defaults(struct latency_options *o);
int latency_register(struct gw_agent *a, const struct latency_options *o);

#endif
