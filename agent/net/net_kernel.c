/*
 * net_kernel.c - what the network programs are told about the running kernel before load (struct
 * net_kernel in net_hooks.h): its tick and the kfuncs it has.
 */
#include "net_hooks.h"

#include <stdbool.h>
#include <time.h>

#include <bpf/btf.h>

#include "network.skel.h"

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
static bool kernel_has_kfunc(const struct btf *vmlinux, const char *name)
{
	return vmlinux && btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC) > 0;
}

void net_kernel_probe(struct net_kernel *k, const struct btf *vmlinux)
{
	k->jiffy_ns = kernel_jiffy_ns();
	k->kfunc_cast = kernel_has_kfunc(vmlinux, "bpf_rdonly_cast");
}

void net_kernel_set(struct gw_network *skel, const struct net_kernel *k)
{
	skel->rodata->gw_jiffy_ns = k->jiffy_ns;
	skel->rodata->gw_kfunc_cast = k->kfunc_cast;
}
