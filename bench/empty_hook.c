/* empty_hook.c - programs of two instructions, loaded and attached without an object file. */
#include "empty_hook.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const kind_names[EMPTY_HOOK_KINDS] = {
	[EMPTY_HOOK_SET_STATE] = "set_state",
	[EMPTY_HOOK_DESTROY_SOCK] = "destroy_sock",
	[EMPTY_HOOK_SOCK_OPS] = "sock_ops",
	[EMPTY_HOOK_CGROUP_SKB] = "cgroup_skb",
	[EMPTY_HOOK_CONNECT] = "connect",
};

int empty_hook_kind_of(const char *name)
{
	for (int k = 0; k < EMPTY_HOOK_KINDS; k++)
		if (!strcmp(name, kind_names[k]))
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
	switch (kind) {
	case EMPTY_HOOK_SET_STATE:
		e->prog_fd[e->n++] = load_returning(BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP,
						    "inet_sock_set_state", 0);
		break;
	case EMPTY_HOOK_DESTROY_SOCK:
		e->prog_fd[e->n++] = load_returning(BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP,
						    "tcp_destroy_sock", 0);
		break;
	case EMPTY_HOOK_SOCK_OPS:
		e->prog_fd[e->n++] = load_returning(BPF_PROG_TYPE_SOCK_OPS, BPF_CGROUP_SOCK_OPS,
						    NULL, 1);
		break;
	case EMPTY_HOOK_CGROUP_SKB:
		e->prog_fd[e->n++] = load_returning(BPF_PROG_TYPE_CGROUP_SKB,
						    BPF_CGROUP_INET_INGRESS, NULL, 1);
		e->prog_fd[e->n++] = load_returning(BPF_PROG_TYPE_CGROUP_SKB,
						    BPF_CGROUP_INET_EGRESS, NULL, 1);
		break;
	case EMPTY_HOOK_CONNECT:
		e->prog_fd[e->n++] = load_returning(BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
						    BPF_CGROUP_INET4_CONNECT, NULL, 1);
		e->prog_fd[e->n++] = load_returning(BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
						    BPF_CGROUP_INET6_CONNECT, NULL, 1);
		break;
	default:
		return -1;
	}
	for (int i = 0; i < e->n; i++)
		if (e->prog_fd[i] < 0)
			return -1;
	return 0;
}

int empty_hook_attach(struct empty_hook *e)
{
	static const enum bpf_attach_type skb_attach[2] = { BPF_CGROUP_INET_INGRESS,
							     BPF_CGROUP_INET_EGRESS };
	static const enum bpf_attach_type connect_attach[2] = { BPF_CGROUP_INET4_CONNECT,
								 BPF_CGROUP_INET6_CONNECT };

	for (int i = 0; i < e->n; i++) {
		switch (e->kind) {
		case EMPTY_HOOK_SET_STATE:
		case EMPTY_HOOK_DESTROY_SOCK:
			e->link_fd[i] = bpf_raw_tracepoint_open(NULL, e->prog_fd[i]);
			break;
		case EMPTY_HOOK_SOCK_OPS:
			e->link_fd[i] = bpf_link_create(e->prog_fd[i], e->cgroup_fd,
							BPF_CGROUP_SOCK_OPS, NULL);
			break;
		case EMPTY_HOOK_CONNECT:
			e->link_fd[i] = bpf_link_create(e->prog_fd[i], e->cgroup_fd,
							connect_attach[i], NULL);
			break;
		default:
			e->link_fd[i] = bpf_link_create(e->prog_fd[i], e->cgroup_fd, skb_attach[i],
							NULL);
		}
		if (e->link_fd[i] < 0) {
			fprintf(stderr, "empty_hook: attaching %s: %s\n", kind_names[e->kind],
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
