/* empty_hook.c - programs of two instructions, loaded and attached without an object file. */
#include "empty_hook.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* One program of a kind: its type, where it attaches (a tracepoint by BTF name, else the root
 * cgroup), and what it returns (cgroup programs: 1, let it through). */
struct empty_prog {
	enum bpf_prog_type type;
	enum bpf_attach_type attach;
	const char *btf_name;
	int ret;
};

static const struct {
	const char *name;
	int n;
	struct empty_prog progs[2];
} kinds[EMPTY_HOOK_KINDS] = {
	[EMPTY_HOOK_SET_STATE] = { "set_state", 1,
		{ { BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, "inet_sock_set_state", 0 } } },
	[EMPTY_HOOK_DESTROY_SOCK] = { "destroy_sock", 1,
		{ { BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, "tcp_destroy_sock", 0 } } },
	[EMPTY_HOOK_SOCK_OPS] = { "sock_ops", 1,
		{ { BPF_PROG_TYPE_SOCK_OPS, BPF_CGROUP_SOCK_OPS, NULL, 1 } } },
	[EMPTY_HOOK_CGROUP_SKB] = { "cgroup_skb", 2,
		{ { BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, NULL, 1 },
		  { BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS, NULL, 1 } } },
	[EMPTY_HOOK_CONNECT] = { "connect", 2,
		{ { BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT, NULL, 1 },
		  { BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_CONNECT, NULL, 1 } } },
};

int empty_hook_kind_of(const char *name)
{
	for (int k = 0; k < EMPTY_HOOK_KINDS; k++)
		if (!strcmp(name, kinds[k].name))
			return k;
	return -1;
}

/* r0 = ret; exit */
static int load_returning(enum bpf_prog_type type, enum bpf_attach_type attach, const char *btf_name,
			  int ret)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = ret },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = attach);
	int fd;

	if (btf_name) {
		int id = libbpf_find_vmlinux_btf_id(btf_name, attach);

		if (id < 0) {
			fprintf(stderr, "empty_hook: %s not in the kernel's BTF: %s\n", btf_name,
				strerror(-id));
			return -1;
		}
		opts.attach_btf_id = id;
	}
	fd = bpf_prog_load(type, "gw_bench_empty", "GPL", insns, 2, &opts);
	if (fd < 0)
		fprintf(stderr, "empty_hook: loading an empty %s program: %s\n",
			btf_name ? btf_name : "cgroup", strerror(errno));
	return fd;
}

int empty_hook_load(struct empty_hook *e, enum empty_hook_kind kind, int cgroup_fd)
{
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->cgroup_fd = cgroup_fd;
	e->link_fd[0] = e->link_fd[1] = -1;
	if ((int)kind < 0 || kind >= EMPTY_HOOK_KINDS)
		return -1;
	for (e->n = 0; e->n < kinds[kind].n; e->n++) {
		const struct empty_prog *p = &kinds[kind].progs[e->n];

		e->prog_fd[e->n] = load_returning(p->type, p->attach, p->btf_name, p->ret);
		if (e->prog_fd[e->n] < 0)
			return -1;
	}
	return 0;
}

int empty_hook_attach(struct empty_hook *e)
{
	for (int i = 0; i < e->n; i++) {
		const struct empty_prog *p = &kinds[e->kind].progs[i];

		e->link_fd[i] = p->btf_name ? bpf_raw_tracepoint_open(NULL, e->prog_fd[i]) :
			bpf_link_create(e->prog_fd[i], e->cgroup_fd, p->attach, NULL);
		if (e->link_fd[i] < 0) {
			fprintf(stderr, "empty_hook: attaching %s: %s\n", kinds[e->kind].name,
				strerror(errno));
			empty_hook_detach(e);
			return -1;
		}
	}
	return 0;
}

void empty_hook_detach(struct empty_hook *e)
{
	for (int i = 0; i < 2; i++) {
		if (e->link_fd[i] >= 0)
			close(e->link_fd[i]);
		e->link_fd[i] = -1;
	}
}
