/*
 * net_hooks.h - loading and attaching the network BPF object (bpf/network.bpf.c) with a run-time
 * fallback chain per signal, and finding (or mounting) the root cgroup v2 its cgroup programs
 * attach to.
 *
 * Signals and their chains (what is live is recorded with hooks_set_status()):
 *   tcp:  "connect": cgroup/connect4,6 and post_bind4,6 on the root cgroup v2 with
 *         tp_btf/tcp_destroy_sock and tp_btf/inet_sk_error_report; then sockops on the root
 *         cgroup v2 with the same two tp_btf programs; then tp_btf/inet_sock_set_state, then
 *         tp/sock/inet_sock_set_state
 *   tcp_open_results: with the connect flavour, the walk every second that reports outbound
 *         connections still open: iter/bpf_map_elem over the owner maps (bpf_rdonly_cast, 6.2+),
 *         else iter/tcp over every socket
 *   udp:  cgroup/connect4, connect6, sendmsg4, sendmsg6 on the root cgroup v2
 *   dns:  tp_btf/sock_recv_length (answers as the asking process reads them, x86-64), believed when
 *         their socket asked that server (the udp hooks remember which sockets did); then
 *         cgroup_skb/ingress on the root cgroup v2 (every packet), with the same check; with
 *         --dns-verify=query, or when the udp hooks are not live, cgroup_skb/ingress+egress
 *         (the queries answers must match)
 *   tcp_open_bytes: iter/tcp, run by the agent once per flow window (every second with the
 *         connect flavour) in each network namespace (network.c), so the bytes of connections
 *         that stay open reach the flows while they are open (else they come at close)
 *   proto_id: the first bytes of each TCP connection in each direction, for its application
 *         protocol (net_proto_hooks.c): tp_btf/sock_send_length+sock_recv_length (6.3+, x86-64,
 *         per send or receive call); then cgroup_skb/ingress+egress on the root cgroup v2 (every
 *         packet), also with --proto-hooks=cgroup_skb
 * A signal that cannot be served is reported with the kernel's reason; the others still run.
 */
#ifndef GW_NET_HOOKS_H
#define GW_NET_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hooks.h"
#include "core/netns_iter.h"
#include "net_fold_slots.h"

#define GW_NET_MAX_LINKS 14

/* The TCP signal's flavours, in the order AUTO tries them. */
enum gw_tcp_hook {
	GW_TCP_HOOK_AUTO = 0,	/* as a choice: none */
	GW_TCP_HOOK_CONNECT,
	GW_TCP_HOOK_SOCKOPS,
	GW_TCP_HOOK_TP_BTF,
	GW_TCP_HOOK_TP,
};

/* The DNS capture's flavours, in the order AUTO tries them. */
enum gw_dns_hook {
	GW_DNS_HOOK_AUTO = 0,
	GW_DNS_HOOK_RECV,
	GW_DNS_HOOK_CGROUP_SKB,
};

struct gw_net_hook_options {
	enum gw_tcp_hook tcp_hook;
	enum gw_dns_hook dns_hook;
	bool udp;
	bool dns;
	bool dns_match_queries;	/* answers must match a captured query, not just an asking socket */
	bool proto_id;		/* capture the first bytes of TCP connections (proto_capture.h) */
	bool proto_packets;	/* ... from every packet (cgroup_skb) even where send/recv can */
	uint64_t wakeup_bytes;	/* the agent's ring wakeup threshold */
};

/* What makes a captured DNS answer believable, given the hooks that are live. */
enum gw_dns_verify {
	GW_DNS_VERIFY_NONE,	/* neither check can run: answers are believed as they come */
	GW_DNS_VERIFY_SOCKET,	/* its socket asked that server (GW_DNS_F_ASKED) */
	GW_DNS_VERIFY_QUERY,	/* a captured query from that socket to that server: same id, question */
};

struct gw_network;	/* the generated skeleton */
struct gw_tcp_fold_slot;

struct gw_net_hooks {
	struct gw_network *skel;
	struct bpf_link *links[GW_NET_MAX_LINKS];
	int n_links;
	int cgroup_fd;
	char cgroup_path[256];
	bool mounted_cgroup;	/* we mounted cgroup2 ourselves (none was mounted) */
	enum gw_dns_verify dns_verify;
	struct bpf_link *sample_link;	/* iter/tcp over open connections, NULL if not live */
	/*
	 * The connect flavour reports open connections' results from a walk the agent makes every
	 * second: of the owner maps (owner_walk, where the kernel has bpf_rdonly_cast), else of every
	 * socket (sample_link). results_walk: one of them is live.
	 */
	struct bpf_link *owner_walk[2];	/* iter/bpf_map_elem on owner_slots, conn_owner */
	bool results_walk;
	struct gw_tcp_fold_slot *fold_slots;	/* both fold arrays, mapped on first use */
	size_t fold_slots_half;			/* slots in each */
};

/* Loads after the process hooks (whose ring and drop counters it shares). 0 or -errno + err. */
int net_hooks_load(struct gw_net_hooks *nh, struct gw_hooks *h, const struct gw_net_hook_options *o,
		   char *err, size_t err_size);

/* fd of the listener-owner map (struct gw_listen_key -> struct gw_net_task), -1 if not loaded. */
int net_hooks_listen_map_fd(const struct gw_net_hooks *nh);

/*
 * The two maps repeated TCP connections are folded into (struct gw_tcp_fold_key -> struct
 * gw_tcp_fold, see gw_events.h): fd of map 0 or 1 (-1 if not loaded), which one the programs write,
 * and making another one live.
 */
int net_hooks_fold_map_fd(const struct gw_net_hooks *nh, unsigned int which);
unsigned int net_hooks_fold_live(const struct gw_net_hooks *nh);
/* The fold array that turns with map `which` (struct gw_tcp_fold_slot: the half of tcp_fold_slots
 * the programs use while `which` is live), mapped into this process, with its slot count in *n;
 * NULL if not loaded or the mapping failed (errno). */
struct gw_tcp_fold_slot *net_hooks_fold_slots(struct gw_net_hooks *nh, unsigned int which,
					      size_t *n);
/* Whether the programs made entries in that array since the last call (which resets the count):
 * only then is it worth reading. Call it for the idle one only. */
bool net_hooks_fold_slots_take(struct gw_net_hooks *nh, unsigned int which);
void net_hooks_fold_set_live(struct gw_net_hooks *nh, unsigned int which);
/* The connect flavour's owner-map walks attached on the skeleton (0, or -errno and neither), run
 * once (0 or -errno), and running an iterator link to its end (0 or -errno); for the agent and
 * connect_ab. */
int net_walks_owners_attach(struct gw_network *skel, struct bpf_link *walk[2]);
int net_walks_owners_run(struct gw_network *skel, struct bpf_link *walk[2]);
int net_walks_run(struct bpf_link *link);
/* Reads a new iterator to its end (that is what walks) and closes it: 0 or -errno. */
int net_walks_read(int iter_fd);
/* Fold lookups the kernel made in its fold map: another key held the key's array slot. */
uint64_t net_hooks_fold_slot_taken(const struct gw_net_hooks *nh);
/* Outbound connections whose owner the kernel kept in its hash map: their array slot was taken. */
uint64_t net_hooks_owner_overflows(const struct gw_net_hooks *nh);
/* Reads of a DNS socket the recv capture could not follow (recvmmsg, io_uring, a fault). */
uint64_t net_hooks_dns_unread(const struct gw_net_hooks *nh);

/* Folds the bytes open connections moved since the last call into the live fold map (iter/tcp),
 * and with the connect flavour reports the results not reported yet of those still open.
 * 0, -ENOENT when the iterator is not live, or -errno. */
int net_hooks_sample(struct gw_net_hooks *nh);
/* The same walk inside the network namespace ns_fd, its iterator made by core's namespace
 * helper (core/netns_iter.h). 0, -ENOENT, or -errno. */
int net_hooks_sample_in(struct gw_net_hooks *nh, struct netns_iter *h, int ns_fd);
/* The connect flavour's walk of the owner maps (owner_walk): reports the OK of outbound
 * connections still open and not reported yet, in any namespace. 0, -ENOENT, or -errno. */
int net_hooks_walk_owners(struct gw_net_hooks *nh);

void net_hooks_close(struct gw_net_hooks *nh);

/*
 * What the network programs are told about the running kernel before load: its tick, which they
 * date connects in, and whether it has the kfuncs they use, read from the kernel's BTF the caller
 * parsed (the agent's is shared by every domain: hook_chain_vmlinux()); set into each object
 * opened; for the agent and connect_ab.
 */
struct net_kernel {
	uint64_t jiffy_ns;	/* 0: unknown */
	bool kfunc_cast;	/* bpf_rdonly_cast */
};
void net_kernel_probe(struct net_kernel *k, const struct btf *vmlinux);
/* The first-bytes capture (net_proto_hooks.c): its flavour's programs loaded as the options say
 * (a NULL skeleton is left alone), attached, and its status recorded. */
void net_proto_hooks_autoload(struct gw_network *skel, const struct gw_net_hook_options *o,
			      const struct btf *vmlinux);
void net_proto_hooks_attach(struct gw_net_hooks *nh, struct gw_hooks *h,
			    const struct gw_net_hook_options *o);
/* First sends or receives whose buffer the send/recv flavour could not read (io_uring, sendfile,
 * a fault): those connections go unnamed. */
uint64_t net_proto_hooks_unread(const struct gw_net_hooks *nh);
void net_kernel_set(struct gw_network *skel, const struct net_kernel *k);

#endif
