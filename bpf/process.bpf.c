// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * process.bpf.c - process lifecycle: exec, fork (new processes only, not threads) and exit (when the
 * whole thread group is gone).
 *
 * Every signal has two attachment flavours carrying the same body: tp_btf (BTF-typed args, 5.5+)
 * and raw_tp (raw args, 4.17+, for a kernel that refuses tracing programs). The agent enables one
 * flavour per signal before load and falls back when the kernel refuses it.
 */
#include "gw_bpf_common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the agent before load. */
const volatile bool gw_trace_forks = true;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gw_exec_event);
} exec_scratch SEC(".maps");

/*
 * Append the dentry names of `path` to buf, leaf first, each NUL-terminated, crossing mount points
 * up to the root. Names are only appended while a whole NAME_MAX name still fits, so the fixed-size
 * read below can never run past the buffer; anything longer or deeper is flagged as truncated.
 *
 * The walk's offset and depth live in map memory, not registers: the verifier then sees them as
 * unknown scalars, so the branches of one iteration (cross a mount / append a name) converge to
 * equivalent states and verification stays linear in the depth instead of exponential.
 */
#define GW_NAME_READ 256

struct path_walk {
	__u32 off;
	__u32 depth;
	__u32 done;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_walk);
} walk_scratch SEC(".maps");

static __always_inline void read_path_parts(struct dentry *dentry, struct vfsmount *vfsmnt,
					    char *buf, __u32 *depth, bool *truncated)
{
	struct mount *mnt = container_of(vfsmnt, struct mount, mnt);
	__u32 zero = 0;
	struct path_walk *w = bpf_map_lookup_elem(&walk_scratch, &zero);
	int i;

	*depth = 0;
	*truncated = true;
	if (!w)
		return;
	w->off = 0;
	w->depth = 0;
	w->done = 0;
	for (i = 0; i < GW_PATH_DEPTH; i++) {
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
		struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		__u32 off = w->off;

		if (dentry == mnt_root || dentry == parent) {
			struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);

			if (dentry != mnt_root || mnt == mnt_parent) {
				w->done = 1; /* reached the root */
				break;
			}
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mnt_parent;
			vfsmnt = &mnt->mnt;
			continue;
		}
		if (off > GW_PATH_MAX - GW_NAME_READ)
			break;
		const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
		long n = bpf_probe_read_kernel_str(buf + (off & (GW_PATH_MAX - 1)), GW_NAME_READ, name);

		if (n <= 0)
			break;
		w->off = off + n;
		w->depth += 1;
		dentry = parent;
	}
	*depth = w->depth;
	*truncated = !w->done;
}

static __always_inline int handle_exec(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 zero = 0;
	struct gw_exec_event *ev = bpf_map_lookup_elem(&exec_scratch, &zero);
	bool truncated;

	if (!ev)
		return 0;

	gw_fill_task_ids(task, &ev->task);
	ev->flags = 0;

	struct file *exe_file = BPF_CORE_READ(task, mm, exe_file);

	ev->exe_parts[0] = 0;
	ev->exe_depth = 0;
	if (exe_file) {
		read_path_parts(BPF_CORE_READ(exe_file, f_path.dentry),
				BPF_CORE_READ(exe_file, f_path.mnt), ev->exe_parts, &ev->exe_depth,
				&truncated);
		if (truncated)
			ev->flags |= GW_EXEC_EXE_TRUNCATED;
	}

	struct fs_struct *fs = BPF_CORE_READ(task, fs);

	ev->cwd_parts[0] = 0;
	ev->cwd_depth = 0;
	if (fs) {
		read_path_parts(BPF_CORE_READ(fs, pwd.dentry), BPF_CORE_READ(fs, pwd.mnt),
				ev->cwd_parts, &ev->cwd_depth, &truncated);
		if (truncated)
			ev->flags |= GW_EXEC_CWD_TRUNCATED;
	} else {
		ev->flags |= GW_EXEC_CWD_MISSING;
	}

	ev->tty[0] = 0;
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);

	if (tty)
		BPF_CORE_READ_STR_INTO(&ev->tty, tty, name);

	unsigned long arg_start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long arg_end = BPF_CORE_READ(task, mm, arg_end);
	__u64 len = arg_end > arg_start ? arg_end - arg_start : 0;

	if (len > GW_ARGV_MAX - 1) {
		len = GW_ARGV_MAX - 1;
		ev->flags |= GW_EXEC_ARGV_TRUNCATED;
	}
	len &= GW_ARGV_MAX - 1;
	if (bpf_probe_read_user(ev->argv, len, (void *)arg_start))
		len = 0;
	ev->argv_size = len;

	__u64 size = GW_EXEC_FIXED_SIZE + len;

	gw_fill_hdr(&ev->hdr, GW_EV_EXEC, size);
	gw_output_uid(ev, size, GW_DROP_EXEC, ev->task.uid);
	return 0;
}

static __always_inline int handle_fork(struct task_struct *child)
{
	if (!gw_trace_forks)
		return 0;
	/* A new thread is not a new process. */
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;

	struct gw_fork_event *ev = gw_reserve_uid(sizeof(*ev), GW_DROP_FORK,
						      gw_current_uid());

	if (!ev)
		return 0;
	gw_fill_hdr(&ev->hdr, GW_EV_FORK, sizeof(*ev));
	gw_fill_task_ids(child, &ev->task);
	gw_submit(ev);
	return 0;
}

static __always_inline int handle_exit(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	/* Only when the last thread of the group goes: that is when the process is gone. */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;

	struct gw_exit_event *ev = gw_reserve_uid(sizeof(*ev), GW_DROP_EXIT,
						      gw_current_uid());

	if (!ev)
		return 0;
	gw_fill_hdr(&ev->hdr, GW_EV_EXIT, sizeof(*ev));
	gw_fill_task_ids(task, &ev->task);

	__u32 code = BPF_CORE_READ(task, exit_code);

	ev->exit_code = (code >> 8) & 0xff;
	ev->exit_signal = code & 0x7f;
	ev->core_dumped = (code & 0x80) ? 1 : 0;
	ev->pad = 0;
	gw_submit(ev);
	return 0;
}

/* ---- tp_btf ---- */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(gw_exec_btf)
{
	return handle_exec();
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(gw_fork_btf, struct task_struct *parent, struct task_struct *child)
{
	return handle_fork(child);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(gw_exit_btf)
{
	return handle_exit();
}

/* ---- raw_tp ---- */
SEC("raw_tp/sched_process_exec")
int gw_exec_raw(struct bpf_raw_tracepoint_args *ctx)
{
	return handle_exec();
}

SEC("raw_tp/sched_process_fork")
int gw_fork_raw(struct bpf_raw_tracepoint_args *ctx)
{
	return handle_fork((struct task_struct *)ctx->args[1]);
}

SEC("raw_tp/sched_process_exit")
int gw_exit_raw(struct bpf_raw_tracepoint_args *ctx)
{
	return handle_exit();
}
