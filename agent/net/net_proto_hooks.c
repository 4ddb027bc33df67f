/*
 * net_proto_hooks.c - the first-bytes capture's programs (bpf/lib/proto_capture.h): loaded with
 * the network object unless turned off, attached to the root cgroup v2 the other cgroup programs
 * use, and their status ("proto_id") recorded. See net_hooks.h.
 */
#include "net_hooks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "network.skel.h"

void net_proto_hooks_autoload(struct gw_network *skel, bool on)
{
	if (!skel)
		return;
	bpf_program__set_autoload(skel->progs.gw_proto_ingress, on);
	bpf_program__set_autoload(skel->progs.gw_proto_egress, on);
}

static int attach_one(struct gw_net_hooks *nh, struct bpf_program *p)
{
	struct bpf_link *l;

	if (nh->n_links == GW_NET_MAX_LINKS)
		return -ENOSPC;
	l = bpf_program__attach_cgroup(p, nh->cgroup_fd);
	if (!l)
		return -errno;
	nh->links[nh->n_links++] = l;
	return 0;
}

void net_proto_hooks_attach(struct gw_net_hooks *nh, struct gw_hooks *h, bool on)
{
	char hook[64], why[160];
	int first = nh->n_links, ret;

	if (!on) {
		hooks_set_status(h, "proto_id", "off", "disabled by configuration");
		return;
	}
	if (nh->cgroup_fd < 0) {
		hooks_set_status(h, "proto_id", "none", "no cgroup v2 root to attach cgroup_skb to");
		return;
	}
	ret = attach_one(nh, nh->skel->progs.gw_proto_ingress);
	ret = ret ?: attach_one(nh, nh->skel->progs.gw_proto_egress);
	if (ret) {
		while (nh->n_links > first)
			bpf_link__destroy(nh->links[--nh->n_links]);
		snprintf(why, sizeof(why), "attaching cgroup_skb to %.60s: %s", nh->cgroup_path,
			 strerror(-ret));
		hooks_set_status(h, "proto_id", "none", why);
		return;
	}
	snprintf(hook, sizeof(hook), "cgroup_skb/ingress+egress@%.36s", nh->cgroup_path);
	hooks_set_status(h, "proto_id", hook, "");
}
