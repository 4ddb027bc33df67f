/*
 * connect_ab - what the agent's network BPF programs cost a loopback connect loop, measured by
 * attaching them for one period and detaching them for the next, alternating within one run.
 *
 * Whole-agent comparisons (run.sh, ab_loop.py) set 3-second runs side by side, seconds apart, and
 * on this host one such pair's ratio spreads by ±10 %: the host drifts between runs, so a 1 %
 * question needs hundreds of rounds. Periods of a fraction of a second, in ABBA order, put the two
 * states next to each other hundreds of times in a minute and the drift cancels within a pair.
 *
 * What is attached is the agent's own network object (network.skel.h) with the agent's choices:
 * the connect TCP flavour, the cgroup sock_addr programs and the read-time DNS capture on the
 * root cgroup v2. A thread stands in for the agent's loop: every 100 ms it consumes the ring buffer
 * and flips the fold maps, emptying the retired map and array half, as the agent's tick does, and
 * with the connect flavour it walks the owner maps every second and every socket every 10 s, as
 * the agent does (in the on periods only: their marks need the destroy program). The
 * listener is opened while the programs are attached, so its owner is known as the agent would
 * know it. The agent's own CPU is not in this figure: run.sh measures it (agent µs per connect).
 *
 * A period's cost is the connect thread's and the accept thread's CPU clocks (softirq included:
 * this kernel charges it to the task it interrupts; no IRQ_TIME_ACCOUNTING) over its connects. The
 * programs are switched only when every connection of the period is accepted and closed, so no
 * connection is half seen (an owner remembered but never forgotten would skew later periods), and
 * the switch itself is outside both periods.
 *
 * usage: connect_ab [--rate N] [--seconds S] [--period-ms N] [--no-tcp] [--no-dns] [--no-udp]
 *                   [--proto-id[=cgroup_skb]]
 *                   [--tcp-hooks=connect|sockops|tp_btf] [--dns-hooks=recv|cgroup_skb]
 *                   [--dns-verify=socket|query] [--against=before|other-tcp]
 *                   [--empty=set_state|destroy_sock|sock_ops|cgroup_skb|connect]
 * (root). The --no-* options leave a signal's programs out, to see what each costs; --proto-id
 * adds the first-bytes capture at the send and receive calls, =cgroup_skb its every-packet
 * fallback (the agent loads one by default; connect_ab only when asked); --tcp-hooks,
 * --dns-hooks and --dns-verify are the agent's options of those names (sockops and tp_btf: the
 * TCP fallbacks; cgroup_skb: the per-packet DNS fallback; query: that and its egress program);
 * --against=before runs former choices (tp_btf TCP, DNS from every packet in and out) in the other
 * periods instead of nothing, so the ratio is now/before within one run; --against=other-tcp runs
 * the same programs with the other TCP fallback there (sockops against the tp_btf tracepoint, or
 * the reverse). Both need --tcp-hooks=sockops or tp_btf: the connect flavour's programs are built
 * for it when the object loads, and the two periods share the object;
 * --empty=HOOK
 * alternates a program that returns at once on HOOK instead (empty_hook.h): the floor under any
 * program there, the cost of running one before it does any work.
 * Prints one JSON line: the median on/off ratio of the pairs and its bootstrap 95 % interval, the
 * pooled CPU per connect in each state, failures, and the programs' drops.
 */
#include "empty_hook.h"
#include "gw_events.h"
#include "loopback.h"
#include "net/net_hooks.h"
#include "pacer.h"
#include "core/procfs.h"
#include "network.skel.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINKS 14
#define AGENT_TICK_US 100000
#define BOOTSTRAP_RESAMPLES 4000

/* Which of the agent's network programs a period runs with. */
struct ab_config {
	bool tcp, dns, udp;
	enum gw_tcp_hook tcp_hook;	/* --tcp-hooks: connect (the agent's first), sockops, tp_btf */
	bool dns_packets;	/* --dns-hooks=cgroup_skb (implied by query): the per-packet fallback */
	bool dns_queries;	/* --dns-verify=query: the egress program too, as the agent attaches it */
	int proto;		/* --proto-id[=cgroup_skb]: the first-bytes capture, 1 at the send and
				 * receive calls (tp_btf), 2 on every packet (cgroup_skb in and out) */
};

/* The agent's choices before sockops and the read-time DNS capture: --against=before. */
static const struct ab_config config_before = {
	.tcp = true, .dns = true, .udp = true, .tcp_hook = GW_TCP_HOOK_TP_BTF, .dns_packets = true,
	.dns_queries = true,
};

struct ab_options {
	uint64_t rate, seconds, period_ms;
	struct ab_config on;	/* what the "on" periods run */
	const struct ab_config *against;	/* what the other periods run instead of nothing */
	struct ab_config other_tcp;	/* --against=other-tcp: `on` with the other TCP flavour */
	int empty; /* enum empty_hook_kind instead of the agent's programs; -1: the agent's */
	const char *programs; /* "agent", or the empty hook's name */
};

struct ab {
	struct gw_network *skel;
	struct empty_hook empty;
	struct bpf_link *links[MAX_LINKS];
	int n_links;
	struct bpf_link *sample_link;	/* the connect flavour's walk of open connections */
	struct bpf_link *owner_walk[2];	/* and of its owner maps (with bpf_rdonly_cast) */
	bool attached;
	int cgroup_fd;
	struct ring_buffer *ring;
	atomic_bool stop;
	atomic_uint_fast64_t records;
	pthread_t agent_thread;
	const struct ab_options *o;
};

/* Records are only counted: that there are some shows the programs ran while attached. */
static int count_record(void *ctx, void *data, size_t size)
{
	(void)data, (void)size;
	atomic_fetch_add((atomic_uint_fast64_t *)ctx, 1);
	return 0;
}

static void fold_map_clear(int fd)
{
	struct gw_tcp_fold_key k;

	while (!bpf_map_get_next_key(fd, NULL, &k))
		if (bpf_map_delete_elem(fd, &k))
			break;
}

/* The agent's tick, as far as the programs can tell: ring consumed, fold maps flipped, and with
 * the connect flavour open connections walked. */
static void *agent_stand_in(void *arg)
{
	struct ab *ab = arg;
	int maps[2] = { bpf_map__fd(ab->skel->maps.tcp_fold_0), bpf_map__fd(ab->skel->maps.tcp_fold_1) };
	size_t n_slots;
	struct gw_tcp_fold_slot *all = net_fold_slots_map(ab->skel, &n_slots);

	for (unsigned int tick = 1; !atomic_load(&ab->stop); tick++) {
		unsigned int idle = (ab->skel->bss->gw_tcp_fold_gen & 1) ^ 1;

		usleep(AGENT_TICK_US);
		/*
		 * As the agent: the owner maps every second (without them every socket), and every
		 * socket once per 10-s window; while attached only: with no destroy program to forget
		 * what a walk marks, a marked socket's address would carry its mark to the next socket
		 */
		if (ab->attached && ab->owner_walk[0] && tick % 10 == 0)
			net_walks_owners_run(ab->skel, ab->owner_walk);
		if (ab->attached && ab->sample_link && tick % (ab->owner_walk[0] ? 100 : 10) == 0)
			net_walks_run(ab->sample_link);
		ring_buffer__consume(ab->ring);
		fold_map_clear(maps[idle]);
		/* emptied as the agent empties it after reading it (fold_drain_slots) */
		if (all && net_fold_slots_take(ab->skel, idle))
			net_fold_slots_empty(all + idle * n_slots, n_slots, NULL, NULL);
		net_fold_slots_next_tick(ab->skel);
	}
	net_fold_slots_unmap(ab->skel, all);
	return NULL;
}

/* The root cgroup v2, found as the agent finds it (without mounting one: a bench changes nothing). */
static int cgroup2_root_open(void)
{
	char path[256];

	if (procfs_find_cgroup2_root("/proc/self/mountinfo", path, sizeof(path)))
		return -1;
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int ab_attach_one(struct ab *ab, struct bpf_program *p, bool cgroup)
{
	struct bpf_link *l;

	if (ab->n_links == MAX_LINKS) {
		fprintf(stderr, "connect_ab: more than %d programs to attach\n", MAX_LINKS);
		return -1;
	}
	l = cgroup ? bpf_program__attach_cgroup(p, ab->cgroup_fd) : bpf_program__attach(p);

	if (!l) {
		fprintf(stderr, "connect_ab: attaching %s: %s\n", bpf_program__name(p),
			strerror(errno));
		return -1;
	}
	ab->links[ab->n_links++] = l;
	return 0;
}

static void ab_detach(struct ab *ab)
{
	if (ab->o->empty >= 0)
		empty_hook_detach(&ab->empty);
	while (ab->n_links)
		bpf_link__destroy(ab->links[--ab->n_links]);
	ab->attached = false;
}

static int ab_attach(struct ab *ab, const struct ab_config *c)
{
	struct gw_network *s = ab->skel;
	int err;

	if (ab->o->empty >= 0) {
		err = empty_hook_attach(&ab->empty);
		ab->attached = !err;
		return err;
	}
	bool at_connect = c->tcp && c->tcp_hook == GW_TCP_HOOK_CONNECT;

	if (!c->tcp)
		err = 0;
	else if (c->tcp_hook == GW_TCP_HOOK_TP_BTF)
		err = ab_attach_one(ab, s->progs.gw_tcp_state_btf, false);
	else
		err = (at_connect ? ab_attach_one(ab, s->progs.gw_tcp_bind4, true) ||
					    ab_attach_one(ab, s->progs.gw_tcp_bind6, true) :
				    ab_attach_one(ab, s->progs.gw_tcp_sockops, true)) ||
		      ab_attach_one(ab, s->progs.gw_tcp_destroy, false) ||
		      ab_attach_one(ab, s->progs.gw_tcp_error, false);

	if (!err && (c->udp || at_connect))
		err = ab_attach_one(ab, s->progs.gw_connect4, true) ||
		      ab_attach_one(ab, s->progs.gw_connect6, true);
	if (!err && c->udp)
		err = ab_attach_one(ab, s->progs.gw_udp_sendmsg4, true) ||
		      ab_attach_one(ab, s->progs.gw_udp_sendmsg6, true);
	if (!err && c->dns)
		err = c->dns_packets ?
			      ab_attach_one(ab, s->progs.gw_dns_ingress, true) ||
				      (c->dns_queries &&
				       ab_attach_one(ab, s->progs.gw_dns_egress, true)) :
			      ab_attach_one(ab, s->progs.gw_dns_sender4, true) ||
				      ab_attach_one(ab, s->progs.gw_dns_sender6, true) ||
				      ab_attach_one(ab, s->progs.gw_dns_recv, false);
	if (!err && c->proto == 1)
		err = ab_attach_one(ab, s->progs.gw_proto_send, false) ||
		      ab_attach_one(ab, s->progs.gw_proto_recv, false);
	if (!err && c->proto == 2)
		err = ab_attach_one(ab, s->progs.gw_proto_ingress, true) ||
		      ab_attach_one(ab, s->progs.gw_proto_egress, true);
	if (err)
		ab_detach(ab);
	ab->attached = !err && c == &ab->o->on;
	return err ? -1 : 0;
}

/* What the "off" periods run: nothing, or the --against configuration. */
static int ab_baseline(struct ab *ab)
{
	ab_detach(ab);
	return ab->o->against ? ab_attach(ab, ab->o->against) : 0;
}

static const char *tcp_hook_name(enum gw_tcp_hook t)
{
	return t == GW_TCP_HOOK_CONNECT ? "connect" : t == GW_TCP_HOOK_SOCKOPS ? "sockops" : "tp_btf";
}

/* Loads `p` if a configuration in use runs it (autoload is off for every program first). */
static void autoload_on(struct bpf_program *p, bool used)
{
	if (used)
		bpf_program__set_autoload(p, true);
}

static int ab_load(struct ab *ab)
{
	struct net_kernel kernel;
	struct btf *vmlinux;
	bool walks;
	struct bpf_program *p;

	ab->cgroup_fd = cgroup2_root_open();
	atomic_init(&ab->stop, false);
	atomic_init(&ab->records, 0);
	if (ab->o->empty >= 0)
		return empty_hook_load(&ab->empty, ab->o->empty, ab->cgroup_fd);
	if (ab->cgroup_fd < 0) {
		fprintf(stderr, "connect_ab: no cgroup2 mount found\n");
		return -1;
	}
	vmlinux = btf__load_vmlinux_btf();
	net_kernel_probe(&kernel, vmlinux);
	btf__free(vmlinux);
	/* as the agent: a kernel that refuses the owner-map walks walks every socket instead */
	walks = kernel.kfunc_cast;
reopen:
	ab->skel = gw_network__open();
	if (!ab->skel)
		return -1;
	net_kernel_set(ab->skel, &kernel); /* as the agent sets them */
	ab->skel->rodata->gw_tcp_at_connect = ab->o->on.tcp &&
					      ab->o->on.tcp_hook == GW_TCP_HOOK_CONNECT;
	ab->skel->rodata->gw_udp_peers = ab->o->on.udp;
	bpf_object__for_each_program(p, ab->skel->obj)
		bpf_program__set_autoload(p, false);
	for (int i = 0; i < (ab->o->against ? 2 : 1); i++) {
		const struct ab_config *c = i ? ab->o->against : &ab->o->on;
		struct gw_network *k = ab->skel;

		bool at_connect = c->tcp && c->tcp_hook == GW_TCP_HOOK_CONNECT;

		if (c->tcp) {
			autoload_on(k->progs.gw_tcp_state_btf, c->tcp_hook == GW_TCP_HOOK_TP_BTF);
			autoload_on(k->progs.gw_tcp_sockops, c->tcp_hook == GW_TCP_HOOK_SOCKOPS);
			autoload_on(k->progs.gw_tcp_bind4, at_connect);
			autoload_on(k->progs.gw_tcp_bind6, at_connect);
			autoload_on(k->progs.gw_tcp_destroy, c->tcp_hook != GW_TCP_HOOK_TP_BTF);
			autoload_on(k->progs.gw_tcp_error, c->tcp_hook != GW_TCP_HOOK_TP_BTF);
			autoload_on(k->progs.gw_tcp_sample, at_connect);
			autoload_on(k->progs.gw_owner_slots_walk, at_connect && walks);
			autoload_on(k->progs.gw_conn_owner_walk, at_connect && walks);
		}
		autoload_on(k->progs.gw_proto_send, c->proto == 1);
		autoload_on(k->progs.gw_proto_recv, c->proto == 1);
		autoload_on(k->progs.gw_proto_ingress, c->proto == 2);
		autoload_on(k->progs.gw_proto_egress, c->proto == 2);
		autoload_on(k->progs.gw_connect4, c->udp || at_connect);
		autoload_on(k->progs.gw_connect6, c->udp || at_connect);
		autoload_on(k->progs.gw_udp_sendmsg4, c->udp);
		autoload_on(k->progs.gw_udp_sendmsg6, c->udp);
		autoload_on(k->progs.gw_dns_ingress, c->dns && c->dns_packets);
		autoload_on(k->progs.gw_dns_egress, c->dns && c->dns_packets);
		autoload_on(k->progs.gw_dns_recv, c->dns && !c->dns_packets);
		autoload_on(k->progs.gw_dns_sender4, c->dns && !c->dns_packets);
		autoload_on(k->progs.gw_dns_sender6, c->dns && !c->dns_packets);
	}
	if (gw_network__load(ab->skel)) {
		if (walks) {
			fprintf(stderr, "connect_ab: owner-map walks refused (%s): every socket is "
				"walked instead\n", strerror(errno));
			gw_network__destroy(ab->skel);
			walks = false;
			goto reopen;
		}
		fprintf(stderr, "connect_ab: loading the network programs: %s\n", strerror(errno));
		return -1;
	}
	ab->ring = ring_buffer__new(bpf_map__fd(ab->skel->maps.gw_events), count_record,
				    &ab->records, NULL);
	if (!ab->ring)
		return -1;
	if (ab->skel->rodata->gw_tcp_at_connect) {
		/* as the agent: the first walk marks what was open before (net_hooks_load()) */
		ab->sample_link = bpf_program__attach_iter(ab->skel->progs.gw_tcp_sample, NULL);
		if (!ab->sample_link)
			return -1;
		ab->skel->bss->gw_tcp_sample_baseline = 1;
		net_walks_run(ab->sample_link);
		ab->skel->bss->gw_tcp_sample_baseline = 0;
		if (walks && net_walks_owners_attach(ab->skel, ab->owner_walk))
			return -1;
	}
	return pthread_create(&ab->agent_thread, NULL, agent_stand_in, ab) ? -1 : 0;
}

static uint64_t drops_total(struct ab *ab)
{
	if (!ab->skel)
		return 0;

	int fd = bpf_map__fd(ab->skel->maps.gw_drops), ncpu = libbpf_num_possible_cpus();
	uint64_t total = 0, *per_cpu = calloc(ncpu > 0 ? ncpu : 1, sizeof(*per_cpu));

	for (__u32 k = 0; per_cpu && k < GW_DROP_CATEGORY_MAX; k++)
		if (!bpf_map_lookup_elem(fd, &k, per_cpu))
			for (int c = 0; c < ncpu; c++)
				total += per_cpu[c];
	free(per_cpu);
	return total;
}

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct period {
	uint64_t cpu_ns, ops, failures;
};

/* One period at the fixed rate; its CPU is counted once every connection has been closed. */
static struct period run_period(struct listener *l, clockid_t accept_clock, uint64_t *connected,
				uint64_t ticks, uint64_t rate)
{
	struct period r = { 0 };
	uint64_t cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID) + clock_ns(accept_clock);
	struct pacer pacer;

	pacer_start(&pacer, rate, 1000000);
	for (uint64_t i = 0; i < ticks; i++) {
		pacer_wait(&pacer, i);
		if (connect_once(&l->addr) == 0)
			r.ops++;
		else
			r.failures++;
	}
	*connected += r.ops;
	listener_wait_accepted(l, *connected);
	r.cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) + clock_ns(accept_clock) - cpu0;
	return r;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median_of(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Percentile bootstrap of the median ratio: resample pairs, keep the 2.5th and 97.5th medians. */
static void bootstrap_median(const double *ratios, size_t n, double *lo, double *hi)
{
	double *sample = malloc(n * sizeof(*sample));
	double *medians = malloc(BOOTSTRAP_RESAMPLES * sizeof(*medians));
	uint64_t x = 0x9E3779B97F4A7C15ULL;

	*lo = *hi = 0;
	if (!sample || !medians)
		goto out;
	for (int b = 0; b < BOOTSTRAP_RESAMPLES; b++) {
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
			sample[i] = ratios[x % n];
		}
		medians[b] = median_of(sample, n);
	}
	qsort(medians, BOOTSTRAP_RESAMPLES, sizeof(double), cmp_double);
	*lo = medians[BOOTSTRAP_RESAMPLES * 25 / 1000];
	*hi = medians[BOOTSTRAP_RESAMPLES * 975 / 1000];
out:
	free(sample);
	free(medians);
}

static int parse_args(struct ab_options *o, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		uint64_t *num = !strcmp(a, "--rate") ? &o->rate :
				!strcmp(a, "--seconds") ? &o->seconds :
				!strcmp(a, "--period-ms") ? &o->period_ms : NULL;
		char *end;

		if (!strncmp(a, "--empty=", 8)) {
			o->empty = empty_hook_kind_of(a + 8);
			o->programs = a + 8;
			if (o->empty < 0) {
				fprintf(stderr, "connect_ab: --empty= takes set_state, destroy_sock, "
						"sock_ops, cgroup_skb or connect\n");
				return -1;
			}
		} else if (!strcmp(a, "--no-tcp")) {
			o->on.tcp = false;
		} else if (!strcmp(a, "--no-dns")) {
			o->on.dns = false;
		} else if (!strcmp(a, "--no-udp")) {
			o->on.udp = false;
		} else if (!strcmp(a, "--proto-id") || !strcmp(a, "--proto-id=cgroup_skb")) {
			o->on.proto = a[10] ? 2 : 1;
		} else if (!strcmp(a, "--tcp-hooks=connect")) {
			o->on.tcp_hook = GW_TCP_HOOK_CONNECT;
		} else if (!strcmp(a, "--tcp-hooks=sockops")) {
			o->on.tcp_hook = GW_TCP_HOOK_SOCKOPS;
		} else if (!strcmp(a, "--tcp-hooks=tp_btf")) {
			o->on.tcp_hook = GW_TCP_HOOK_TP_BTF;
		} else if (!strcmp(a, "--dns-hooks=recv") || !strcmp(a, "--dns-hooks=cgroup_skb")) {
			o->on.dns_packets = a[12] == 'c';
		} else if (!strcmp(a, "--dns-verify=socket") || !strcmp(a, "--dns-verify=query")) {
			o->on.dns_queries = a[13] == 'q';
			o->on.dns_packets |= o->on.dns_queries;
		} else if (!strcmp(a, "--against=before")) {
			o->against = &config_before;
		} else if (!strcmp(a, "--against=other-tcp")) {
			o->against = &o->other_tcp;
		} else if (num && i + 1 < argc) {
			errno = 0;
			*num = strtoull(argv[++i], &end, 10);
			if (errno || *end || !*num) {
				fprintf(stderr, "connect_ab: %s needs a positive number\n", a);
				return -1;
			}
		} else {
			fprintf(stderr, "usage: connect_ab [--rate N] [--seconds S] [--period-ms N] "
					"[--no-tcp] [--no-dns] [--no-udp] [--proto-id[=cgroup_skb]] "
					"[--tcp-hooks=connect|sockops|tp_btf] "
					"[--dns-hooks=recv|cgroup_skb] [--dns-verify=socket|query] "
					"[--against=before|other-tcp] "
					"[--empty=HOOK]\n");
			return -1;
		}
	}
	if (!o->on.tcp && !o->on.dns && !o->on.udp && !o->on.proto) {
		fprintf(stderr, "connect_ab: nothing left to attach\n");
		return -1;
	}
	if (o->against && o->on.tcp_hook == GW_TCP_HOOK_CONNECT) {
		fprintf(stderr, "connect_ab: --against needs --tcp-hooks=sockops or tp_btf\n");
		return -1;
	}
	/* after every option: the other fallback of whatever `on` ended up as */
	o->other_tcp = o->on;
	o->other_tcp.tcp_hook = o->on.tcp_hook == GW_TCP_HOOK_TP_BTF ? GW_TCP_HOOK_SOCKOPS :
								      GW_TCP_HOOK_TP_BTF;
	if (o->rate * o->period_ms < 1000) {
		fprintf(stderr, "connect_ab: a period must hold at least one connect\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ab_options o = { .rate = 10000, .seconds = 60, .period_ms = 250,
				.on = { .tcp = true, .dns = true, .udp = true,
					.tcp_hook = GW_TCP_HOOK_CONNECT }, .empty = -1,
				.programs = "agent" };
	struct ab ab = { .o = &o, .cgroup_fd = -1 };
	struct listener listener;
	clockid_t accept_clock;

	if (parse_args(&o, argc, argv))
		return 2;
	if (ab_load(&ab) || ab_attach(&ab, &o.on))
		return 1;
	if (listener_start(&listener) || pthread_getcpuclockid(listener.thread, &accept_clock)) {
		fprintf(stderr, "connect_ab: loopback listener: %s\n", strerror(errno));
		return 1;
	}

	size_t pairs = o.seconds * 1000 / (2 * o.period_ms);
	uint64_t ticks = o.rate * o.period_ms / 1000, connected = 0, failures = 0;
	uint64_t on_cpu = 0, on_ops = 0, off_cpu = 0, off_ops = 0;
	double *ratios;

	if (!pairs) {
		fprintf(stderr, "connect_ab: --seconds must hold two periods\n");
		return 2;
	}
	ratios = calloc(pairs, sizeof(*ratios));
	if (!ratios)
		return 1;
	run_period(&listener, accept_clock, &connected, ticks, o.rate); /* warm-up, attached */
	for (size_t p = 0; p < pairs; p++) {
		struct period on = { 0 }, off = { 0 };

		for (int half = 0; half < 2; half++) {
			bool attached = (p + half) % 2 == 0; /* ABBA: each pair starts where the last ended */

			if (attached != ab.attached &&
			    (attached ? (ab_detach(&ab), ab_attach(&ab, &o.on)) : ab_baseline(&ab)))
				return 1;
			struct period r = run_period(&listener, accept_clock, &connected, ticks, o.rate);

			*(attached ? &on : &off) = r;
		}
		failures += on.failures + off.failures;
		on_cpu += on.cpu_ns, on_ops += on.ops, off_cpu += off.cpu_ns, off_ops += off.ops;
		ratios[p] = on.ops && off.ops && off.cpu_ns ?
				    ((double)on.cpu_ns / on.ops) / ((double)off.cpu_ns / off.ops) : 1.0;
	}
	ab_detach(&ab);
	listener_stop(&listener, connected);
	atomic_store(&ab.stop, true);
	if (ab.skel)
		pthread_join(ab.agent_thread, NULL);

	double lo, hi, median;

	bootstrap_median(ratios, pairs, &lo, &hi);
	median = median_of(ratios, pairs);
	printf("{\"rate\": %llu, \"period_ms\": %llu, \"pairs\": %zu, \"programs\": \"%s\", "
	       "\"tcp\": %s, \"tcp_hooks\": \"%s\", \"dns\": %s, \"dns_hooks\": \"%s\", "
	       "\"dns_verify\": \"%s\", \"udp\": %s, \"proto_id\": \"%s\", \"off\": \"%s\", "
	       "\"on_us_per_connect\": %.3f, \"off_us_per_connect\": %.3f, \"pooled_ratio\": %.4f, "
	       "\"median_ratio\": %.4f, \"median_ratio_ci95\": [%.4f, %.4f], \"failures\": %llu, "
	       "\"records\": %llu, \"drops\": %llu}\n",
	       (unsigned long long)o.rate, (unsigned long long)o.period_ms, pairs,
	       o.programs,
	       o.on.tcp ? "true" : "false", tcp_hook_name(o.on.tcp_hook),
	       o.on.dns ? "true" : "false", o.on.dns_packets ? "cgroup_skb" : "recv",
	       o.on.dns_queries ? "query" : "socket", o.on.udp ? "true" : "false",
	       o.on.proto == 1 ? "calls" : o.on.proto == 2 ? "cgroup_skb" : "off",
	       !o.against ? "detached" : o.against == &config_before ? "before" :
	       o.other_tcp.tcp_hook == GW_TCP_HOOK_TP_BTF ? "tcp_hooks=tp_btf" : "tcp_hooks=sockops",
	       on_ops ? on_cpu / 1e3 / on_ops : 0, off_ops ? off_cpu / 1e3 / off_ops : 0,
	       on_ops && off_ops && off_cpu ? ((double)on_cpu / on_ops) / ((double)off_cpu / off_ops) : 0,
	       median, lo, hi, (unsigned long long)failures,
	       (unsigned long long)atomic_load(&ab.records), (unsigned long long)drops_total(&ab));
	bpf_link__destroy(ab.owner_walk[0]);
	bpf_link__destroy(ab.owner_walk[1]);
	bpf_link__destroy(ab.sample_link);
	ring_buffer__free(ab.ring);
	gw_network__destroy(ab.skel);
	free(ratios);
	return 0;
}
