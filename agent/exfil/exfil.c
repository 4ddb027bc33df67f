/*
 * exfil.c - the exfiltration domain: bulk uploads from flushed flows, copies to unlisted remotes
 * from command lines and connections, and its findings. See exfil.h.
 */
#include "exfil.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "core/proc_table.h"
#include "exfil_allow.h"
#include "exfil_argv.h"
#include "exfil_removable.h"
#include "exfil_upload.h"

#define NS_PER_S 1000000000ull
#define UPLOAD_TABLE_MAX 8192
#define TRANSFERS_MAX 1024
#define ARGV_MAX 64
#define STORAGE_DEVICES_MAX 32
#define POLL_NS (2 * NS_PER_S)
#define TRANSFER_GRACE_NS (10 * NS_PER_S)

/* A process that is a transfer tool, or was started by one (the ssh under scp or git push). */
struct transfer {
	UT_hash_handle hh;
	uint64_t process_id;
	enum exfil_tool tool;
	uint64_t exited_ns; /* boot clock, 0 while alive: its flows are flushed after its exit */
};

/* A USB mass-storage device the devices domain reported, to cite its event. */
struct storage_device {
	uint16_t vid, pid;
	char serial[128];
	uint64_t event_id, time_ns;
};

struct exfil_domain {
	struct gw_agent *agent;
	struct exfil_options opt;
	struct exfil_removable removable;
	struct storage_device storage[STORAGE_DEVICES_MAX];
	size_t n_storage, next_storage;
	uint64_t last_poll_ns;
	uint64_t removable_raised;
	struct exfil_allow allow;
	struct exfil_uploads uploads;
	struct transfer *transfers;
	size_t n_transfers;
	uint64_t last_expire_ns;
	uint64_t uploads_raised, remotes_raised, transfers_seen, transfers_dropped;
};

/* Each finding in two severities: [1] while the employee is leaving (offboarding). */
static const struct gw_behaviour_rule rule_bulk[2] = {
	{ "GW-EXFIL-BULK-UPLOAD", "bulk upload by one process to one destination", "bulk upload",
	  "T1048", "exfil", "medium", "medium", "ghostwatch rules/README.md (exfiltration)" },
	{ "GW-EXFIL-BULK-UPLOAD", "bulk upload by one process to one destination (offboarding)",
	  "bulk upload", "T1048", "exfil", "high", "medium",
	  "ghostwatch rules/README.md (exfiltration)" },
};

static const struct gw_behaviour_rule rule_remote[2] = {
	{ "GW-EXFIL-UNLISTED-REMOTE", "copy to a remote not on the allow-list", "git push, rsync, scp",
	  "T1567", "exfil", "medium", "medium", "ghostwatch rules/README.md (exfiltration)" },
	{ "GW-EXFIL-UNLISTED-REMOTE", "copy to a remote not on the allow-list (offboarding)",
	  "git push, rsync, scp", "T1567", "exfil", "high", "medium",
	  "ghostwatch rules/README.md (exfiltration)" },
};

static const struct gw_behaviour_rule rule_removable[2] = {
	{ "GW-EXFIL-REMOVABLE", "bulk write to USB mass storage", "removable storage", "T1052.001",
	  "exfil", "medium", "medium", "ghostwatch rules/README.md (exfiltration)" },
	{ "GW-EXFIL-REMOVABLE", "bulk write to USB mass storage (offboarding)", "removable storage",
	  "T1052.001", "exfil", "high", "medium", "ghostwatch rules/README.md (exfiltration)" },
};

void exfil_options_defaults(struct exfil_options *o)
{
	memset(o, 0, sizeof(*o));
	o->upload_bytes = 100ull << 20;
	o->upload_window_s = 600;
	o->removable_bytes = 100ull << 20;
	o->removable_window_s = 600;
	o->sys_root = "/sys";
}

static bool is_loopback(const uint8_t addr[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t v6_loop[16] = { [15] = 1 };

	return (!memcmp(addr, mapped, 12) && addr[12] == 127) || !memcmp(addr, v6_loop, 16);
}

static void format_addr(const uint8_t addr[16], char *out, size_t len)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (!memcmp(addr, mapped, 12))
		inet_ntop(AF_INET, addr + 12, out, (socklen_t)len);
	else
		inet_ntop(AF_INET6, addr, out, (socklen_t)len);
}

/* ---- bulk upload ---------------------------------------------------------------------------- */

static void on_flushed_flow(struct gw_agent *a, struct exfil_domain *d, const struct gw_fact *f)
{
	const struct gw_flow_input *in = f->flow;
	char ip[64], dest[EXFIL_DEST_MAX + 1], subject[512], why[512];
	struct exfil_upload_hit hit;

	if (!d->opt.upload_bytes || !in->bytes_sent || is_loopback(in->remote_addr))
		return;
	format_addr(in->remote_addr, ip, sizeof(ip));
	snprintf(dest, sizeof(dest), "%s", in->dns_name && *in->dns_name ? in->dns_name : ip);
	if (!exfil_uploads_add(&d->uploads, f->process_id, dest, in->bytes_sent, f->time_ns, &hit))
		return;
	snprintf(subject, sizeof(subject), "%s to %s", f->subject ? f->subject : "unknown", dest);
	snprintf(why, sizeof(why),
		 "%llu MiB sent to %s (%s port %u) within %u s (threshold %llu MiB%s)",
		 (unsigned long long)(hit.bytes >> 20), dest, ip, in->remote_port,
		 d->opt.upload_window_s, (unsigned long long)(d->uploads.threshold >> 20),
		 d->opt.offboarding ? ", offboarding" : "");
	agent_publish(a, &(struct gw_fact){ .kind = GW_FACT_BEHAVIOUR,
					   .behaviour = { &rule_bulk[d->opt.offboarding], why, "flow" },
					   .subject = subject, .process_id = f->process_id,
					   .event_id = f->event_id, .time_ns = f->time_ns });
	d->uploads_raised++;
}

/* ---- copies to unlisted remotes ------------------------------------------------------------- */

static struct transfer *transfer_of(struct exfil_domain *d, uint64_t process_id)
{
	struct transfer *t;

	HASH_FIND(hh, d->transfers, &process_id, sizeof(process_id), t);
	return t;
}

static void forget(struct exfil_domain *d, uint64_t process_id)
{
	struct transfer *t = transfer_of(d, process_id);

	if (t) {
		HASH_DEL(d->transfers, t);
		free(t);
		d->n_transfers--;
	}
}

static void exited(struct exfil_domain *d, uint64_t process_id)
{
	struct transfer *t = transfer_of(d, process_id);

	if (t)
		t->exited_ns = gw_now_boottime_ns();
}

/* Transfers whose process exited more than the grace ago (its last flows are flushed). */
static void expire_transfers(struct exfil_domain *d, uint64_t now_boot_ns)
{
	struct transfer *t, *tmp;

	HASH_ITER(hh, d->transfers, t, tmp)
		if (t->exited_ns && now_boot_ns - t->exited_ns > TRANSFER_GRACE_NS)
			forget(d, t->process_id);
}

static void remember(struct exfil_domain *d, uint64_t process_id, enum exfil_tool tool)
{
	struct transfer *t = transfer_of(d, process_id);

	if (t) {
		t->tool = tool;
		t->exited_ns = 0;
		return;
	}
	if (d->n_transfers >= TRANSFERS_MAX)
		expire_transfers(d, gw_now_boottime_ns());
	if (d->n_transfers >= TRANSFERS_MAX || !(t = calloc(1, sizeof(*t)))) {
		d->transfers_dropped++;
		return;
	}
	t->process_id = process_id;
	t->tool = tool;
	HASH_ADD(hh, d->transfers, process_id, sizeof(t->process_id), t);
	d->n_transfers++;
}

static void raise_remote(struct gw_agent *a, struct exfil_domain *d, enum exfil_tool tool,
			 const char *host, const char *seen_in, const char *evidence,
			 const struct gw_fact *f)
{
	char subject[320], why[400];

	snprintf(subject, sizeof(subject), "%s to %s", exfil_tool_name(tool), host);
	snprintf(why, sizeof(why), "%s to %s (%s), which is not on exfil.allowed_remotes%s",
		 exfil_tool_name(tool), host, seen_in, d->opt.offboarding ? ", offboarding" : "");
	agent_publish(a, &(struct gw_fact){ .kind = GW_FACT_BEHAVIOUR,
					   .behaviour = { &rule_remote[d->opt.offboarding], why,
							  evidence },
					   .subject = subject, .process_id = f->process_id,
					   .event_id = f->event_id, .time_ns = f->time_ns });
	d->remotes_raised++;
}

static void on_exec(struct gw_agent *a, struct exfil_domain *d, const struct gw_fact *f)
{
	const struct proc_entry *e = f->proc;
	const char *argv[ARGV_MAX];
	char host[EXFIL_HOST_MAX + 1];
	const struct transfer *parent;
	enum exfil_tool tool;
	size_t argc = 0;
	uint8_t addr[16];

	if (!e)
		return;
	for (const char *p = e->argv; p && argc < e->argc && argc < ARGV_MAX; p += strlen(p) + 1)
		argv[argc++] = p;
	tool = exfil_transfer_of(argv, argc, host, sizeof(host));
	if (tool == EXFIL_TOOL_NONE) {
		/* a new image in a transfer's process, or the ssh a transfer starts */
		parent = transfer_of(d, e->parent_id);
		if (parent)
			remember(d, e->id, parent->tool);
		else
			forget(d, e->id);
		return;
	}
	d->transfers_seen++;
	remember(d, e->id, tool);
	if (!host[0] || exfil_allow_host(&d->allow, host))
		return;
	if (inet_pton(AF_INET, host, addr) == 1 && addr[0] == 127)
		return;
	if (!strcmp(host, "localhost") || !strcmp(host, "::1"))
		return;
	raise_remote(a, d, tool, host, "command line", "exec", f);
}

/*
 * A transfer's connection as it opens, or its flow when flushed (the kernel folds some short
 * connections into their flow without a connection record, so the flow is where they show).
 */
static void on_transfer_peer(struct gw_agent *a, struct exfil_domain *d, const struct gw_fact *f)
{
	const struct gw_flow_input *in = f->flow;
	const struct transfer *t;
	char ip[64], host[EXFIL_HOST_MAX + 1];

	/* the copies all run over TCP; their name lookups (UDP) are not where they copy to */
	if (in->protocol != IPPROTO_TCP || in->direction != GW_DIR_OUTBOUND ||
	    is_loopback(in->remote_addr) || !(t = transfer_of(d, f->process_id)))
		return;
	if (exfil_allow_addr(&d->allow, in->remote_addr) ||
	    (in->dns_name && *in->dns_name && exfil_allow_host(&d->allow, in->dns_name)))
		return;
	format_addr(in->remote_addr, ip, sizeof(ip));
	snprintf(host, sizeof(host), "%s", in->dns_name && *in->dns_name ? in->dns_name : ip);
	raise_remote(a, d, t->tool, host, "connection", "flow", f);
}

/* ---- removable storage ---------------------------------------------------------------------- */

static void on_device(struct exfil_domain *d, const struct gw_fact *f)
{
	const struct gw_device_input *in = f->device;
	struct storage_device *s;

	if (in->kind != GW_DEVICE_USB || !(in->interfaces & GW_DEV_IF_MASS_STORAGE) || !in->has_ids)
		return;
	/* a ring of the latest: a disk that was plugged in long ago is still reported, uncited */
	s = &d->storage[d->next_storage];
	d->next_storage = (d->next_storage + 1) % STORAGE_DEVICES_MAX;
	if (d->n_storage < STORAGE_DEVICES_MAX)
		d->n_storage++;
	s->vid = in->vid;
	s->pid = in->pid;
	snprintf(s->serial, sizeof(s->serial), "%s", in->serial ? in->serial : "");
	s->event_id = f->event_id;
	s->time_ns = f->time_ns;
}

static const struct storage_device *device_of(const struct exfil_domain *d,
					      const struct exfil_usb_disk *disk)
{
	const struct storage_device *best = NULL;

	for (size_t i = 0; i < d->n_storage; i++) {
		const struct storage_device *s = &d->storage[i];

		if (s->vid == disk->vid && s->pid == disk->pid && !strcmp(s->serial, disk->serial) &&
		    (!best || s->time_ns > best->time_ns))
			best = s;
	}
	return best;
}

static void raise_removable(const struct exfil_removable_hit *hit, void *ctx)
{
	struct exfil_domain *d = ctx;
	const struct storage_device *dev = device_of(d, hit->disk);
	char subject[256], why[400];

	snprintf(subject, sizeof(subject), "%s (USB %04x:%04x %s)", hit->disk->name, hit->disk->vid,
		 hit->disk->pid, hit->disk->product[0] ? hit->disk->product : "mass storage");
	snprintf(why, sizeof(why),
		 "%llu MiB written to USB mass storage %s (%u:%u) within %u s (threshold %llu MiB%s)",
		 (unsigned long long)(hit->bytes >> 20), hit->disk->name, hit->dev >> 20,
		 hit->dev & 0xfffff, d->opt.removable_window_s,
		 (unsigned long long)(d->removable.window.threshold >> 20),
		 d->opt.offboarding ? ", offboarding" : "");
	agent_publish(d->agent, &(struct gw_fact){
					.kind = GW_FACT_BEHAVIOUR,
					.behaviour = { &rule_removable[d->opt.offboarding], why,
						       "device" },
					.subject = subject,
					.event_id = dev ? dev->event_id : 0,
					.time_ns = gw_now_realtime_ns() });
	d->removable_raised++;
}

/* ---- the domain ----------------------------------------------------------------------------- */

static void exfil_observe(struct gw_agent *a, void *state, const struct gw_fact *f)
{
	struct exfil_domain *d = state;

	switch (f->kind) {
	case GW_FACT_EXEC:
		on_exec(a, d, f);
		break;
	case GW_FACT_EXIT:
		exited(d, f->process_id);
		break;
	case GW_FACT_DEVICE:
		on_device(d, f);
		break;
	case GW_FACT_FLOW:
		if (f->flow->has_bytes)
			on_flushed_flow(a, d, f);
		on_transfer_peer(a, d, f);
		break;
	default:
		break;
	}
}

static void exfil_tick(struct gw_agent *a, void *state, uint64_t now_boot_ns)
{
	struct exfil_domain *d = state;

	if (exfil_removable_live(&d->removable) && now_boot_ns - d->last_poll_ns >= POLL_NS) {
		d->last_poll_ns = now_boot_ns;
		gw_arena_reset(&a->arena);
		exfil_removable_poll(&d->removable, gw_now_realtime_ns(), raise_removable, d);
	}
	if (now_boot_ns - d->last_expire_ns < 10 * NS_PER_S)
		return;
	d->last_expire_ns = now_boot_ns;
	exfil_uploads_expire(&d->uploads, gw_now_realtime_ns());
	expire_transfers(d, now_boot_ns);
}

/* The next poll of the disks' sums: an idle agent wakes for it. */
static uint64_t exfil_next_tick(const struct gw_agent *a, void *state, uint64_t now_boot_ns)
{
	const struct exfil_domain *d = state;

	(void)a;
	(void)now_boot_ns;
	return exfil_removable_live(&d->removable) ? d->last_poll_ns + POLL_NS : 0;
}

static int exfil_start(struct gw_agent *a, void *state)
{
	struct exfil_domain *d = state;
	uint64_t threshold = d->opt.offboarding ? d->opt.removable_bytes / 2
						: d->opt.removable_bytes;

	if (!d->opt.removable_bytes) {
		hooks_set_status(&a->hooks, "removable_storage", "none",
				 "disabled by configuration");
		return 0;
	}
	exfil_removable_load(&d->removable, &a->hooks.known, &a->hooks.attached, d->opt.sys_root,
			     threshold, (uint64_t)d->opt.removable_window_s * NS_PER_S);
	hooks_set_status(&a->hooks, "removable_storage", d->removable.live, d->removable.why);
	return 0;
}

static void exfil_counters(const struct gw_agent *a, void *state, struct gw_stats_parts *p)
{
	const struct exfil_domain *d = state;
	uint64_t run_ns, runs;

	(void)a;
	agent_stats_add(&p->events, "exfil_bulk_uploads", d->uploads_raised);
	agent_stats_add(&p->events, "exfil_transfers", d->transfers_seen);
	agent_stats_add(&p->events, "exfil_unlisted_remotes", d->remotes_raised);
	agent_stats_add(&p->drops, "exfil_upload_destinations", d->uploads.dropped);
	agent_stats_add(&p->drops, "exfil_transfers_untracked", d->transfers_dropped);
	agent_stats_add(&p->events, "exfil_removable_writes", d->removable_raised);
	agent_stats_add(&p->drops, "exfil_disks_untracked", exfil_removable_untracked(&d->removable));
	agent_stats_add(&p->drops, "exfil_disk_read_errors", d->removable.read_errors);
	/* the block hook's cumulative cost; the kernel counts it only with kernel.bpf_stats_enabled=1 */
	exfil_removable_prog_stats(&d->removable, &run_ns, &runs);
	agent_stats_add(&p->events, "exfil_bpf_run_cnt", runs);
	agent_stats_add(&p->events, "exfil_bpf_run_time_ns", run_ns);
}

static void exfil_destroy(struct gw_agent *a, void *state)
{
	struct exfil_domain *d = state;
	struct transfer *t, *tmp;

	(void)a;
	exfil_removable_close(&d->removable);
	exfil_uploads_free(&d->uploads);
	HASH_ITER(hh, d->transfers, t, tmp) {
		HASH_DEL(d->transfers, t);
		free(t);
	}
	free(d);
}

int exfil_register(struct gw_agent *a, const struct exfil_options *o)
{
	struct exfil_domain *d = calloc(1, sizeof(*d));
	char err[160];
	int ret;

	if (!d)
		return -ENOMEM;
	d->agent = a;
	d->opt = *o;
	for (size_t i = 0; i < o->n_allowed_remotes; i++)
		if (exfil_allow_add(&d->allow, o->allowed_remotes[i], err, sizeof(err))) {
			fprintf(stderr, "ghostwatch: exfil allowed remote: %s\n", err);
			free(d);
			return -EINVAL;
		}
	/* offboarding: the same findings at half the volume */
	exfil_uploads_init(&d->uploads, UPLOAD_TABLE_MAX, (uint64_t)o->upload_window_s * NS_PER_S,
			   o->offboarding ? o->upload_bytes / 2 : o->upload_bytes);
	ret = agent_register(a, &(struct gw_domain){
					.name = "exfil",
					.state = d,
					.start = exfil_start,
					.observe = exfil_observe,
					.tick = exfil_tick,
					.next_tick = exfil_next_tick,
					.counters = exfil_counters,
					.destroy = exfil_destroy,
				});
	if (ret) {
		exfil_uploads_free(&d->uploads);
		free(d);
	}
	return ret;
}
