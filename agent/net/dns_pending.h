/*
 * dns_pending.h - the DNS questions local processes have asked and not yet had answered.
 *
 * The address -> name cache must only learn from answers to real questions: anyone who can reach an
 * open UDP port on the host can send it a packet from source port 53, and an unverified "answer"
 * would let them rename a connection (an RMM relay shown as a CDN). By default the kernel side
 * already tells whether the receiving socket asked that server (GW_DNS_F_ASKED); with
 * --dns-verify=query (or where that check cannot run) an answer is believed only if it comes from
 * the server the query went to, to the same local port, with the same transaction id and question
 * name — the checks a stub resolver makes, which cost capturing every outgoing packet. Bounded: a
 * fixed pool, oldest question evicted (and counted) when full; questions expire after
 * DNS_PENDING_TTL_S.
 */
#ifndef GW_DNS_PENDING_H
#define GW_DNS_PENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns_parse.h"
#include "net_addr.h"

#define DNS_PENDING_TTL_S 30

struct dns_pending;

struct dns_pending_stats {
	uint64_t queries;
	uint64_t matched;
	uint64_t unsolicited;	/* answers matching no question: not believed */
	uint64_t expired;
	uint64_t evictions;
	uint64_t size;
};

struct dns_pending *dns_pending_new(size_t capacity);
void dns_pending_free(struct dns_pending *p);

void dns_pending_add(struct dns_pending *p, const struct gw_ip *server, uint16_t local_port,
		     const struct dns_query *q, uint64_t now_ns);
/* True (and the question is retired) when the answer matches a pending question. */
bool dns_pending_match(struct dns_pending *p, const struct gw_ip *server, uint16_t local_port,
		       const struct dns_response *answer, uint64_t now_ns);

void dns_pending_get_stats(const struct dns_pending *p, struct dns_pending_stats *out);

#endif
