/*
 * net_proto_hooks.c - the first-bytes capture's programs (bpf/lib/proto_capture.h): which flavour
 * loads with the network object (the send and receive tracepoints where the kernel has them on
 * x86-64, else cgroup_skb on every packet), attaching it, and its status ("proto_id"). See
 * net_hooks.h.
 */
#include "net_hooks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "network.skel.h"

/* Whether the running kernel has the sock_send_length and sock_recv_length tracepoints (6.3+)
 * and the programs can read the caller's syscall arguments (x86-64). */
static bool kernel_has_send_recv_tracepoints(const struct btf *vmlinux)
{
#if defined(__x86_64__)
	return vmlinux &&
	       btf__find_by_name_kind(vmlinux, "btf_trace_sock_send_length", BTF_KIND_TYPEDEF) > 0 &&
	       btf__find_by_name_kind(vmlinux, "btf_trace_sock_recv_length", BTF_KIND_TYPEDEF) > 0;
#else
	(void)vmlinux;
	return false;
#endif
}

void net_proto_hooks_autoload(struct gw_network *skel, const struct gw_net_hook_options *o,
			      const struct btf *vmlinux)
{
	bool calls;

	if (!skel)
		return;
	calls = o->proto_id && !o->proto_packets && kernel_has_send_recv_tracepoints(vmlinux);
	bpf_program__set_autoload(skel->progs.gw_proto_send, calls);
	bpf_program__set_autoload(skel->progs.gw_proto_recv, calls);
	bpf_program__set_autoload(skel->progs.gw_proto_ingress, o->proto_id && !calls);
	bpf_program__set_autoload(skel->progs.gw_proto_egress, o->proto_id && !calls);
}

static int attach_one(struct gw_net_hooks *nh, struct bpf_program *p, bool cgroup)
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

void net_proto_hooks_attach(struct gw_net_hooks *nh, struct gw_hooks *h,
			    const struct gw_net_hook_options *o)
{
	struct gw_network *s = nh->skel;
	bool calls = bpf_program__autoload(s->progs.gw_proto_send);
	char hook[64], why[160] = "";
	int first = nh->n_links, ret;

	if (!o->proto_id) {
		hooks_set_status(h, "proto_id", "off", "disabled by configuration");
		return;
	}
	if (calls) {
		ret = attach_one(nh, s->progs.gw_proto_send, false);
		ret = ret ?: attach_one(nh, s->progs.gw_proto_recv, false);
		snprintf(hook, sizeof(hook), "tp_btf/sock_send_length+sock_recv_length");
	} else if (nh->cgroup_fd < 0) {
		hooks_set_status(h, "proto_id", "none", "no cgroup v2 root to attach cgroup_skb to");
		return;
	} else {
		ret = attach_one(nh, s->progs.gw_proto_ingress, true);
		ret = ret ?: attach_one(nh, s->progs.gw_proto_egress, true);
		snprintf(hook, sizeof(hook), "cgroup_skb/ingress+egress@%.36s", nh->cgroup_path);
		if (!o->proto_packets)
			snprintf(why, sizeof(why), "no tp_btf/sock_send_length (6.3+, x86-64): every "
				 "packet is looked at");
	}
	if (ret) {
		while (nh->n_links > first)
			bpf_link__destroy(nh->links[--nh->n_links]);
		snprintf(why, sizeof(why), "attaching %s: %s", hook, strerror(-ret));
		hooks_set_status(h, "proto_id", "none", why);
		return;
	}
	hooks_set_status(h, "proto_id", hook, why);
}

uint64_t net_proto_hooks_unread(const struct gw_net_hooks *nh)
{
	return nh->skel && nh->skel->bss ?
		       __atomic_load_n(&nh->skel->bss->gw_proto_unread, __ATOMIC_RELAXED) : 0;
}
