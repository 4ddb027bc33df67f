#include "net_hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "gw_events.h"
#include "network.skel.h"
#include "core/procfs.h"

#define OWN_CGROUP2_MOUNT "/run/ghostwatch/cgroup2"

struct net_choice {
	enum gw_tcp_hook tcp;	/* GW_TCP_HOOK_AUTO: off */
	bool udp;
	bool dns;	/* the cgroup_skb programs */
	bool dns_recv;	/* tp_btf/sock_recv_length */
	bool sample;	/* iter/tcp: bytes of open connections */
	uint64_t wakeup_bytes;
	const struct net_kernel *kernel;	/* probed once per load */
};

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* The kernel's tick, which the network programs date connects in: a coarse clock's resolution is
 * one tick. 0 (they read the boot clock instead) if it cannot be had. */
static uint64_t kernel_jiffy_ns(void)
{
	struct timespec res;

	if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) || res.tv_sec || res.tv_nsec <= 0)
		return 0;
	return (uint64_t)res.tv_nsec;
}

/* Whether the running kernel's BTF has kfunc `name` (false if its BTF cannot be read). */
static bool kernel_has_kfunc(const char *name)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	bool found;

	if (!vmlinux)
		return false;
	found = btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC) > 0;
	btf__free(vmlinux);
	return found;
}

void net_kernel_probe(struct net_kernel *k)
{
	k->jiffy_ns = kernel_jiffy_ns();
	k->kfunc_cast = kernel_has_kfunc("bpf_rdonly_cast");
}

void net_kernel_set(struct gw_network *skel, const struct net_kernel *k)
{
	skel->rodata->gw_jiffy_ns = k->jiffy_ns;
	skel->rodata->gw_kfunc_cast = k->kfunc_cast;
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
	/* the owner walks read a socket through an address: bpf_rdonly_cast */
	bpf_program__set_autoload(skel->progs.gw_owner_slots_walk,
				  c->tcp == GW_TCP_HOOK_CONNECT && c->kernel->kfunc_cast);
	bpf_program__set_autoload(skel->progs.gw_conn_owner_walk,
				  c->tcp == GW_TCP_HOOK_CONNECT && c->kernel->kfunc_cast);
	skel->rodata->gw_wakeup_bytes = c->wakeup_bytes;
	skel->rodata->gw_tcp_at_connect = c->tcp == GW_TCP_HOOK_CONNECT;
	skel->rodata->gw_udp_peers = c->udp;
	net_kernel_set(skel, c->kernel);
	if (hooks_share_maps(h, skel->maps.gw_events, skel->maps.gw_drops,
			       skel->maps.gw_reader_idle)) {
		gw_network__destroy(skel);
		return NULL;
	}
	return skel;
}

/* 0 when the object loads with exactly this choice; the kernel's -errno otherwise. */
#define VERIFIER_LOG_BYTES (4u << 20)

/* The verifier's own words for a refusal: its last two lines before the instruction count (the
 * instruction it stopped at, and why). */
static void last_log_line(const char *log, char *out, size_t out_size)
{
	const char *end = log + strlen(log), *lines[2];
	int lens[2], n = 0;

	while (end > log && n < 2) {
		const char *line_end, *line;

		while (end > log && (end[-1] == '\n' || end[-1] == ' '))
			end--;
		line_end = end;
		while (end > log && end[-1] != '\n')
			end--;
		line = end;
		if (line_end > line && strncmp(line, "processed ", 10) &&
		    strncmp(line, "verification time", 17) && strncmp(line, "stack depth", 11)) {
			lines[n] = line;
			lens[n++] = (int)(line_end - line);
		}
	}
	if (n == 2)
		snprintf(out, out_size, "%.*s | %.*s", lens[1], lines[1], lens[0], lines[0]);
	else if (n == 1)
		snprintf(out, out_size, "%.*s", lens[0], lines[0]);
}

/*
 * Why a choice does not load: loads it once more with the verifier log on (only after a failure:
 * a log costs verification time, and old kernels fail a load whose log overflows).
 */
static void refusal_reason(struct gw_hooks *h, const struct net_choice *c, char *out,
			   size_t out_size)
{
	libbpf_print_fn_t old = libbpf_set_print(quiet);
	struct gw_network *skel = open_with(h, c);
	char *log = skel ? calloc(1, VERIFIER_LOG_BYTES) : NULL;
	struct bpf_program *p;

	out[0] = '\0';
	if (log) {
		bpf_object__for_each_program(p, skel->obj) {
			if (!bpf_program__autoload(p))
				continue;
			log[0] = '\0';
			bpf_program__set_log_buf(p, log, VERIFIER_LOG_BYTES);
			bpf_program__set_log_level(p, 1);
			break; /* one buffer: the choices probed here hold one kind of program */
		}
		if (gw_network__load(skel))
			last_log_line(log, out, out_size);
	}
	free(log);
	gw_network__destroy(skel);
	libbpf_set_print(old);
}

static int try_load(struct gw_hooks *h, const struct net_choice *c, char *why, size_t why_size,
		    const char *what)
{
	libbpf_print_fn_t old = libbpf_set_print(quiet);
	struct gw_network *skel = open_with(h, c);
	int err = skel ? gw_network__load(skel) : -errno;
	char verifier[200];

	gw_network__destroy(skel);
	libbpf_set_print(old);
	if (err && why && !why[0]) {
		refusal_reason(h, c, verifier, sizeof(verifier));
		snprintf(why, why_size, "%s refused: %s%s%s%s", what, strerror(-err),
			 verifier[0] ? " (verifier: " : "", verifier, verifier[0] ? ")" : "");
	}
	return err;
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

int net_owner_walks_attach(struct gw_network *skel, struct bpf_link *walk[2])
{
	struct bpf_program *progs[2] = { skel->progs.gw_owner_slots_walk,
					 skel->progs.gw_conn_owner_walk };
	struct bpf_map *maps[2] = { skel->maps.owner_slots, skel->maps.conn_owner };

	for (int i = 0; i < 2; i++) {
		union bpf_iter_link_info info = { .map.map_fd = bpf_map__fd(maps[i]) };
		LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &info,
			    .link_info_len = sizeof(info));

		walk[i] = bpf_program__attach_iter(progs[i], &opts);
		if (!walk[i]) {
			int err = -errno;

			bpf_link__destroy(walk[0]);
			walk[0] = NULL;
			return err;
		}
	}
	return 0;
}

/* The connect flavour's owner-map walks; 0, or -errno with `why` said and nothing left attached. */
static int attach_owner_walks(struct gw_net_hooks *nh, char *why, size_t why_size)
{
	int err = net_owner_walks_attach(nh->skel, nh->owner_walk);

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
	struct net_choice c = { .udp = o->udp, .dns = o->dns, .wakeup_bytes = o->wakeup_bytes,
				.kernel = &kernel };
	char why_tcp[160] = "", why_udp[160] = "", why_dns[160] = "", why_sample[160] = "";
	char why_cgroup[160] = "";
	bool have_cgroup;
	char hook[64];
	int ret = 0;

	memset(nh, 0, sizeof(*nh));
	nh->cgroup_fd = -1;
	net_kernel_probe(&kernel);
	snprintf(why_tcp, sizeof(why_tcp), "%s", why_tcp_before);
	have_cgroup = !open_root_cgroup(nh, why_cgroup, sizeof(why_cgroup));
	if (!have_cgroup) {
		snprintf(why_udp, sizeof(why_udp), "%s", why_cgroup);
		snprintf(why_dns, sizeof(why_dns), "%s", why_cgroup);
		c.udp = c.dns = false;
	}
	/* TCP: first flavour of the chain that loads on its own */
	for (enum gw_tcp_hook t = o->tcp_hook == GW_TCP_HOOK_AUTO ? tcp_from : o->tcp_hook;
	     t <= GW_TCP_HOOK_TP; t++) {
		struct net_choice only = { .tcp = t, .wakeup_bytes = o->wakeup_bytes,
					   .kernel = &kernel };

		if (t <= GW_TCP_HOOK_SOCKOPS && !have_cgroup) {
			if (!why_tcp[0])
				snprintf(why_tcp, sizeof(why_tcp), "%s: %.140s", tcp_hook_name(t),
					 why_cgroup);
			ret = -ENOENT;
		} else {
			ret = try_load(h, &only, why_tcp, sizeof(why_tcp), tcp_hook_name(t));
		}
		if (!ret) {
			c.tcp = t;
			break;
		}
		if (o->tcp_hook != GW_TCP_HOOK_AUTO)
			break;
	}
	/* sampling open connections needs the TCP hook's owners; without it bytes come at close */
	c.sample = c.tcp != GW_TCP_HOOK_AUTO &&
		   !try_load(h, &(struct net_choice){ .sample = true, .wakeup_bytes = o->wakeup_bytes,
						      .kernel = &kernel },
			     why_sample, sizeof(why_sample), "iter/tcp");
	if (c.udp && try_load(h, &(struct net_choice){ .udp = true, .wakeup_bytes = o->wakeup_bytes,
						       .kernel = &kernel },
			      why_udp, sizeof(why_udp), "cgroup/sock_addr"))
		c.udp = false;
	/*
	 * The recv capture tells answers apart by the sockets the udp hooks saw ask, and reads the
	 * reader's syscall arguments as x86-64 passes them; the query match needs the packets.
	 */
#if defined(__x86_64__)
	c.dns_recv = o->dns && c.udp && !o->dns_match_queries && o->dns_hook != GW_DNS_HOOK_CGROUP_SKB &&
		     !try_load(h, &(struct net_choice){ .dns_recv = true, .wakeup_bytes = o->wakeup_bytes,
							.kernel = &kernel },
			       why_dns, sizeof(why_dns), "tp_btf/sock_recv_length");
#endif
	if (o->dns_hook == GW_DNS_HOOK_RECV && !c.dns_recv)
		c.dns = false; /* forced, and it cannot run: say why instead of falling back */
	if (c.dns && try_load(h, &(struct net_choice){ .dns = true, .wakeup_bytes = o->wakeup_bytes,
						       .kernel = &kernel },
			      why_dns, sizeof(why_dns), "cgroup_skb"))
		c.dns = false;

	nh->skel = open_with(h, &c);
	if (!nh->skel || (ret = gw_network__load(nh->skel))) {
		ret = nh->skel ? ret : -errno;
		snprintf(err, err_size, "loading the network BPF object: %s", strerror(-ret));
		net_hooks_close(nh);
		return ret;
	}

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
	if (c.tcp == GW_TCP_HOOK_CONNECT && kernel.kfunc_cast &&
	    !attach_owner_walks(nh, why_tcp, sizeof(why_tcp)))
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
				 c.sample ? "no bpf_rdonly_cast: every socket is walked every second" :
					    "no iterator: results come at close");
	}
	else if (c.tcp == GW_TCP_HOOK_SOCKOPS)
		hooks_set_status(h, "tcp", "sockops+tp_btf/tcp_destroy_sock", why_tcp);
	else if (c.tcp != GW_TCP_HOOK_AUTO)
		hooks_set_status(h, "tcp",
				 c.tcp == GW_TCP_HOOK_TP ? "tp/sock/inet_sock_set_state" :
							   "tp_btf/inet_sock_set_state", why_tcp);
	else
		hooks_set_status(h, "tcp", "none", why_tcp[0] ? why_tcp : "no flavour loads here");

	hooks_set_status(h, "tcp_open_bytes", c.sample ? "iter/tcp" : "none",
			 c.sample ? "" : why_sample[0] ? why_sample : "no TCP hook");

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
	return load_hooks(nh, h, o, GW_TCP_HOOK_CONNECT, "", err, err_size);
}

int net_hooks_listen_map_fd(const struct gw_net_hooks *nh)
{
	return nh->skel ? bpf_map__fd(nh->skel->maps.listen_owner) : -1;
}

int net_hooks_fold_map_fd(const struct gw_net_hooks *nh, unsigned int which)
{
	if (!nh->skel)
		return -1;
	return bpf_map__fd(which & 1 ? nh->skel->maps.tcp_fold_1 : nh->skel->maps.tcp_fold_0);
}

struct gw_tcp_fold_slot *net_fold_slots_map(struct gw_network *skel, size_t *half_n)
{
	struct bpf_map *map = skel->maps.tcp_fold_slots;
	/* an mmapable array's values are laid out one after the other, as an array of them */
	void *p = mmap(NULL, (size_t)bpf_map__max_entries(map) * sizeof(struct gw_tcp_fold_slot),
		       PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map), 0);

	/* one half per tick, as the programs index it */
	*half_n = bpf_map__max_entries(map) / 2;
	return p == MAP_FAILED ? NULL : p;
}

void net_fold_slots_unmap(struct gw_network *skel, struct gw_tcp_fold_slot *all)
{
	if (all)
		munmap(all, (size_t)bpf_map__max_entries(skel->maps.tcp_fold_slots) *
				    sizeof(struct gw_tcp_fold_slot));
}

bool net_fold_slots_take(struct gw_network *skel, unsigned int which)
{
	__u64 *made;

	if (!skel->bss)
		return false;
	made = &skel->bss->gw_fold_slots_made[which & 1];
	if (!__atomic_load_n(made, __ATOMIC_ACQUIRE))
		return false;
	__atomic_store_n(made, 0, __ATOMIC_RELAXED);
	return true;
}

void net_fold_slots_empty(struct gw_tcp_fold_slot *half, size_t n,
			  void (*read)(void *ctx, const struct gw_tcp_fold *v), void *ctx)
{
	for (size_t i = 0; i < n; i++) {
		struct gw_tcp_fold_slot *s = &half[i];

		if (!__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE) &&
		    !__atomic_load_n(&s->claims, __ATOMIC_RELAXED))
			continue;
		if (s->ready && read)
			read(ctx, &s->v);
		memset(s, 0, sizeof(*s));
	}
}

struct gw_tcp_fold_slot *net_hooks_fold_slots(struct gw_net_hooks *nh, unsigned int which,
					      size_t *n)
{
	*n = 0;
	if (!nh->skel)
		return NULL;
	if (!nh->fold_slots)
		nh->fold_slots = net_fold_slots_map(nh->skel, &nh->fold_slots_half);
	if (!nh->fold_slots)
		return NULL;
	*n = nh->fold_slots_half;
	return nh->fold_slots + (which & 1) * *n;
}

bool net_hooks_fold_slots_take(struct gw_net_hooks *nh, unsigned int which)
{
	return nh->skel && net_fold_slots_take(nh->skel, which);
}

unsigned int net_hooks_fold_live(const struct gw_net_hooks *nh)
{
	return nh->skel && nh->skel->bss ? __atomic_load_n(&nh->skel->bss->gw_tcp_fold_gen,
							   __ATOMIC_RELAXED) & 1 : 0;
}

void net_hooks_fold_set_live(struct gw_net_hooks *nh, unsigned int which)
{
	if (nh->skel && nh->skel->bss &&
	    (__atomic_load_n(&nh->skel->bss->gw_tcp_fold_gen, __ATOMIC_RELAXED) & 1) != (which & 1))
		net_fold_next_tick(nh->skel);
}

void net_fold_next_tick(struct gw_network *skel)
{
	/*
	 * .bss is mmapped by the skeleton: the programs see the store at once. Counted, not toggled:
	 * a program that remembered a fold slot with the tick's count must not find it again two
	 * ticks later, when the same half is live but was emptied in between.
	 */
	__atomic_store_n(&skel->bss->gw_tcp_fold_gen,
			 __atomic_load_n(&skel->bss->gw_tcp_fold_gen, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELEASE);
}

uint64_t net_hooks_fold_slot_taken(const struct gw_net_hooks *nh)
{
	return nh->skel && nh->skel->bss ?
		       __atomic_load_n(&nh->skel->bss->gw_fold_slot_taken, __ATOMIC_RELAXED) : 0;
}

uint64_t net_hooks_owner_overflows(const struct gw_net_hooks *nh)
{
	return nh->skel && nh->skel->bss ?
		       __atomic_load_n(&nh->skel->bss->gw_owner_overflows, __ATOMIC_RELAXED) : 0;
}

uint64_t net_hooks_dns_unread(const struct gw_net_hooks *nh)
{
	return nh->skel && nh->skel->bss ?
		       __atomic_load_n(&nh->skel->bss->gw_dns_recv_unread, __ATOMIC_RELAXED) : 0;
}

int net_iter_run(struct bpf_link *link)
{
	char buf[64];
	ssize_t n;
	int fd;

	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0)
		return -errno;
	/* the programs write nothing: reading to the end is what walks */
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
	return n < 0 ? -errno : 0;
}

int net_hooks_sample(struct gw_net_hooks *nh)
{
	if (!nh->sample_link)
		return -ENOENT;
	return net_iter_run(nh->sample_link);
}

int net_owner_walks_run(struct gw_network *skel, struct bpf_link *walk[2])
{
	int ret = net_iter_run(walk[0]);

	/* the hash map's walk visits each of its 65,536 buckets: only when it holds owners */
	if (!ret && __atomic_load_n(&skel->bss->gw_conn_owner_n, __ATOMIC_RELAXED) > 0)
		ret = net_iter_run(walk[1]);
	return ret;
}

int net_hooks_walk_owners(struct gw_net_hooks *nh)
{
	if (!nh->owner_walk[0])
		return -ENOENT;
	return net_owner_walks_run(nh->skel, nh->owner_walk);
}

void net_hooks_close(struct gw_net_hooks *nh)
{
	for (int i = 0; i < 2; i++) {
		bpf_link__destroy(nh->owner_walk[i]);
		nh->owner_walk[i] = NULL;
	}
	nh->results_walk = false;
	bpf_link__destroy(nh->sample_link);
	nh->sample_link = NULL;
	for (int i = 0; i < nh->n_links; i++)
		bpf_link__destroy(nh->links[i]);
	nh->n_links = 0;
	if (nh->skel)
		net_fold_slots_unmap(nh->skel, nh->fold_slots);
	nh->fold_slots = NULL;
	gw_network__destroy(nh->skel);
	nh->skel = NULL;
	if (nh->cgroup_fd >= 0)
		close(nh->cgroup_fd);
	nh->cgroup_fd = -1;
	if (nh->mounted_cgroup)
		umount2(nh->cgroup_path, MNT_DETACH);
	nh->mounted_cgroup = false;
}
