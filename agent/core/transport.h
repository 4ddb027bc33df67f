/*
 * transport.h - the fleet transport's state as the rest of the agent sees it (the ops endpoint):
 * spool backlog, acks, connection. The fleet daemon provides it through a source on the agent
 * context; `debug` has none. Core only carries it, so no domain has to include the fleet.
 */
#ifndef GW_TRANSPORT_H
#define GW_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

struct gw_transport_stats {
	bool connected;
	uint64_t spool_bytes;
	uint64_t spool_batches;		/* unacknowledged batches in the spool */
	uint64_t spool_events;
	uint64_t oldest_unacked_ns;	/* realtime the oldest of them was cut, 0 when none */
	uint64_t last_ack_ns;		/* realtime of the last PubAck, 0 before the first */
	uint64_t reconnects;
	uint64_t published;
	uint64_t publish_errors;
	uint64_t queue_dropped_batches;
	uint64_t spool_dropped_batches; /* by the spool's size cap, or lost to corruption */
};

struct gw_agent;

struct gw_transport_source {
	/* false when there is no transport right now (a reload is replacing it) */
	bool (*get)(struct gw_agent *a, void *ctx, struct gw_transport_stats *st);
	void *ctx;
};

/* false without a source or when it has nothing to say */
static inline bool gw_transport_get(struct gw_agent *a, const struct gw_transport_source *s,
				    struct gw_transport_stats *st)
{
	return s->get && s->get(a, s->ctx, st);
}

#endif
