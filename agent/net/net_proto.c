/*
 * net_proto.c - what a connection's first bytes say (GW_EV_TCP_PROTO, bpf/lib/proto_capture.h):
 * the application protocol and server name on a Connection ("tcp_first_bytes") and its flow, the
 * server name standing in for the DNS name when no answer named the peer (DNS over HTTPS, a
 * hosts-file entry), and the findings that follow from the protocol rather than from a program's
 * name or port: remote desktop served or used, and inbound connections from other hosts. The
 * captured bytes are classified and dropped here; only the protocol and the name go on.
 * See network.h.
 */
#include <stdio.h>
#include <string.h>

#include "core/agent.h"
#include "core/process_lookup.h"
#include "gw_events.h"
#include "network.h"
#include "proto_id.h"

/*
 * Low confidence, as for GW-CADENCE-VIRTUAL-INPUT: the protocol is certain, but the program is
 * usually also named by a rule of its own (x11vnc, xrdp), and a strong finding with another vendor
 * would count it as a second remote-access tool in the combinations and the score.
 */
static const struct gw_behaviour_rule rule_remote_desktop = {
	.id = "GW-PROTO-REMOTE-DESKTOP",
	.title = "remote desktop protocol (RFB/VNC or RDP) served or used, named by its first bytes",
	.vendor = "remote desktop",
	.technique = "T1219",
	.category = "rmm",
	.severity = "medium",
	.confidence = "low",
	.source = "ghostwatch rules/README.md (protocol identification)",
};

static const struct gw_behaviour_rule rule_inbound_remote_desktop = {
	.id = "GW-PROTO-INBOUND-REMOTE-DESKTOP",
	.title = "remote desktop session accepted from another host",
	.vendor = "inbound remote desktop",
	.technique = "T1219",
	.category = "rmm",
	.severity = "high",
	.confidence = "high",
	.source = "ghostwatch rules/README.md (protocol identification)",
};

static const struct gw_behaviour_rule rule_inbound_accept = {
	.id = "GW-NET-INBOUND-ACCEPT",
	.title = "connection from another host accepted by a user program",
	.vendor = "inbound connection",
	.technique = "T1133",
	.category = "behaviour",
	.severity = "low",
	.confidence = "low",
	.source = "ghostwatch rules/README.md (protocol identification)",
};

/* Whether the peer is another host: not loopback, not unspecified, not one of our addresses as
 * the socket sees it. A peer in another network namespace of this machine counts as another host,
 * as it would on a workstation running containers or VMs. */
static bool peer_off_host(const struct gw_net_tuple *tu)
{
	static const uint8_t zero[16];
	struct gw_ip remote;

	gw_ip_from_v6(&remote, tu->remote_addr);
	if (gw_ip_is_loopback(&remote) || !memcmp(tu->remote_addr, zero, 16))
		return false;
	return memcmp(tu->remote_addr, tu->local_addr, 16) != 0;
}

/* Installed by a package: under /usr (not /usr/local), /bin, /sbin or /lib. */
static bool package_path(const char *exe)
{
	static const char *const dirs[] = { "/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/", NULL };

	if (!exe || !strncmp(exe, "/usr/local/", 11))
		return false;
	for (const char *const *d = dirs; *d; d++)
		if (!strncmp(exe, *d, strlen(*d)))
			return true;
	return false;
}

/* The subject findings name: the process's exe, else its comm. */
static const char *subject_of(struct gw_agent *a, const struct gw_net_task *t, const char **exe)
{
	struct proc_entry *e = process_lookup(a, t->pid);

	*exe = e && e->id == net_task_process_id(a, t) ? e->exe : NULL;
	if (*exe && **exe)
		return *exe;
	return e && e->comm[0] ? e->comm : "unknown";
}

static void endpoint(char *out, size_t size, const uint8_t addr[16], uint16_t port)
{
	char ip[GW_IP_STR_LEN];
	struct gw_ip g;

	gw_ip_from_v6(&g, addr);
	gw_ip_format(&g, ip, sizeof(ip));
	snprintf(out, size, "%s:%u", ip, port);
}

static void publish(struct gw_net *n, const struct gw_behaviour_rule *rule, const char *why,
		    const char *subject, const struct gw_net_task *t, uint64_t event_id,
		    uint64_t ktime_ns)
{
	struct gw_agent *a = n->agent;

	agent_publish(a, &(struct gw_fact){ .kind = GW_FACT_BEHAVIOUR,
					   .behaviour = { rule, why, "flow" }, .subject = subject,
					   .process_id = net_task_process_id(a, t),
					   .event_id = event_id,
					   .time_ns = ktime_ns + (uint64_t)a->realtime_offset_ns });
}

/*
 * A socket's slot in proto_seen: a hash of its addresses, ports and namespace, with bit 0 set (0
 * marks an empty slot) and bit 1 saying it spoke a remote-desktop protocol.
 */
#define SEEN_REMOTE_DESKTOP 2ULL

static uint64_t socket_hash(const struct gw_net_tuple *tu)
{
	uint64_t h = 1469598103934665603ULL;
	const uint8_t *parts[] = { tu->local_addr, tu->remote_addr };

	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 16; j++)
			h = (h ^ parts[i][j]) * 1099511628211ULL;
	h = (h ^ tu->local_port) * 1099511628211ULL;
	h = (h ^ tu->remote_port) * 1099511628211ULL;
	h = (h ^ tu->netns) * 1099511628211ULL;
	return (h & ~SEEN_REMOTE_DESKTOP) | 1;
}

/* Whether this socket was identified before (its other direction); marks it if not. */
static bool seen_before(struct gw_net *n, const struct gw_net_tuple *tu, bool remote_desktop)
{
	uint64_t h = socket_hash(tu), *slot = &n->proto_seen[h % GW_NET_PROTO_SEEN];

	if ((*slot & ~SEEN_REMOTE_DESKTOP) == h)
		return true;
	*slot = h | (remote_desktop ? SEEN_REMOTE_DESKTOP : 0);
	return false;
}

/* Whether this socket's first bytes were a remote-desktop protocol's. */
static bool seen_remote_desktop(const struct gw_net *n, const struct gw_net_tuple *tu)
{
	uint64_t h = socket_hash(tu);

	return n->proto_seen[h % GW_NET_PROTO_SEEN] == (h | SEEN_REMOTE_DESKTOP);
}

void net_proto_on_accept(struct gw_net *n, const struct gw_net_task *task,
			 const struct gw_net_tuple *tu, uint64_t ktime_ns)
{
	char why[256], local[GW_IP_STR_LEN + 8], peer[GW_IP_STR_LEN + 8];
	const char *subject, *exe;

	/* a remote-desktop session has its own finding (its first bytes usually come before the
	 * accept record: the connect flavour reports accepts from its walk or at close) */
	if (!task->pid || !peer_off_host(tu) || seen_remote_desktop(n, tu))
		return;
	subject = subject_of(n->agent, task, &exe);
	if (task->uid < 1000 && package_path(exe))
		return; /* a system service */
	endpoint(local, sizeof(local), tu->local_addr, tu->local_port);
	endpoint(peer, sizeof(peer), tu->remote_addr, tu->remote_port);
	snprintf(why, sizeof(why), "listener %s (pid %u, uid %u) accepted a connection from %s",
		 local, task->pid, task->uid, peer);
	publish(n, &rule_inbound_accept, why, subject, task, 0, ktime_ns);
}

static void remote_desktop(struct gw_net *n, const struct proto_id *id,
			   const struct gw_net_task *t, const struct gw_net_tuple *tu,
			   uint64_t event_id, uint64_t ktime_ns)
{
	char why[256], local[GW_IP_STR_LEN + 8], peer[GW_IP_STR_LEN + 8];
	const char *app = proto_app_name(id->app), *exe;
	const char *subject = subject_of(n->agent, t, &exe);
	bool inbound = tu->direction == FLOW_INBOUND;

	endpoint(local, sizeof(local), tu->local_addr, tu->local_port);
	endpoint(peer, sizeof(peer), tu->remote_addr, tu->remote_port);
	if (inbound)
		snprintf(why, sizeof(why), "serves %s on %s to %s", app, local, peer);
	else
		snprintf(why, sizeof(why), "client of %s at %s", app, peer);
	publish(n, &rule_remote_desktop, why, subject, t, event_id, ktime_ns);
	if (inbound && peer_off_host(tu)) {
		snprintf(why, sizeof(why), "%s session from %s accepted on %s", app, peer, local);
		publish(n, &rule_inbound_remote_desktop, why, subject, t, event_id, ktime_ns);
	}
}

int net_proto_handle(struct gw_net *n, const void *data, size_t size)
{
	struct gw_proto_event r;
	struct flow_sample s = { 0 };
	struct proto_id id;
	struct gw_ip remote;
	const char *name, *app;
	uint64_t event_id;

	if (size < sizeof(r))
		return -1;
	memcpy(&r, data, sizeof(r));
	if (r.captured_len > GW_PROTO_CAPTURE_MAX || r.captured_len > r.payload_len)
		return -1;
	n->counters[NET_PROTO_SEGMENTS]++;
	if (!proto_id_classify(r.data, r.captured_len, &id))
		return 0;
	if (seen_before(n, &r.tuple, proto_app_remote_desktop(id.app))) {
		n->counters[NET_PROTO_REPEATED]++;
		return 0;
	}
	n->counters[NET_PROTO_IDENTIFIED]++;
	if (r.tuple.direction > FLOW_INBOUND) {
		/* no hook named the owner: a listener the agent has not seen bound, else unknown */
		if (net_seed_listener_owner(n, r.tuple.netns, r.tuple.local_port, &r.task))
			r.tuple.direction = FLOW_INBOUND;
		else
			r.tuple.direction = FLOW_OUTBOUND;
	}
	if (!r.task.pid)
		n->counters[NET_PROTO_UNKNOWN_OWNER]++;
	app = proto_app_name(id.app);
	gw_ip_from_v6(&remote, r.tuple.remote_addr);
	name = dns_cache_get(n->dns, r.task.uid, &remote, r.hdr.ktime_ns);
	/* the name the client asked the server for names the peer when no DNS answer did */
	if ((!name || !name[0]) && id.server_name[0])
		name = id.server_name;
	event_id = net_emit_connection_app(n, &r.task, &r.tuple, name, "ok", "tcp_first_bytes", 0,
					   0, app, id.server_name);
	s.dns_name = name;
	s.app_protocol = app;
	s.server_name = id.server_name;
	net_add_to_flow(n, &r.task, &r.tuple, &remote, &s, r.hdr.ktime_ns);
	if (r.task.pid && proto_app_remote_desktop(id.app))
		remote_desktop(n, &id, &r.task, &r.tuple, event_id, r.hdr.ktime_ns);
	return 0;
}
