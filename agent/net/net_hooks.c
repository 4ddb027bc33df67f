#include "net_hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "gw_events.h"
#include "network.skel.h"
#include "core/hook_chain.h"
#include "core/procfs.h"

#define OWN_CGROUP2_MOUNT "/run/ghostwatch/cgroup2"

struct net_choice {
	enum gw_tcp_hook tcp;	/* GW_TCP_HOOK_AUTO: off */
	bool udp;
	bool dns;	/* the cgroup_skb programs */
	bool dns_recv;	/* tp_btf/sock_recv_length */
	bool sample;	/* iter/tcp: bytes of open connections */
	bool map_walk;	/* connect flavour: open connections' results from the owner maps */
	uint64_t wakeup_bytes;
	const struct net_kernel *kernel;	/* probed once per load */
};

/*
 * Each signal's flavours in the order they are tried, with the supported kernel or configuration
 * that needs each (README.md, "Kernels"). The TCP table is indexed by enum gw_tcp_hook - 1.
 */
static const char *const tcp_connect_progs[] = { "gw_connect4", "gw_connect6", "gw_tcp_bind4",
						 "gw_tcp_bind6", "gw_tcp_destroy", "gw_tcp_error",
						 NULL };
static const char *const tcp_sockops_progs[] = { "gw_tcp_sockops", "gw_tcp_destroy", "gw_tcp_error",
						 NULL };
static const char *const tcp_state_btf_progs[] = { "gw_tcp_state_btf", NULL };
static const char *const tcp_state_tp_progs[] = { "gw_tcp_state_tp", NULL };

static const struct hook_flavour tcp_flavours[] = {
	{ "connect", "every supported kernel (5.8+) with a cgroup v2 root", tcp_connect_progs },
	{ "sockops", "a kernel that refuses a connect program, or --tcp-hooks=sockops for an ok "
	  "at ESTABLISHED", tcp_sockops_progs },
	{ "tp_btf", "kernels before 5.14 (no inet_sk_error_report: Debian 11, RHEL 8), or no cgroup "
	  "v2 root the agent may attach to", tcp_state_btf_progs },
	{ "tp", "a kernel that refuses tp_btf programs (RHEL 8 without BPF trampolines)",
	  tcp_state_tp_progs },
};

/*
 * Where the connect flavour learns that a connection still open was established: a walk of its
 * owner maps (a few hundred sockets) or, failing that, of every socket every second.
 */
static const char *const results_map_progs[] = { "gw_owner_slots_walk", "gw_conn_owner_walk",
						 NULL };
static const char *const results_sample_progs[] = { NULL };
static const struct hook_flavour results_flavours[] = {
	{ "iter/bpf_map_elem", "6.2+ (bpf_rdonly_cast reads each owned socket)", results_map_progs },
	{ "iter/tcp", "kernels before 6.2 (Debian 12's 6.1), or one that refuses iter/bpf_map_elem "
	  "(the 6.18 build host): every socket is walked every second", results_sample_progs },
};

static const char *const sample_progs[] = { "gw_tcp_sample", NULL };
static const struct hook_flavour sample_flavours[] = {
	{ "iter/tcp", "every supported kernel (iter/tcp: 5.9+)", sample_progs },
};

static const char *const udp_progs[] = { "gw_connect4", "gw_connect6", "gw_udp_sendmsg4",
					 "gw_udp_sendmsg6", NULL };
static const struct hook_flavour udp_flavours[] = {
	{ "cgroup/sock_addr", "every supported kernel with a cgroup v2 root", udp_progs },
};

static const char *const dns_recv_progs[] = { "gw_dns_recv", "gw_dns_sender4", "gw_dns_sender6",
					      NULL };
static const char *const dns_skb_progs[] = { "gw_dns_ingress", "gw_dns_egress", NULL };
static const struct hook_flavour dns_flavours[] = {
	{ "tp_btf/sock_recv_length", "6.3+ on x86-64 (the tracepoint)", dns_recv_progs },
	{ "cgroup_skb", "kernels before 6.3 (Debian 11, 12; Ubuntu 22.04; RHEL 8, 9), other "
	  "architectures, --dns-verify=query", dns_skb_progs },
};

enum { CH_TCP, CH_RESULTS, CH_SAMPLE, CH_UDP, CH_DNS, CH_COUNT };

/* What net_open() needs to open the object again for another choice. */
struct net_load {
	struct gw_hooks *h;
	const struct gw_net_hook_options *o;
	const struct net_kernel *kernel;
	const struct hook_flavour *tcp_table;
	struct gw_network *skel;
};

static void choice_of(const struct net_load *l, struct hook_chain *ch, struct net_choice *c)
{
	const struct hook_flavour *tcp = hook_chain_current(&ch[CH_TCP]);
	const struct hook_flavour *dns = hook_chain_current(&ch[CH_DNS]);

	memset(c, 0, sizeof(*c));
	c->tcp = tcp ? (enum gw_tcp_hook)(tcp - l->tcp_table + 1) : GW_TCP_HOOK_AUTO;
	c->sample = hook_chain_current(&ch[CH_SAMPLE]) != NULL;
	c->map_walk = c->tcp == GW_TCP_HOOK_CONNECT &&
		      hook_chain_current(&ch[CH_RESULTS]) == &results_flavours[0];
	c->udp = hook_chain_current(&ch[CH_UDP]) != NULL;
	c->dns_recv = dns == &dns_flavours[0];
	c->dns = dns == &dns_flavours[1];
	c->wakeup_bytes = l->o->wakeup_bytes;
	c->kernel = l->kernel;
}

static struct gw_network *open_with(struct gw_hooks *h, const struct net_choice *c)
{
	struct gw_network *skel = gw_network__open();
	struct bpf_program *p;

	if (!skel)
		return NULL;
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, false);
	bool destroy = c->tcp == GW_TCP_HOOK_CONNECT || c->tcp == GW_TCP_HOOK_SOCKOPS;

	bpf_program__set_autoload(skel->progs.gw_tcp_sockops, c->tcp == GW_TCP_HOOK_SOCKOPS);
	bpf_program__set_autoload(skel->progs.gw_tcp_bind4, c->tcp == GW_TCP_HOOK_CONNECT);
	bpf_program__set_autoload(skel->progs.gw_tcp_bind6, c->tcp == GW_TCP_HOOK_CONNECT);
	bpf_program__set_autoload(skel->progs.gw_tcp_destroy, destroy);
	bpf_program__set_autoload(skel->progs.gw_tcp_error, destroy);
	bpf_program__set_autoload(skel->progs.gw_tcp_state_btf, c->tcp == GW_TCP_HOOK_TP_BTF);
	bpf_program__set_autoload(skel->progs.gw_tcp_state_tp, c->tcp == GW_TCP_HOOK_TP);
	bpf_program__set_autoload(skel->progs.gw_connect4, c->udp || c->tcp == GW_TCP_HOOK_CONNECT);
	bpf_program__set_autoload(skel->progs.gw_connect6, c->udp || c->tcp == GW_TCP_HOOK_CONNECT);
	bpf_program__set_autoload(skel->progs.gw_udp_sendmsg4, c->udp);
	bpf_program__set_autoload(skel->progs.gw_udp_sendmsg6, c->udp);
	bpf_program__set_autoload(skel->progs.gw_dns_ingress, c->dns);
	bpf_program__set_autoload(skel->progs.gw_dns_egress, c->dns);
	bpf_program__set_autoload(skel->progs.gw_dns_recv, c->dns_recv);
	bpf_program__set_autoload(skel->progs.gw_dns_sender4, c->dns_recv);
	bpf_program__set_autoload(skel->progs.gw_dns_sender6, c->dns_recv);
	bpf_program__set_autoload(skel->progs.gw_tcp_sample, c->sample);
	bpf_program__set_autoload(skel->progs.gw_owner_slots_walk, c->map_walk);
	bpf_program__set_autoload(skel->progs.gw_conn_owner_walk, c->map_walk);
	skel->rodata->gw_wakeup_bytes = c->wakeup_bytes;
	skel->rodata->gw_tcp_at_connect = c->tcp == GW_TCP_HOOK_CONNECT;
	skel->rodata->gw_udp_peers = c->udp;
	net_kernel_set(skel, c->kernel);
	if (hooks_share_maps(h, skel->obj)) {
		gw_network__destroy(skel);
		return NULL;
	}
	return skel;
}

/* hook_chain_open_fn: the object for the chains' current flavours, after what one chain needs of
 * another: sampling open connections needs the TCP hook's owners, the recv capture the udp hooks
 * (which tell the sockets that asked). */
static struct bpf_object_skeleton *net_open(void *ctx, struct hook_chain *ch, int n)
{
	struct net_load *l = ctx;
	struct net_choice c;

	(void)n;
	if (!hook_chain_current(&ch[CH_TCP]) && hook_chain_current(&ch[CH_SAMPLE]))
		hook_chain_refuse(&ch[CH_SAMPLE], "no TCP hook");
	if (hook_chain_current(&ch[CH_DNS]) == &dns_flavours[0] &&
	    !hook_chain_current(&ch[CH_UDP])) {
		if (ch[CH_DNS].n == 1)
			hook_chain_refuse(&ch[CH_DNS], "tp_btf/sock_recv_length: no udp hooks to tell "
					  "the sockets that asked");
		else
			ch[CH_DNS].at++;
	}
	choice_of(l, ch, &c);
	gw_network__destroy(l->skel);
	l->skel = open_with(l->h, &c);
	net_proto_hooks_autoload(l->skel, l->o, hook_chain_vmlinux(&l->h->known));
	return l->skel ? l->skel->skeleton : NULL;
}

static int open_root_cgroup(struct gw_net_hooks *nh, char *err, size_t err_size)
{
	if (procfs_find_cgroup2_root("/proc/self/mountinfo", nh->cgroup_path, sizeof(nh->cgroup_path))) {
		mkdir("/run/ghostwatch", 0700);
		mkdir(OWN_CGROUP2_MOUNT, 0700);
		if (mount("cgroup2", OWN_CGROUP2_MOUNT, "cgroup2", 0, NULL)) {
			snprintf(err, err_size, "no cgroup2 mounted and mounting one at %s failed: %s",
				 OWN_CGROUP2_MOUNT, strerror(errno));
			return -errno;
		}
		snprintf(nh->cgroup_path, sizeof(nh->cgroup_path), "%s", OWN_CGROUP2_MOUNT);
		nh->mounted_cgroup = true;
		fprintf(stderr, "ghostwatch: no cgroup2 hierarchy was mounted; mounted one at %s\n",
			OWN_CGROUP2_MOUNT);
	}
	nh->cgroup_fd = open(nh->cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (nh->cgroup_fd < 0) {
		snprintf(err, err_size, "opening %.100s: %s", nh->cgroup_path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int attach(struct gw_net_hooks *nh, struct bpf_program *p, bool cgroup)
{
	struct bpf_link *l;

	if (nh->n_links == GW_NET_MAX_LINKS)
		return -ENOSPC;
	l = cgroup ? bpf_program__attach_cgroup(p, nh->cgroup_fd) : bpf_program__attach(p);
	if (!l)
		return -errno;
	nh->links[nh->n_links++] = l;
	return 0;
}

static const char *tcp_hook_name(enum gw_tcp_hook t)
{
	switch (t) {
	case GW_TCP_HOOK_CONNECT:
		return "connect";
	case GW_TCP_HOOK_SOCKOPS:
		return "sockops";
	case GW_TCP_HOOK_TP_BTF:
		return "tp_btf";
	case GW_TCP_HOOK_TP:
		return "tp";
	default:
		return "auto";
	}
}

/* The connect flavour's owner-map walks; 0, or -errno with `why` said and nothing left attached. */
static int attach_owner_walks(struct gw_net_hooks *nh, char *why, size_t why_size)
{
	int err = net_walks_owners_attach(nh->skel, nh->owner_walk);

	if (err)
		snprintf(why + strlen(why), why_size - strlen(why),
			 "%sowner walk: attaching iter/bpf_map_elem: %s", why[0] ? "; " : "",
			 strerror(-err));
	return err;
}

/* Undoes the links made since there were `first` (a set that must be attached whole). */
static void detach_since(struct gw_net_hooks *nh, int first)
{
	while (nh->n_links > first)
		bpf_link__destroy(nh->links[--nh->n_links]);
}

/* Attaches the chosen TCP flavour's programs; 0 or -errno with the links it made undone. */
static int attach_tcp(struct gw_net_hooks *nh, struct gw_hooks *h, enum gw_tcp_hook t)
{
	struct gw_network *s = nh->skel;
	int first = nh->n_links, ret;
	bool mounted = false;

	switch (t) {
	case GW_TCP_HOOK_CONNECT:
		/* connect4,6 serve the udp signal too: attached once, here */
		ret = attach(nh, s->progs.gw_connect4, true);
		ret = ret ?: attach(nh, s->progs.gw_connect6, true);
		ret = ret ?: attach(nh, s->progs.gw_tcp_bind4, true);
		ret = ret ?: attach(nh, s->progs.gw_tcp_bind6, true);
		ret = ret ?: attach(nh, s->progs.gw_tcp_destroy, false);
		ret = ret ?: attach(nh, s->progs.gw_tcp_error, false);
		break;
	case GW_TCP_HOOK_SOCKOPS:
		ret = attach(nh, s->progs.gw_tcp_sockops, true);
		ret = ret ?: attach(nh, s->progs.gw_tcp_destroy, false);
		ret = ret ?: attach(nh, s->progs.gw_tcp_error, false);
		break;
	case GW_TCP_HOOK_TP_BTF:
		ret = attach(nh, s->progs.gw_tcp_state_btf, false);
		break;
	default:
		/* the classic tracepoint resolves its id through tracefs */
		if (!hooks_ensure_tracefs(&mounted) && mounted)
			hooks_set_status(h, "tracefs", "mounted:/sys/kernel/tracing", NULL);
		ret = attach(nh, s->progs.gw_tcp_state_tp, false);
		break;
	}
	if (ret)
		detach_since(nh, first);
	return ret;
}

/*
 * `tcp_from`: where the TCP chain starts when the flavour is not forced (auto): the first flavour,
 * or the one after a flavour that loaded but could not attach, whose retry comes through here.
 */
static int load_hooks(struct gw_net_hooks *nh, struct gw_hooks *h,
		      const struct gw_net_hook_options *o, enum gw_tcp_hook tcp_from,
		      const char *why_tcp_before, char *err, size_t err_size)
{
	struct net_kernel kernel;
	struct hook_flavour tcp[4];
	struct net_load l = { .h = h, .o = o, .kernel = &kernel, .tcp_table = tcp };
	struct hook_chain ch[CH_COUNT] = {
		[CH_TCP] = { "tcp", tcp, 4, tcp_from - 1, "" },
		[CH_RESULTS] = { "tcp_open_results", results_flavours, 2, 0, "" },
		[CH_SAMPLE] = { "tcp_open_bytes", sample_flavours, 1, 0, "" },
		[CH_UDP] = { "udp", udp_flavours, 1, o->udp ? 0 : 1, "" },
		[CH_DNS] = { "dns", dns_flavours, 2, o->dns ? 0 : 2, "" },
	};
	struct net_choice c;
	char why_tcp[HOOK_CHAIN_WHY_MAX], why_udp[HOOK_CHAIN_WHY_MAX], why_dns[HOOK_CHAIN_WHY_MAX];
	char why_sample[HOOK_CHAIN_WHY_MAX], why_results[HOOK_CHAIN_WHY_MAX], why_cgroup[160] = "";
	char hook[64];
	int ret = 0;

	memset(nh, 0, sizeof(*nh));
	nh->cgroup_fd = -1;
	net_kernel_probe(&kernel, hook_chain_vmlinux(&h->known));
	memcpy(tcp, tcp_flavours, sizeof(tcp));
	/* the owner walks read a socket through an address: bpf_rdonly_cast */
	if (!kernel.kfunc_cast)
		hook_chain_refuse(&ch[CH_RESULTS], "no bpf_rdonly_cast");
	snprintf(ch[CH_TCP].why, sizeof(ch[CH_TCP].why), "%s", why_tcp_before);
	if (o->tcp_hook != GW_TCP_HOOK_AUTO) {
		ch[CH_TCP].flavours = &tcp[o->tcp_hook - 1];
		ch[CH_TCP].n = 1;
		ch[CH_TCP].at = 0;
		l.tcp_table = tcp;
	}
	/*
	 * The recv capture reads the reader's syscall arguments as x86-64 passes them; the query
	 * match needs the packets.
	 */
#if defined(__x86_64__)
	bool recv_ok = !o->dns_match_queries && o->dns_hook != GW_DNS_HOOK_CGROUP_SKB;
#else
	bool recv_ok = false;
#endif
	if (o->dns_hook == GW_DNS_HOOK_RECV) {
		ch[CH_DNS].n = 1; /* forced, and if it cannot run: say why instead of falling back */
		if (!recv_ok)
			ch[CH_DNS].at = 1;
	} else if (!recv_ok && o->dns) {
		ch[CH_DNS].at = 1;
	}
	if (open_root_cgroup(nh, why_cgroup, sizeof(why_cgroup))) {
		while (ch[CH_TCP].at < ch[CH_TCP].n &&
		       hook_chain_current(&ch[CH_TCP]) - tcp < GW_TCP_HOOK_TP_BTF - 1) {
			char why[HOOK_CHAIN_WHY_MAX];

			snprintf(why, sizeof(why), "%s: %.140s", hook_chain_current(&ch[CH_TCP])->name,
				 why_cgroup);
			hook_chain_refuse(&ch[CH_TCP], why);
		}
		if (o->udp)
			hook_chain_refuse(&ch[CH_UDP], why_cgroup);
		if (o->dns) {
			snprintf(ch[CH_DNS].why, sizeof(ch[CH_DNS].why), "%s", why_cgroup);
			ch[CH_DNS].at = ch[CH_DNS].n;
		}
	}
	ret = hook_chain_load(ch, CH_COUNT, &h->known, net_open, &l, err, err_size);
	nh->skel = l.skel;
	if (ret) {
		net_hooks_close(nh);
		return ret;
	}
	choice_of(&l, ch, &c);
	snprintf(why_tcp, sizeof(why_tcp), "%s", ch[CH_TCP].why);
	snprintf(why_sample, sizeof(why_sample), "%s", ch[CH_SAMPLE].why);
	snprintf(why_results, sizeof(why_results), "%s", ch[CH_RESULTS].why);
	snprintf(why_udp, sizeof(why_udp), "%s", ch[CH_UDP].why);
	snprintf(why_dns, sizeof(why_dns), "%s", ch[CH_DNS].why);

	/*
	 * The iterator before the TCP programs: in the connect flavour its first run marks the
	 * accepted connections already open, which must not be reported as accepted at their close
	 */
	if (c.sample) {
		nh->sample_link = bpf_program__attach_iter(nh->skel->progs.gw_tcp_sample, NULL);
		if (!nh->sample_link) {
			snprintf(why_sample, sizeof(why_sample), "attaching iter/tcp: %s",
				 strerror(errno));
			c.sample = false;
		}
	}
	if (c.sample && c.tcp == GW_TCP_HOOK_CONNECT) {
		nh->skel->bss->gw_tcp_sample_baseline = 1;
		ret = net_hooks_sample(nh);
		nh->skel->bss->gw_tcp_sample_baseline = 0;
		if (ret) {
			snprintf(why_sample, sizeof(why_sample), "running iter/tcp: %s", strerror(-ret));
			bpf_link__destroy(nh->sample_link);
			nh->sample_link = NULL;
			c.sample = false;
		}
	}
	if (c.map_walk && !attach_owner_walks(nh, why_results, sizeof(why_results)))
		nh->results_walk = true;
	else if (c.tcp == GW_TCP_HOOK_CONNECT)
		nh->results_walk = c.sample;

	if (c.tcp != GW_TCP_HOOK_AUTO && (ret = attach_tcp(nh, h, c.tcp))) {
		char why[160];

		snprintf(why, sizeof(why), "attaching %s: %s", tcp_hook_name(c.tcp), strerror(-ret));
		if (c.tcp < GW_TCP_HOOK_TP && o->tcp_hook == GW_TCP_HOOK_AUTO) {
			/*
			 * the next flavour is a different object: load it all again from there, still
			 * as a chain, so a flavour after it that cannot attach either goes on too
			 */
			net_hooks_close(nh);
			return load_hooks(nh, h, o, c.tcp + 1, why, err, err_size);
		}
		snprintf(why_tcp, sizeof(why_tcp), "%s", why);
		c.tcp = GW_TCP_HOOK_AUTO;
	}
	if (c.tcp == GW_TCP_HOOK_CONNECT) {
		hooks_set_status(h, "tcp", "cgroup/connect4,6+post_bind4,6+tp_btf/tcp_destroy_sock",
				 why_tcp);
		hooks_set_status(h, "tcp_open_results",
				 nh->owner_walk[0] ? "iter/bpf_map_elem" : c.sample ? "iter/tcp" : "none",
				 nh->owner_walk[0] ?
					 (c.sample ? "" : "no iter/tcp: accepted ones come at close") :
				 c.sample ? why_results : "no iterator: results come at close");
	} else if (c.tcp == GW_TCP_HOOK_SOCKOPS)
		hooks_set_status(h, "tcp", "sockops+tp_btf/tcp_destroy_sock", why_tcp);
	else if (c.tcp != GW_TCP_HOOK_AUTO)
		hooks_set_status(h, "tcp",
				 c.tcp == GW_TCP_HOOK_TP ? "tp/sock/inet_sock_set_state" :
							   "tp_btf/inet_sock_set_state", why_tcp);
	else
		hooks_set_status(h, "tcp", "none", why_tcp[0] ? why_tcp : "no flavour loads here");

	hooks_set_status(h, "tcp_open_bytes", c.sample ? "iter/tcp" : "none",
			 c.sample ? "" : why_sample[0] ? why_sample : "no TCP hook");
	net_proto_hooks_attach(nh, h, o);

	if (c.udp) {
		struct bpf_program *progs[] = { nh->skel->progs.gw_udp_sendmsg4,
						nh->skel->progs.gw_udp_sendmsg6,
						nh->skel->progs.gw_connect4,
						nh->skel->progs.gw_connect6 };
		/* the connect flavour attached connect4,6 already */
		size_t n = c.tcp == GW_TCP_HOOK_CONNECT ? 2 : 4;

		for (size_t i = 0; i < n && c.udp; i++) {
			ret = attach(nh, progs[i], true);
			if (ret) {
				snprintf(why_udp, sizeof(why_udp), "attaching %s to %.60s: %s",
					 bpf_program__section_name(progs[i]), nh->cgroup_path,
					 strerror(-ret));
				c.udp = false;
			}
		}
	}
	snprintf(hook, sizeof(hook), "cgroup/connect4,6+sendmsg4,6@%.34s", nh->cgroup_path);
	hooks_set_status(h, "udp", c.udp ? hook : o->udp ? "none" : "off",
			 c.udp ? "" : o->udp ? why_udp : "disabled by configuration");

	/* the recv capture only while the udp hooks that tell the asking sockets are live */
	if (c.dns_recv && c.udp) {
		int first = nh->n_links;

		ret = attach(nh, nh->skel->progs.gw_dns_sender4, true);
		ret = ret ?: attach(nh, nh->skel->progs.gw_dns_sender6, true);
		ret = ret ?: attach(nh, nh->skel->progs.gw_dns_recv, false);
		if (!ret) {
			nh->dns_verify = GW_DNS_VERIFY_SOCKET;
			hooks_set_status(h, "dns", "tp_btf/sock_recv_length+cgroup/recvmsg4,6",
					 why_dns);
			return 0;
		}
		detach_since(nh, first);
	}
	if (c.dns_recv) {
		snprintf(why_dns, sizeof(why_dns), "tp_btf/sock_recv_length: %s",
			 c.udp ? strerror(-ret) : "no udp hooks to tell the sockets that asked");
		if (o->dns_hook == GW_DNS_HOOK_RECV)
			c.dns = false; /* forced: no fallback */
	}
	if (c.dns && (ret = attach(nh, nh->skel->progs.gw_dns_ingress, true))) {
		snprintf(why_dns, sizeof(why_dns), "attaching cgroup_skb/ingress: %s", strerror(-ret));
		c.dns = false;
	}
	/*
	 * The socket check needs the udp hooks, which remember the sockets that asked; it leaves every
	 * outgoing packet of the host alone. The query match costs an egress program on each of them.
	 */
	if (c.dns && c.udp && !o->dns_match_queries) {
		nh->dns_verify = GW_DNS_VERIFY_SOCKET;
	} else if (c.dns && (ret = attach(nh, nh->skel->progs.gw_dns_egress, true))) {
		snprintf(why_dns, sizeof(why_dns),
			 "cgroup_skb/egress: %s; answers are not verified", strerror(-ret));
	} else if (c.dns) {
		nh->dns_verify = GW_DNS_VERIFY_QUERY;
		if (!o->dns_match_queries)
			snprintf(why_dns, sizeof(why_dns), "no udp hooks to tell the sockets that "
				 "asked: answers matched to captured queries");
	}
	snprintf(hook, sizeof(hook), "cgroup_skb/ingress%s@%.36s",
		 nh->dns_verify == GW_DNS_VERIFY_QUERY ? "+egress" : "", nh->cgroup_path);
	hooks_set_status(h, "dns", c.dns ? hook : o->dns ? "none" : "off",
			 c.dns ? why_dns : o->dns ? why_dns : "disabled by configuration");
	return 0;
}

int net_hooks_load(struct gw_net_hooks *nh, struct gw_hooks *h, const struct gw_net_hook_options *o,
		   char *err, size_t err_size)
{
	int ret = load_hooks(nh, h, o, GW_TCP_HOOK_CONNECT, "", err, err_size);

	/* registered for the tamper check (core/attach_registry.h) */
	for (int i = 0; !ret && i < nh->n_links; i++)
		attach_registry_add(&h->attached, bpf_link__fd(nh->links[i]), nh->cgroup_fd);
	return ret;
}
