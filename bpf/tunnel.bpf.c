// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tunnel.bpf.c - which process opened the devices that make tun, tap and PPP interfaces.
 *
 * Those interfaces are made by an ioctl on a character device, not by a netlink message: TUNSETIFF
 * on /dev/net/tun, PPPIOCNEWUNIT on /dev/ppp. No tracepoint fires in the kernel's registration
 * path and this class of host refuses fentry and has no kprobes. The ioctl syscall's tracepoints
 * would name the interface exactly, but any syscall tracepoint sends every syscall of every task
 * through the slow path; the device-access check of cgroup v2 runs only when a device node is
 * opened, so it costs nothing on other work: this program, attached to the root cgroup, reports
 * each open of the two devices (and allows every access: it decides nothing). The agent pairs an
 * interface with the open just before it (netif_tunnel.h).
 */
#include "gw_bpf_common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* enum bpf_cgroup_dev_type and the access bits (uapi bpf.h) */
#define GW_DEVCG_DEV_CHAR 2
#define GW_DEVCG_ACC_READ 2
#define GW_DEVCG_ACC_WRITE 4

SEC("cgroup/dev")
int gw_tunnel_dev_open(struct bpf_cgroup_dev_ctx *ctx)
{
	struct gw_tunnel_open_event *e;
	__u32 major = ctx->major, minor = ctx->minor;

	if ((ctx->access_type & 0xffff) != GW_DEVCG_DEV_CHAR)
		return 1;
	if (!(major == GW_TUN_MAJOR && minor == GW_TUN_MINOR) &&
	    !(major == GW_PPP_MAJOR && minor == GW_PPP_MINOR))
		return 1;
	/* an mknod of the node is no open */
	if (!((ctx->access_type >> 16) & (GW_DEVCG_ACC_READ | GW_DEVCG_ACC_WRITE)))
		return 1;
	/* any user may open /dev/net/tun in a loop: held to a share like an exec */
	e = gw_reserve_uid(sizeof(*e), GW_DROP_TUNNEL, gw_current_uid());
	if (!e)
		return 1;
	gw_fill_hdr(&e->hdr, GW_EV_TUNNEL_OPEN, sizeof(*e));
	gw_fill_task_ids((struct task_struct *)bpf_get_current_task(), &e->task);
	e->major = major;
	e->minor = minor;
	gw_submit(e);
	return 1;
}
