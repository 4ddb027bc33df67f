/*
 * network.c - the network domain's life: options, start and stop, the tick that drains the
 * kernel's folds, walks open connections and flushes flows (per window, a grace after a
 * process's exit, at shutdown), and the counters reported in AgentStats.network. See network.h.
 */
#include "network.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/agent.h"

#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ull

void net_options_defaults(struct gw_net_options *o)
{
	memset(o, 0, sizeof(*o));
	o->enabled = true;
	o->hooks.tcp_hook = GW_TCP_HOOK_AUTO;
	o->hooks.udp = true;
	o->hooks.dns = true;
	o->hooks.proto_id = true;
	o->flow_window_s = 10;
	o->flow_table_max = 16384;
	o->dns_cache_max = 8192;
	o->dns_min_ttl_s = 300;
	o->dns_max_ttl_s = 3600;
	o->exit_flush_grace_ms = 1000;
}

/*
 * The uids whose DNS answers may name other uids' connections (dns_cache.h): root first, then the
 * accounts of the resolver services that answer for every user (systemd-resolved, nscd, dnsmasq,
 * unbound, BIND) where they exist. Looked up by account name, never by process name, which any
 * user can choose.
 */
static void net_dns_shared_uids(struct dns_cache *c)
{
	static const char *const resolvers[] = { "systemd-resolve", "nscd", "unscd", "dnsmasq",
						 "unbound", "bind" };
	const size_t n_resolvers = sizeof(resolvers) / sizeof(resolvers[0]);

	_Static_assert(sizeof(resolvers) / sizeof(resolvers[0]) < DNS_CACHE_SHARED_MAX,
		       "root and every resolver account fit");
	dns_cache_add_shared_uid(c, 0);
	for (size_t i = 0; i < n_resolvers; i++) {
		const struct passwd *pw = getpwnam(resolvers[i]);

		if (pw)
			dns_cache_add_shared_uid(c, pw->pw_uid);
	}
}

int net_init(struct gw_net *n, struct gw_agent *a, const struct gw_net_options *o)
{
	uint64_t now = gw_now_boottime_ns();

	memset(n, 0, sizeof(*n));
	n->opt = *o;
	n->agent = a;
	n->hooks.cgroup_fd = -1;
	n->netns.self_fd = -1;
	if (!o->enabled)
		return 0;
	n->flows = flow_table_new(o->flow_table_max, (uint64_t)o->flow_window_s * NS_PER_S,
				  net_emit_flow, n, now);
	n->dns = dns_cache_new(o->dns_cache_max, o->dns_min_ttl_s, o->dns_max_ttl_s);
	n->queries = dns_pending_new(4096);
	if (n->dns)
		net_dns_shared_uids(n->dns);
	if (!n->flows || !n->dns || !n->queries) {
		net_destroy(n);
		return -ENOMEM;
	}
	return 0;
}

int net_load(struct gw_net *n)
{
	char err[256];
	int ret;

	if (!n->opt.enabled) {
		hooks_set_status(&n->agent->hooks, "tcp", "off", "disabled by configuration");
		return 0;
	}
	n->opt.hooks.wakeup_bytes = n->agent->opt.hooks.wakeup_bytes;
	ret = net_hooks_load(&n->hooks, &n->agent->hooks, &n->opt.hooks, err, sizeof(err));
	if (ret) {
		hooks_set_status(&n->agent->hooks, "tcp", "none", err);
		hooks_set_status(&n->agent->hooks, "udp", "none", err);
		hooks_set_status(&n->agent->hooks, "dns", "none", err);
		return ret;
	}
	n->loaded = true;
	return 0;
}

void net_start(struct gw_net *n)
{
	int ret;

	if (!n->loaded)
		return;
	/* after the hooks are attached, so a socket cannot fall between the scan and the hooks */
	net_seed_from_procfs(n);
	if (n->hooks.sample_link && (ret = netns_set_open(&n->netns)))
		fprintf(stderr, "ghostwatch: opening this thread's network namespace: %s (open "
				"connections in other namespaces are counted at close only)\n",
			strerror(-ret));
}

void net_destroy(struct gw_net *n)
{
	struct gw_net_open *o, *tmp;

	HASH_ITER(hh, n->open_at_start, o, tmp) {
		HASH_DEL(n->open_at_start, o);
		free(o);
	}
	net_hooks_close(&n->hooks);
	netns_set_close(&n->netns);
	flow_table_free(n->flows);
	n->flows = NULL;
	dns_cache_free(n->dns);
	n->dns = NULL;
	dns_pending_free(n->queries);
	n->queries = NULL;
}

/* ---- flushing ------------------------------------------------------------------------------- */

void net_on_process_exit(struct gw_net *n, uint64_t process_id, uint64_t now_ns)
{
	size_t slot;

	if (!n->flows || !flow_table_has_process(n->flows, process_id))
		return;
	if (n->pending_count == GW_NET_PENDING_EXITS) {
		n->counters[NET_EXIT_FLUSH_IMMEDIATE]++;
		flow_table_flush_process(n->flows, process_id);
		return;
	}
	slot = (n->pending_head + n->pending_count++) % GW_NET_PENDING_EXITS;
	n->pending[slot].process_id = process_id;
	n->pending[slot].flush_at_ns = now_ns + (uint64_t)n->opt.exit_flush_grace_ms * NS_PER_MS;
}

/*
 * How long before a window ends open connections are walked: what the walk folds reaches the flow
 * table two ticks later (fold_rotate), so this leaves a tick to spare. Once per window, because
 * the walk visits every TCP socket of the host, TIME_WAIT ones included: tens of thousands on a
 * busy server, ~1% of a core if it ran every second.
 */
#define OPEN_SAMPLE_LEAD_NS (300 * NS_PER_MS)

/*
 * The connect flavour has no hook at ESTABLISHED: a connection that stays open has its result
 * reported when a walk finds it. So the owner maps (or, without them, every socket) are walked
 * every second, unless walks are long, then 200 walks' time apart: at most 0.5 % of a core.
 */
#define RESULT_WALK_NS (1000 * NS_PER_MS)
#define RESULT_WALK_SPACING 200

uint64_t net_next_tick(const struct gw_net *n, uint64_t now_ns)
{
	uint64_t window_end;

	if (!n->flows || !n->opt.enabled)
		return 0;
	/* an exit's flows are flushed after its grace, once the folds before it are drained */
	if (n->pending_count)
		return now_ns;
	window_end = flow_table_window_end(n->flows);
	/* from the walk of open connections to the window's end, the folds rotate every tick */
	if (n->sampled_window_end_ns == window_end)
		return now_ns;
	return window_end > OPEN_SAMPLE_LEAD_NS ? window_end - OPEN_SAMPLE_LEAD_NS : now_ns;
}

void net_tick(struct gw_net *n, uint64_t now_ns)
{
	uint64_t window_end;
	bool window_due, results_due;

	if (!n->flows)
		return;
	window_end = flow_table_window_end(n->flows);
	window_due = n->sampled_window_end_ns != window_end &&
		     now_ns + OPEN_SAMPLE_LEAD_NS >= window_end;
	results_due = n->hooks.results_walk && now_ns >= n->next_result_walk_ns;
	if (n->hooks.sample_link && window_due) {
		n->sampled_window_end_ns = window_end;
		net_fold_walk_open(n, true);
	}
	if (results_due) {
		uint64_t start = gw_now_boottime_ns(), took;

		if (n->hooks.owner_walk[0])
			n->counters[net_hooks_walk_owners(&n->hooks) ? NET_TCP_OWNER_WALK_ERRORS :
								       NET_TCP_OWNER_WALKS]++;
		else if (!window_due)
			net_fold_walk_open(n, !n->sampled_window_end_ns);
		took = gw_now_boottime_ns() - start;
		n->next_result_walk_ns =
			now_ns + (took * RESULT_WALK_SPACING > RESULT_WALK_NS ?
					  took * RESULT_WALK_SPACING : RESULT_WALK_NS);
	}
	net_fold_rotate(n, false, now_ns);
	/* exits are queued in time order, so the due ones are at the head */
	while (n->pending_count && n->pending[n->pending_head].flush_at_ns <= now_ns) {
		flow_table_flush_process(n->flows, n->pending[n->pending_head].process_id);
		n->pending_head = (n->pending_head + 1) % GW_NET_PENDING_EXITS;
		n->pending_count--;
	}
	flow_table_tick(n->flows, now_ns);
}

void net_shutdown(struct gw_net *n)
{
	uint64_t now_ns = gw_now_boottime_ns();

	if (!n->flows)
		return;
	n->pending_count = 0;
	net_fold_rotate(n, true, now_ns);
	flow_table_flush_all(n->flows, FLOW_FLUSH_SHUTDOWN, now_ns);
}

size_t net_counters(const struct gw_net *n, const char **names, uint64_t *values, size_t max)
{
	static const char *const counter_names[NET_COUNTER_MAX] = {
		[NET_DNS_QUERIES] = "dns_queries",
		[NET_DNS_QUERIES_UNPARSED] = "dns_queries_unparsed",
		[NET_DNS_ANSWERS] = "dns_answers",
		[NET_DNS_UNSOLICITED] = "dns_answers_unsolicited",
		[NET_DNS_PARSED] = "dns_parsed",
		[NET_DNS_ADDRESSES] = "dns_addresses",
		[NET_DNS_NAMES_SANITIZED] = "dns_names_sanitized",
		[NET_DNS_UNRELATED_ADDRS] = "dns_unrelated_addresses",
		[NET_CONNECT_UNKNOWN_OWNER] = "inbound_unknown_owner",
		[NET_EXIT_FLUSH_IMMEDIATE] = "exit_flush_immediate",
		[NET_LISTENERS_SEEDED] = "listeners_seeded",
		[NET_OPEN_AT_START] = "connections_open_at_start",
		[NET_CLOSE_UNKNOWN_OWNER] = "close_unknown_owner",
		[NET_TCP_ATTEMPTS_FOLDED] = "tcp_attempts_folded",
		[NET_TCP_CLOSES_FOLDED] = "tcp_closes_folded",
		[NET_TCP_FOLD_ENTRIES] = "tcp_fold_entries",
		[NET_TCP_FOLD_DRAIN_ERRORS] = "tcp_fold_drain_errors",
		[NET_TCP_OPEN_SAMPLES] = "tcp_open_samples",
		[NET_TCP_OPEN_SAMPLE_ERRORS] = "tcp_open_sample_errors",
		[NET_TCP_OPEN_WALKS_OTHER_NETNS] = "tcp_open_walks_other_netns",
		[NET_NETNS_UNWALKED] = "netns_unwalked",
		[NET_TCP_OWNER_WALKS] = "tcp_owner_walks",
		[NET_LISTENER_RESCANS] = "listener_rescans",
		[NET_PROTO_SEGMENTS] = "proto_segments",
		[NET_PROTO_IDENTIFIED] = "proto_identified",
		[NET_PROTO_REPEATED] = "proto_repeated",
		[NET_PROTO_UNKNOWN_OWNER] = "proto_unknown_owner",
		[NET_TCP_OWNER_WALK_ERRORS] = "tcp_owner_walk_errors",
		[NET_DNS_UID_UNSURE] = "dns_answers_uid_unsure",
	};
	static const char *const malformed_names[DNS_RESULT_MAX] = {
		[DNS_ERR_TRUNCATED] = "dns_malformed_truncated",
		[DNS_ERR_NOT_RESPONSE] = "dns_malformed_not_response",
		[DNS_ERR_NO_QUESTION] = "dns_malformed_no_question",
		[DNS_ERR_POINTER_LOOP] = "dns_malformed_pointer_loop",
		[DNS_ERR_LABEL_TYPE] = "dns_malformed_label_type",
		[DNS_ERR_NAME_TOO_LONG] = "dns_malformed_name_too_long",
		[DNS_ERR_BAD_RDATA] = "dns_malformed_bad_rdata",
		[DNS_ERR_TCP_FRAMING] = "dns_malformed_tcp_framing",
	};
	struct dns_cache_stats ds = { 0 };
	struct flow_table_stats fs = { 0 };
	size_t k = 0;

#define PUT(name_, value_)                   \
	do {                                 \
		if (k < max) {               \
			names[k] = (name_);  \
			values[k] = (value_); \
			k++;                 \
		}                            \
	} while (0)
	for (int i = 0; i < NET_COUNTER_MAX; i++)
		PUT(counter_names[i], n->counters[i]);
	for (int i = DNS_OK + 1; i < DNS_RESULT_MAX; i++)
		PUT(malformed_names[i], n->dns_rejected[i]);
	if (n->dns)
		dns_cache_get_stats(n->dns, &ds);
	if (n->flows)
		flow_table_get_stats(n->flows, &fs);
	PUT("dns_cache_size", ds.size);
	PUT("dns_cache_hits", ds.hits);
	PUT("dns_cache_misses", ds.misses);
	PUT("dns_cache_evictions", ds.evictions);
	PUT("dns_cache_user_evictions", ds.user_evictions);
	PUT("dns_cache_shared_hits", ds.shared_hits);
	PUT("dns_cache_overrides_refused", ds.overrides_refused);
	PUT("dns_cache_ttl_capped", ds.ttl_capped);
	PUT("dns_cache_share_evictions", ds.share_evictions);
	if (n->queries) {
		struct dns_pending_stats ps;

		dns_pending_get_stats(n->queries, &ps);
		PUT("dns_pending_queries", ps.size);
		PUT("dns_pending_evictions", ps.evictions);
	}
	PUT("tcp_owner_slot_overflows", net_hooks_owner_overflows(&n->hooks));
	PUT("tcp_fold_slot_collisions", net_hooks_fold_slot_taken(&n->hooks));
	PUT("dns_answers_unread", net_hooks_dns_unread(&n->hooks));
	PUT("proto_first_bytes_unread", net_proto_hooks_unread(&n->hooks));
	PUT("flow_table_size", fs.size);
	PUT("flows_emitted", fs.flows_emitted);
	PUT("flow_evictions", fs.evictions);
#undef PUT
	return k;
}
