/*
 * net_records.c - the network records the hooks send (TCP connect, accept and close, UDP sends,
 * DNS questions and answers), turned into connections, flow samples and DNS cache entries.
 * See network.h.
 */
#include <netinet/in.h>
#include <string.h>

#include "core/agent.h"
#include "gw_events.h"
#include "network.h"

enum flow_failure net_failure_of(uint32_t tcp_result)
{
	switch (tcp_result) {
	case GW_TCP_OK: return FLOW_FAIL_NONE;
	case GW_TCP_REFUSED: return FLOW_FAIL_REFUSED;
	case GW_TCP_TIMEOUT: return FLOW_FAIL_TIMEOUT;
	case GW_TCP_RESET: return FLOW_FAIL_RESET;
	default: return FLOW_FAIL_OTHER;
	}
}

void net_add_to_flow(struct gw_net *n, const struct gw_net_task *task,
		     const struct gw_net_tuple *tu, const struct gw_ip *remote,
		     struct flow_sample *s, uint64_t ktime_ns)
{
	struct flow_key k;

	flow_key_init(&k, net_task_process_id(n->agent, task), tu->protocol,
		      tu->direction ? FLOW_INBOUND : FLOW_OUTBOUND, remote,
		      tu->direction ? tu->local_port : tu->remote_port);
	s->pid = task->pid;
	flow_table_add(n->flows, &k, s, ktime_ns);
}

static int handle_tcp(struct gw_net *n, const struct gw_tcp_event *rec, size_t size)
{
	struct gw_tcp_event copy, *r = &copy;
	struct flow_sample s = { 0 };
	struct gw_ip remote;
	const char *name;

	if (size < sizeof(*r))
		return -1;
	memcpy(&copy, rec, sizeof(copy));
	if (r->hdr.type == GW_EV_TCP_CLOSE && r->tuple.direction > FLOW_INBOUND &&
	    !net_seed_claim_open(n, r)) {
		n->counters[NET_CLOSE_UNKNOWN_OWNER]++;
		return 0;
	}
	gw_ip_from_v6(&remote, r->tuple.remote_addr);
	if (r->hdr.type == GW_EV_TCP_CLOSE) {
		name = dns_cache_get(n->dns, r->task.uid, &remote, r->hdr.ktime_ns);
		s.bytes_sent = r->bytes_sent;
		s.bytes_received = r->bytes_received;
		s.rtt_us = r->srtt_us;
		s.failure = net_failure_of(r->result);
		/* how far away the peer is, for a virtual-input finding on this process (input
		 * cadence); a loopback RTT says nothing about an operator */
		if (r->srtt_us && r->task.pid && !gw_ip_is_loopback(&remote))
			net_publish_rtt(n, net_task_process_id(n->agent, &r->task), r->srtt_us);
	} else {
		bool inbound = r->hdr.type == GW_EV_TCP_ACCEPT;

		if (inbound && !r->task.pid &&
		    !net_seed_listener_owner(n, r->tuple.netns, r->tuple.local_port, &r->task))
			n->counters[NET_CONNECT_UNKNOWN_OWNER]++;
		/* after the owner is known: names are kept per uid */
		name = dns_cache_get(n->dns, r->task.uid, &remote, r->hdr.ktime_ns);
		net_emit_connection(n, &r->task, &r->tuple, name,
				flow_failure_name(net_failure_of(r->result)),
				inbound ? "tcp_accept" : "tcp_connect", r->duration_ns, r->sk_err);
		if (inbound && r->result == GW_TCP_OK)
			net_proto_on_accept(n, &r->task, &r->tuple, r->hdr.ktime_ns);
		s.connections = 1;
		s.failure = net_failure_of(r->result);
	}
	s.dns_name = name;
	net_add_to_flow(n, &r->task, &r->tuple, &remote, &s, r->hdr.ktime_ns);
	return 0;
}

static int handle_udp(struct gw_net *n, const struct gw_udp_event *r, size_t size)
{
	struct flow_sample s = { .connections = 1 };
	struct gw_ip remote;

	if (size < sizeof(*r))
		return -1;
	gw_ip_from_v6(&remote, r->tuple.remote_addr);
	s.dns_name = dns_cache_get(n->dns, r->task.uid, &remote, r->hdr.ktime_ns);
	net_emit_connection(n, &r->task, &r->tuple, s.dns_name, "sent",
			r->hook == GW_UDP_HOOK_CONNECT ? "udp_connect" : "udp_sendmsg", 0, 0);
	net_add_to_flow(n, &r->task, &r->tuple, &remote, &s, r->hdr.ktime_ns);
	return 0;
}

/* Whether a well-formed answer may teach the cache, by the check the live hooks allow. */
static bool dns_answer_believed(struct gw_net *n, const struct gw_ip *server, uint16_t local_port,
				bool socket_asked, const struct dns_response *resp, uint64_t now_ns)
{
	switch (n->hooks.dns_verify) {
	case GW_DNS_VERIFY_SOCKET:
		return socket_asked;
	case GW_DNS_VERIFY_QUERY:
		return dns_pending_match(n->queries, server, local_port, resp, now_ns);
	default:
		return true; /* the dns hook status says the answers are not verified */
	}
}

enum dns_result net_ingest_dns(struct gw_net *n, const uint8_t *payload, size_t len, bool tcp,
			       const struct gw_ip *server, uint16_t local_port, bool socket_asked,
			       uint32_t uid, bool uid_unsure, uint64_t now_ns)
{
	struct dns_response resp;
	enum dns_result res;

	n->counters[NET_DNS_ANSWERS]++;
	res = tcp ? dns_parse_tcp_response(payload, len, &resp) :
		    dns_parse_response(payload, len, &resp);
	if (res == DNS_OK)
		n->counters[NET_DNS_PARSED]++;
	else if ((unsigned int)res < DNS_RESULT_MAX)
		n->dns_rejected[res]++;
	if ((res == DNS_OK || res == DNS_ERR_TRUNCATED) &&
	    !dns_answer_believed(n, server, local_port, socket_asked, &resp, now_ns)) {
		n->counters[NET_DNS_UNSOLICITED]++;
		return res;
	}
	/* a message cut by the capture slice still carries the answers it completed */
	if (res == DNS_OK || res == DNS_ERR_TRUNCATED) {
		/* root in a user namespace of any user's making looks like root here */
		if (uid_unsure && dns_cache_uid_is_shared(n->dns, uid)) {
			n->counters[NET_DNS_UID_UNSURE]++;
		} else {
			dns_cache_put_response(n->dns, uid, &resp, now_ns);
			n->counters[NET_DNS_ADDRESSES] += resp.n_addrs;
		}
	}
	n->counters[NET_DNS_NAMES_SANITIZED] += resp.names_sanitized;
	n->counters[NET_DNS_UNRELATED_ADDRS] += resp.unrelated_addrs;
	return res;
}

static int handle_dns(struct gw_net *n, const struct gw_dns_event *r, size_t size)
{
	bool tcp = r->tuple.protocol == IPPROTO_TCP;
	struct gw_ip server;

	if (size < sizeof(*r) || r->captured_len > GW_DNS_PAYLOAD_MAX)
		return -1;
	gw_ip_from_v6(&server, r->tuple.remote_addr);
	if (r->hdr.type == GW_EV_DNS_QUERY) {
		struct dns_query q;
		enum dns_result res = tcp ? dns_parse_tcp_query(r->data, r->captured_len, &q) :
					    dns_parse_query(r->data, r->captured_len, &q);

		n->counters[NET_DNS_QUERIES]++;
		if (res == DNS_OK)
			dns_pending_add(n->queries, &server, r->tuple.local_port, &q,
					r->hdr.ktime_ns);
		else
			n->counters[NET_DNS_QUERIES_UNPARSED]++;
		return 0;
	}
	/* a TCP read after the length was read alone is the bare message */
	net_ingest_dns(n, r->data, r->captured_len, tcp && !(r->flags & GW_DNS_F_BARE), &server,
		       r->tuple.local_port, r->flags & GW_DNS_F_ASKED, r->uid,
		       r->flags & GW_DNS_F_UID_SOCKET, r->hdr.ktime_ns);
	return 0;
}

int net_handle_record(struct gw_net *n, const void *data, size_t size)
{
	const struct gw_event_hdr *hdr = data;

	if (!n->flows)
		return -1;
	switch (hdr->type) {
	case GW_EV_TCP_CONNECT:
	case GW_EV_TCP_ACCEPT:
	case GW_EV_TCP_CLOSE:
		return handle_tcp(n, data, size);
	case GW_EV_UDP_SEND:
		return handle_udp(n, data, size);
	case GW_EV_DNS_ANSWER:
	case GW_EV_DNS_QUERY:
		return handle_dns(n, data, size);
	case GW_EV_TCP_PROTO:
		return net_proto_handle(n, data, size);
	default:
		return -1;
	}
}
