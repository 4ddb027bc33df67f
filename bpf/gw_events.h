/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * gw_events.h - the wire format between ghostwatch's BPF programs and the agent.
 *
 * Included by every bpf/ *.bpf.c file and by agent/. Every record in the ring buffer starts with
 * struct gw_event_hdr; `size` is the number of bytes actually written, so records can be
 * variable-length (exec argv) and the reader can check it before trusting any field.
 * Fixed-width types only, and a _Static_assert on every struct size, so a layout change is a
 * compile error on both sides rather than garbage at run time.
 */
#ifndef GW_EVENTS_H
#define GW_EVENTS_H

#ifdef __BPF__
/* vmlinux.h already defines the kernel's __u8..__u64 */
#else
#include <linux/types.h>
#endif

#define GW_COMM_LEN 16
#define GW_PATH_MAX 512	     /* exe and cwd, reassembled from dentry names */
#define GW_PATH_DEPTH 32     /* dentry components walked before flagging truncation */
#define GW_ARGV_MAX 4096     /* NUL-separated argv bytes copied from the new image */
#define GW_TTY_LEN 16

/*
 * Record types. Ranges are per domain so a new kind slots in without renumbering:
 * 1-15 process, 16-31 network, 32-47 devices, 48-63 input cadence.
 */
enum gw_event_type {
	GW_EV_EXEC = 1,
	GW_EV_EXIT = 2,
	GW_EV_FORK = 3,
	/* network (bpf/network.bpf.c) */
	GW_EV_TCP_CONNECT = 16,	/* outbound attempt finished: established or failed (result) */
	GW_EV_TCP_ACCEPT = 17,	/* inbound connection established on a listener */
	GW_EV_TCP_CLOSE = 18,	/* a tracked connection closed: bytes and RTT */
	GW_EV_UDP_SEND = 19,	/* first datagram/connect per socket and peer */
	GW_EV_DNS_ANSWER = 20,	/* a bounded slice of a port-53 response delivered to a local socket */
	GW_EV_DNS_QUERY = 21,	/* a bounded slice of a query a local socket sent to port 53 */
	GW_EV_TCP_PROTO = 22,	/* the first bytes of a TCP connection in one direction */
	GW_EV_TUNNEL_OPEN = 31,	/* bpf/tunnel.bpf.c: /dev/net/tun or /dev/ppp opened */
	/* devices */
	GW_EV_DEVICE_USB = 32,
	GW_EV_DEVICE_HID = 33,
	GW_EV_DEVICE_INPUT = 34,
	/* input cadence */
	GW_EV_CADENCE_WINDOW = 48,	/* built by the agent from the drained window map */
};

/*
 * Drop categories: a failed bpf_ringbuf_reserve/output *is* the drop (the ring buffer has no
 * lost-event callback), so every program counts its failures here, per CPU, and the agent reports
 * the sums. Same ranges of meaning as the event types.
 */
enum gw_drop_category {
	GW_DROP_EXEC = 0,
	GW_DROP_EXIT = 1,
	GW_DROP_FORK = 2,
	GW_DROP_TCP = 3,	/* also: connection-tracking map full (the connection loses its record) */
	GW_DROP_UDP = 4,
	GW_DROP_DNS = 5,
	/* devices */
	GW_DROP_DEVICE_USB = 6,
	GW_DROP_DEVICE_HID = 7,
	GW_DROP_DEVICE_INPUT = 8,
	/* input cadence: the in-kernel maps were full, the event was not counted */
	GW_DROP_CADENCE_WINDOW = 9,
	GW_DROP_CADENCE_STATE = 10,
	GW_DROP_PROTO = 11,	/* first bytes of a connection (GW_EV_TCP_PROTO) */
	GW_DROP_TUNNEL = 15,	/* an open of a tunnel device lost its record */
	GW_DROP_CATEGORY_MAX = 16,
};

/*
 * Flood limits (gw_bpf_common.h): a record of a limited category from a uid past its share is
 * dropped, counted in gw_drops and in gw_uid_drops under (uid, category).
 */
struct gw_uid_key {
	__u32 uid;
	__u32 category;	/* enum gw_drop_category */
};

struct gw_uid_bucket {
	__u64 credit;	/* records x 1e9: each record costs 1e9, a nanosecond refills `rate` */
	__u64 last_ns;
};

/* gw_limits[0], written by the agent after load. rate 0: no limit. */
struct gw_limits {
	__u32 rate;		/* records per second per (uid, category) */
	__u32 burst;		/* records a quiet uid may send at once */
	__u32 gate_pct;		/* limits apply once the ring is this full (0: always) */
	__u32 reserve_pct;	/* the last part of the ring no capture may fill */
};

_Static_assert(sizeof(struct gw_uid_key) == 8, "gw_uid_key layout");
_Static_assert(sizeof(struct gw_uid_bucket) == 16, "gw_uid_bucket layout");
_Static_assert(sizeof(struct gw_limits) == 16, "gw_limits layout");

/* Flags on exec records. */
#define GW_EXEC_ARGV_TRUNCATED (1u << 0)
#define GW_EXEC_CWD_TRUNCATED  (1u << 1) /* deeper than GW_PATH_DEPTH or longer than GW_PATH_MAX */
#define GW_EXEC_CWD_MISSING    (1u << 2) /* could not be read at all (kernel thread, fs gone) */
#define GW_EXEC_EXE_TRUNCATED  (1u << 3)

struct gw_event_hdr {
	__u16 type;	/* enum gw_event_type */
	__u16 size;	/* bytes of this record, header included */
	__u32 cpu;
	__u64 ktime_ns;	/* bpf_ktime_get_boot_ns(): CLOCK_BOOTTIME */
};

/* Who a task is: the fields every process-related record carries. */
struct gw_task_ids {
	__u32 pid;		/* tgid: what userspace calls the pid */
	__u32 tid;
	__u32 ppid;		/* real_parent's tgid */
	__u32 uid;
	__u32 gid;
	__u32 auid;		/* loginuid: survives su/sudo; (u32)-1 when unset */
	__u32 session_id;	/* audit session id */
	__u32 pad;
	__u64 start_boottime_ns;	/* group leader's start time (CLOCK_BOOTTIME) */
	__u64 parent_start_boottime_ns;	/* real_parent's group leader's start time */
	__u64 cgroup_id;	/* cgroup v2 id */
	char comm[GW_COMM_LEN];
};

struct gw_exec_event {
	struct gw_event_hdr hdr;
	struct gw_task_ids task;
	__u32 flags;		/* GW_EXEC_* */
	__u32 argv_size;	/* bytes used in argv[] (NUL-separated) */
	__u32 exe_depth;	/* components in exe_parts */
	__u32 cwd_depth;
	char tty[GW_TTY_LEN];
	/*
	 * Paths come as dentry names leaf first, each NUL-terminated ("ls\0bin\0usr\0"), because
	 * appending is what the verifier allows cheaply; the agent reverses them.
	 */
	char exe_parts[GW_PATH_MAX];
	char cwd_parts[GW_PATH_MAX];
	char argv[GW_ARGV_MAX];	/* only argv_size bytes are sent */
};

struct gw_exit_event {
	struct gw_event_hdr hdr;
	struct gw_task_ids task;
	__u32 exit_code;	/* (status >> 8) & 0xff */
	__u32 exit_signal;	/* status & 0x7f; 0 for a normal exit */
	__u32 core_dumped;
	__u32 pad;
};

struct gw_fork_event {
	struct gw_event_hdr hdr;
	struct gw_task_ids task;	/* the child */
};

_Static_assert(sizeof(struct gw_event_hdr) == 16, "gw_event_hdr layout");
_Static_assert(sizeof(struct gw_task_ids) == 72, "gw_task_ids layout");
_Static_assert(sizeof(struct gw_exec_event) == 16 + 72 + 16 + GW_TTY_LEN + 2 * GW_PATH_MAX + GW_ARGV_MAX,
	       "gw_exec_event layout");
_Static_assert(sizeof(struct gw_exit_event) == 16 + 72 + 16, "gw_exit_event layout");
_Static_assert(sizeof(struct gw_fork_event) == 16 + 72, "gw_fork_event layout");

/* ---- network ------------------------------------------------------------------------------- */

#define GW_DNS_PAYLOAD_MAX 512	/* bytes of a DNS message copied; the parser handles a cut */

/* Who did it, for records made in process context (or remembered from it). */
struct gw_net_task {
	__u32 pid;		/* tgid; 0 when the owner is unknown */
	__u32 tid;
	__u32 uid;
	__u32 gid;
	__u64 start_boottime_ns;	/* group leader's, for the stable process id */
	__u64 cgroup_id;
	char comm[GW_COMM_LEN];
};

/* Addresses are 16 bytes, IPv4 stored v4-mapped (::ffff:a.b.c.d); ports in host order. */
struct gw_net_tuple {
	__u8 local_addr[16];
	__u8 remote_addr[16];
	__u16 local_port;
	__u16 remote_port;
	__u16 family;		/* the socket's: AF_INET or AF_INET6 */
	__u8 protocol;		/* IPPROTO_TCP, IPPROTO_UDP */
	__u8 direction;		/* 0 outbound, 1 inbound, 2 unknown (a connection older than the agent) */
	__u32 netns;		/* network namespace inode number */
	__u32 pad;
};

enum gw_tcp_result {
	GW_TCP_OK = 0,
	GW_TCP_REFUSED = 1,
	GW_TCP_TIMEOUT = 2,
	GW_TCP_RESET = 3,
	GW_TCP_OTHER = 4,	/* aborted before it completed (closed while connecting, unreachable) */
	GW_TCP_RESULT_MAX = 5,
};

/* GW_EV_TCP_CONNECT, GW_EV_TCP_ACCEPT and GW_EV_TCP_CLOSE. */
struct gw_tcp_event {
	struct gw_event_hdr hdr;
	struct gw_net_task task;
	struct gw_net_tuple tuple;
	__u32 result;		/* enum gw_tcp_result */
	__u32 sk_err;		/* the socket's errno when it failed */
	__u64 bytes_sent;	/* CLOSE: payload acked (bytes_acked less SYN and FIN) */
	__u64 bytes_received;	/* CLOSE: payload received (bytes_received less FIN) */
	__u32 srtt_us;		/* CLOSE: smoothed RTT (tcp_sock.srtt_us >> 3) */
	__u32 pad;
	__u64 duration_ns;	/* CONNECT: SYN to result (0: not known, an OK the connect
				 * flavour found after the fact); 0 on the others */
};

/*
 * Repeated TCP connections folded in the kernel (bpf/lib/fold.h), because a ring record per
 * connect, accept and close was most of the cost of tracing a busy connection loop.
 *
 * Per (process, peer, service port, direction): the first attempt with each result in an agent tick
 * still goes to the ring as a GW_EV_TCP_CONNECT/ACCEPT record (the live view's line, a rule's
 * match); the next ones are only counted in `attempts`/`failures` here. Every close's bytes and RTT
 * are summed here instead of costing a GW_EV_TCP_CLOSE record (only closes of connections older
 * than the agent still come as records). When the map is full the program falls back to records,
 * so nothing is lost.
 *
 * Two maps, tcp_fold_0 and tcp_fold_1; the programs write the one gw_tcp_fold_gen (.bss) names.
 * On each tick the agent drains the other one, which has been idle for a whole tick, and then makes
 * it the live one: no program is still writing into a map while it is read and deleted. Entries
 * carry no time: what a map holds happened while it was live, and the agent dates it by the tick
 * that retired the map (a clock read per transition cost more than the hash lookup beside it).
 */
#define GW_TCP_FOLD_MAX 8192

struct gw_tcp_fold_key {
	__u32 pid;			/* tgid */
	__u32 netns;
	__u64 start_boottime_ns;	/* with pid: the process */
	__u8 remote_addr[16];		/* IPv4 as v4-mapped */
	__u16 port;			/* the service's: the peer's outbound, ours inbound */
	__u8 direction;			/* 0 outbound, 1 inbound */
	__u8 pad[5];
};

struct gw_tcp_fold {
	struct gw_net_task task;	/* of the connection that made the entry */
	struct gw_net_tuple tuple;	/* its addresses and ports */
	__u64 attempts;			/* attempts counted here and not sent as records */
	__u64 failures[GW_TCP_RESULT_MAX];	/* by enum gw_tcp_result, [GW_TCP_OK] unused: folded attempts
					 * that failed, and closes that ended in an error */
	__u64 closes;
	__u64 bytes_sent;		/* payload, as in struct gw_tcp_event */
	__u64 bytes_received;
	__u64 rtt_sum_us;
	__u64 rtt_samples;
	__u32 rtt_min_us;		/* min and max race between CPUs: the sums do not */
	__u32 rtt_max_us;
	__u32 reported;			/* bit per enum gw_tcp_result: already sent as a record */
	__u32 pad;
};

/*
 * A slot of the direct-mapped fold arrays (tcp_fold_slots in bpf/lib/fold.h: one half per tick),
 * which the programs try before the fold maps: the slot is a hash of the key, so finding an entry
 * is an inlined array access and a compare instead of a hash-map lookup's calls. A key whose slot
 * another key holds goes to the map. The halves turn with the maps (gw_tcp_fold_gen), and the
 * agent reads the idle one through its mapping and zeroes the slots it read. Entries only where
 * `ready`.
 */
struct gw_tcp_fold_slot {
	__s64 claims;			/* the adder that read back 1 owns the slot */
	__u32 ready;			/* key and entry written */
	__u32 pad;
	struct gw_tcp_fold_key key;
	struct gw_tcp_fold v;
};

/* Key of the kernel's listener-owner map (bpf/lib/owner.h), which the agent also seeds from /proc. */
struct gw_listen_key {
	__u32 netns;
	__u16 port;
	__u16 pad;
};

#define GW_UDP_HOOK_CONNECT 0
#define GW_UDP_HOOK_SENDMSG 1

struct gw_udp_event {
	struct gw_event_hdr hdr;
	struct gw_net_task task;
	struct gw_net_tuple tuple;
	__u32 hook;		/* GW_UDP_HOOK_* */
	__u32 pad;
};

/* An answer whose receiving socket a local process had pointed at that server's port 53. */
#define GW_DNS_F_ASKED 1
/* TCP: the message without its 2-byte length, which the reader read on its own before. */
#define GW_DNS_F_BARE 2
/* An answer no process was seen asking for, whose uid is its socket's as the socket's network
 * namespace's owner sees it (the cgroup_skb fallback): maybe not a uid of the host. */
#define GW_DNS_F_UID_SOCKET 4

struct gw_dns_event {
	struct gw_event_hdr hdr;
	struct gw_net_tuple tuple;	/* remote = the DNS server, local = the local socket */
	__u16 payload_len;	/* bytes of L4 payload in the packet */
	__u16 captured_len;	/* bytes in data[] */
	__u32 flags;		/* GW_DNS_F_* */
	__u32 uid;		/* the reader's, or the asker's in the cgroup_skb fallback (see
				 * GW_DNS_F_UID_SOCKET): the agent's name cache is kept per uid */
	__u32 pad;
	__u8 data[GW_DNS_PAYLOAD_MAX];	/* UDP: the message; TCP: the segment or read (2-byte
					 * length first unless GW_DNS_F_BARE) */
};

_Static_assert(sizeof(struct gw_net_task) == 48, "gw_net_task layout");
_Static_assert(sizeof(struct gw_net_tuple) == 48, "gw_net_tuple layout");
_Static_assert(sizeof(struct gw_tcp_event) == 16 + 48 + 48 + 40, "gw_tcp_event layout");
_Static_assert(sizeof(struct gw_udp_event) == 16 + 48 + 48 + 8, "gw_udp_event layout");
_Static_assert(sizeof(struct gw_listen_key) == 8, "gw_listen_key layout");
_Static_assert(sizeof(struct gw_tcp_fold_key) == 40, "gw_tcp_fold_key layout");
_Static_assert(sizeof(struct gw_tcp_fold_slot) == 16 + 40 + sizeof(struct gw_tcp_fold),
	       "gw_tcp_fold_slot layout");
_Static_assert(sizeof(struct gw_tcp_fold) == 48 + 48 + 8 + 40 + 40 + 16, "gw_tcp_fold layout");
_Static_assert(sizeof(struct gw_dns_event) == 16 + 48 + 16 + GW_DNS_PAYLOAD_MAX, "gw_dns_event layout");

/*
 * The first bytes a TCP socket sends and the first it receives (its first send or receive call,
 * or on the fallback its first data segment), cut to GW_PROTO_CAPTURE_MAX: what the agent names
 * the application protocol by (a banner, a ClientHello's server name, an HTTP Host). The agent
 * keeps the bytes only while it classifies them (agent/net/proto_id.c). Later bytes are never
 * copied: the socket's own counters say in the kernel that its first bytes have gone by
 * (bpf/lib/proto_capture.h).
 */
#define GW_PROTO_CAPTURE_MAX 512
#define GW_PROTO_F_EGRESS 1	/* sent by the local socket (else received by it) */

struct gw_proto_event {
	struct gw_event_hdr hdr;
	struct gw_net_task task;	/* the socket's owner (connecting task or listener's owner) */
	struct gw_net_tuple tuple;	/* direction 0 outbound, 1 inbound, 2 owner not known */
	__u16 payload_len;	/* bytes of payload in the segment (capped at 65535) */
	__u16 captured_len;	/* bytes in data[] */
	__u32 flags;		/* GW_PROTO_F_* */
	__u8 data[GW_PROTO_CAPTURE_MAX];
};

_Static_assert(sizeof(struct gw_proto_event) == 16 + 48 + 48 + 8 + GW_PROTO_CAPTURE_MAX,
	       "gw_proto_event layout");

/* ---- devices ------------------------------------------------------------------------------- */

#define GW_DEV_STR_LEN 128	/* USB string descriptors as the kernel cached them (UTF-8) */
#define GW_DEV_NAME_LEN 32	/* sysfs names: "1-1.2", "0003:1D6B:0104.0001", "input12" */
#define GW_DEV_KEY_WORDS 6	/* keybit words copied: letters (word 0) up to BTN_TOUCH (word 5) */

enum gw_device_action {
	GW_DEV_ATTACH = 1,
	GW_DEV_DETACH = 2,
};

/* Which BPF flavour produced a device record. */
enum gw_device_hook {
	GW_DEV_HOOK_FENTRY = 1,
	GW_DEV_HOOK_KPROBE = 2,
};

/* What every device record carries: the action, the hook and the task the kernel ran it for (for a
 * uinput device that is its creator; for USB a hub kworker). */
struct gw_device_common {
	__u32 action;		/* enum gw_device_action */
	__u32 hook;		/* enum gw_device_hook */
	__s32 ret;		/* return value at exit hooks (0 on entry hooks) */
	__u32 pad;
	struct gw_task_ids task;
};

/* usb_new_device (exit) / usb_disconnect. */
struct gw_usb_event {
	struct gw_event_hdr hdr;
	struct gw_device_common dev;
	__u16 vendor_id, product_id, bcd_device, bcd_usb;
	__u8 dev_class, dev_subclass, dev_protocol, speed; /* speed: enum usb_device_speed */
	__u8 num_configurations, level, portnum, pad;
	__u32 busnum, devnum;
	char devpath[16];	/* port path from the root hub, "1.2": sysfs name is busnum-devpath */
	char manufacturer[GW_DEV_STR_LEN];
	char product[GW_DEV_STR_LEN];
	char serial[GW_DEV_STR_LEN];
};

/* hid_add_device (exit) / hid_destroy_device. */
struct gw_hid_event {
	struct gw_event_hdr hdr;
	struct gw_device_common dev;
	__u16 bus, pad;
	__u32 vendor_id, product_id, version;
	__u32 rsize;		/* size of the report descriptor the kernel parsed */
	__u32 pad2;
	char name[GW_DEV_STR_LEN];
	char phys[64];
	char uniq[64];
	char sysfs_name[GW_DEV_NAME_LEN];
	char parent_name[GW_DEV_NAME_LEN];	/* "uhid" for a HID device made by a process */
};

/* input_register_device (exit) / input_unregister_device. */
struct gw_input_event {
	struct gw_event_hdr hdr;
	struct gw_device_common dev;
	__u16 bustype, vendor_id, product_id, version;
	__u32 has_parent;	/* 0: a software device under /devices/virtual (uinput) */
	__u32 pad;
	__u64 ev_bits, rel_bits, abs_bits, prop_bits;
	__u64 key_bits[GW_DEV_KEY_WORDS];
	__s32 abs_x_min, abs_x_max, abs_y_min, abs_y_max;
	char name[GW_DEV_STR_LEN];
	char phys[64];
	char uniq[64];
	char sysfs_name[GW_DEV_NAME_LEN];
};

_Static_assert(sizeof(struct gw_device_common) == 16 + 72, "gw_device_common layout");
_Static_assert(sizeof(struct gw_usb_event) == 16 + 88 + 8 + 4 + 4 + 8 + 16 + 3 * GW_DEV_STR_LEN,
	       "gw_usb_event layout");
_Static_assert(sizeof(struct gw_hid_event) == 16 + 88 + 4 + 20 + GW_DEV_STR_LEN + 128 +
	       2 * GW_DEV_NAME_LEN, "gw_hid_event layout");
_Static_assert(sizeof(struct gw_input_event) == 16 + 88 + 16 + 32 + 8 * GW_DEV_KEY_WORDS + 16 +
	       GW_DEV_STR_LEN + 128 + GW_DEV_NAME_LEN, "gw_input_event layout");

/* ---- input cadence ------------------------------------------------------------------------- */

/*
 * Per input device and window, the kernel counts how input arrived: timing and counts only. Key
 * codes and pointer coordinates stay in a kernel-only state map (created write-only for the
 * syscall side) and never reach these structs: a burst's net displacement is kept as a class of
 * |sum dx| + |sum dy|, never as a value.
 */
#define GW_CADENCE_HIST_BUCKETS 24	/* log2 microseconds: [2^i, 2^(i+1)) us, bucket 0 also < 1 us,
					 * the last also everything longer (>= 8.4 s) */
#define GW_CADENCE_NET_CLASSES 5	/* |net| of a burst: 0, 1-2, 3-16, 17-128, > 128 units */
#define GW_CADENCE_COALESCE_NS 2000000ULL /* a key this soon after the previous one: coalesced */
#define GW_CADENCE_BURST_GAP_NS 500000000ULL /* motion after this much quiet starts a new burst */

/* The window map is an array of GW_CADENCE_SLOTS device slots x 2: the kernel fills half
 * (cadence_gen & 1) while the agent drains and zeroes the other (double buffering in one map). A
 * device gets its slot when the kernel first sees it; the entry names the device it holds. */
#define GW_CADENCE_SLOTS 256

struct gw_cadence_window {
	char name[GW_DEV_NAME_LEN];	/* sysfs name of the input device, "input7" */
	__u64 dev;			/* the struct input_dev (an identity, never dereferenced) */
	__u64 first_ns, last_ns;	/* boot time of the first and last event in the window */
	__u32 writer_pid;		/* task that delivered the last event: a uinput writer */
	__u32 events;			/* key, button and motion events counted */
	__u32 key_down, key_up, key_repeat;
	__u32 keys_coalesced;		/* key downs < GW_CADENCE_COALESCE_NS after the previous */
	__u32 clicks;			/* button presses (BTN_MOUSE.., BTN_TOUCH, ...) */
	__u32 wheel;
	__u32 rel_events, abs_events;	/* X/Y motion events */
	__u32 bursts;			/* motion bursts started in the window */
	__u32 bursts_after_idle;	/* ... with no input on the device for idle_ns before */
	__u32 bursts_done;		/* bursts finalized in the window (at the next burst's start) */
	__u32 bursts_same_target;	/* ... ending on the same absolute point as the previous one */
	__u32 bursts_with_buttons;	/* ... with a key or click inside the burst */
	__u32 burst_steps;		/* motion events in the finalized bursts */
	__u32 idle_min_ms;		/* shortest quiet before a burst (0 when no burst) */
	__u32 period_n;			/* burst start-to-start intervals measured */
	__u32 period_min_ms, period_max_ms;
	__u64 period_sum_ms, period_sumsq_ms;
	__u32 net_class[GW_CADENCE_NET_CLASSES];
	__u32 key_interval_hist[GW_CADENCE_HIST_BUCKETS]; /* key down to next key down */
	__u32 hold_hist[GW_CADENCE_HIST_BUCKETS];	   /* key down to its key up */
	__u32 bursts_still;	/* finalized bursts that moved back (|net| <= 2) or to the same target */
};

/* What the agent dispatches for each drained entry (not a ring-buffer record: the map is read). */
struct gw_cadence_record {
	struct gw_event_hdr hdr;
	__u64 dev;
	struct gw_cadence_window w;
};

_Static_assert(sizeof(struct gw_cadence_window) == GW_DEV_NAME_LEN + 8 + 16 + 4 * 20 + 16 +
	       4 * (GW_CADENCE_NET_CLASSES + 2 * GW_CADENCE_HIST_BUCKETS) + 4, "gw_cadence_window layout");
_Static_assert(sizeof(struct gw_cadence_record) == 16 + 8 + sizeof(struct gw_cadence_window),
	       "gw_cadence_record layout");

/* Offset of argv within the exec record: the record is sent up to argv + argv_size. */
#define GW_EXEC_FIXED_SIZE (sizeof(struct gw_exec_event) - GW_ARGV_MAX)

/* ---- interfaces ------------------------------------------------------------------------------ */

/* GW_EV_TUNNEL_OPEN: a task opened the character device that makes tunnels (10:200 /dev/net/tun,
 * 108:0 /dev/ppp). */
#define GW_TUN_MAJOR 10
#define GW_TUN_MINOR 200
#define GW_PPP_MAJOR 108
#define GW_PPP_MINOR 0

struct gw_tunnel_open_event {
	struct gw_event_hdr hdr;
	struct gw_task_ids task;
	__u32 major;
	__u32 minor;
};

_Static_assert(sizeof(struct gw_tunnel_open_event) == 16 + 72 + 8, "gw_tunnel_open_event layout");

#endif /* GW_EVENTS_H */
