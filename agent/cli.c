/* cli.c - the command line's words: the usage text and `ghostwatch debug`'s options. See
 * cli.h. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "core/config.h"
#include "view/debug_view.h"
#include "ops/ops_status.h"
#include "fleet/fleet.h"

void cli_usage(FILE *out)
{
	fputs("usage: ghostwatch <command> [options]\n"
	      "\n"
	      "Endpoint agent that traces processes, connections and devices with eBPF to expose\n"
	      "remote-worker fraud (IP-KVMs, jigglers, remote-access tools, VPNs).\n"
	      "\n"
	      "commands:\n"
	      "  debug              live view of events on this host (Ctrl-C to stop)\n"
	      "  run                fleet daemon: batches to the collector over NATS JetStream\n"
	      "  version            print the version\n"
	      "  status             the running agent's health, from its metrics.listen endpoint\n"
	      "\n"
	      "debug options:\n"
	      "  --json                  one JSON object per line (keys: proto field names + \"type\")\n"
	      "  --color=WHEN            auto (default), always, never\n"
	      "  --duration=SECONDS      stop after this long (default: run until signalled)\n"
	      "  --stats-interval=SECONDS  emit agent stats this often (default 60, 0 = start/exit only)\n"
	      "  --hooks=FLAVOUR         process hooks: auto (tp_btf, raw_tp), tp_btf, raw_tp\n"
	      "  --forks                 also print fork events (forks always feed the process table)\n"
	      "  --no-forks              do not trace forks at all (exec and exit only)\n"
	      "  --ringbuf-size=BYTES    ring buffer size, power of two >= 4096 (default 4194304)\n"
	      "  --wakeup-bytes=BYTES    wake the reader once this much is pending (default 262144)\n"
	      "  --proc-grace=SECONDS    keep exited processes this long for late events (default 30)\n"
	      "  --proc-table-max=N      process table capacity (default 65536)\n"
	      "  --no-network            do not trace connections, datagrams or DNS answers\n"
	      "  --tcp-hooks=FLAVOUR     tcp hooks: auto (connect, sockops, tp_btf, tp), connect,\n"
	      "                          sockops, tp_btf, tp\n"
	      "  --dns-hooks=MODE        DNS answers: auto (recv, then cgroup_skb), recv (as the\n"
	      "                          process reads them), cgroup_skb (every packet)\n"
	      "  --dns-verify=CHECK      which DNS answers name peers: socket (default: answers to a\n"
	      "                          socket that asked that server) or query (also the same\n"
	      "                          transaction id and question; captures every outgoing packet)\n"
	      "  --flow-window=SECONDS   emit aggregated flows this often (default 10)\n"
	      "  --flow-table-max=N      flows kept per window before the oldest is emitted early\n"
	      "                          (default 16384)\n"
	      "  --device-hooks=MODE     devices: auto (fentry, kprobe, then uevent), fentry, kprobe,\n"
	      "                          uevent (no BPF device hooks: the kernel's uevents only)\n"
	      "  --sys-root=DIR          sysfs to read devices from (default /sys)\n"
	      "  --cadence-window=SECONDS  input cadence window (default 60; 0 = no input cadence)\n"
	      "  --cadence-idle=MS       quiet before a pointer burst that makes it \"after idle\"\n"
	      "                          (default 1000)\n"
	      "  --cadence-hooks=MODE    input cadence hooks: auto (fentry, then kprobe), fentry, kprobe\n"
	      "  --latency-window=SECONDS  remote-control RTT window (default 60; 0 = off)\n"
	      "  --latency-far-ms=MS     \"remote operator far away\" from this RTT (default 100)\n"
	      "  --latency-no-input-minutes=N  \"activity without physical input\" after N minutes\n"
	      "                          (default 10; 0 = never)\n"
	      "  --rules=DIR             shipped rule files (default: rules/ of the build tree, else\n"
	      "                          /usr/share/ghostwatch/rules)\n"
	      "  --rules-d=DIR           local rules that add or override by id (default\n"
	      "                          /etc/ghostwatch/rules.d); SIGHUP reloads both\n"
	      "  --sessions=SOURCE       login sessions: auto (logind, else utmp), logind, utmp, off\n"
	      "  --employee=ZONE,HOURS,DAYS  declared working time for the activity profile, e.g.\n"
	      "                          America/New_York,09:00-18:00,mon-fri\n"
	      "  --activity-state=FILE   keep the activity profile in FILE across runs (default: in\n"
	      "                          memory only)\n"
	      "  --exfil-upload=BYTES    bulk upload threshold per process and destination (default\n"
	      "                          104857600; 0 = off)\n"
	      "  --exfil-window=SECONDS  bulk upload window (default 600)\n"
	      "  --exfil-allow=REMOTE    a host name or CIDR copies may go to (repeat for more)\n"
	      "  --exfil-removable=BYTES removable storage threshold (default 104857600; 0 = no\n"
	      "                          block-layer hook)\n"
	      "  --offboarding           the employee is leaving: exfil findings weigh more\n"
	      "  --place-root=DIR        read /etc, /run and /usr/bin of the place settings under DIR\n"
	      "  --place-key=FILE        fleet key that neighbour MACs are hashed with (none: no hashes)\n"
	      "  --place-mdns=on|off     hear mDNS names on the LAN, never sending (default on)\n"
	      "  --no-place              no Place events (network place, settings, LAN IP-KVMs)\n"
	      "  --no-proto-id           do not capture the first bytes of TCP connections (no\n"
	      "                          application protocol or TLS/HTTP server name)\n"
	      "  --proto-hooks=MODE      first bytes: auto (send/recv calls, then cgroup_skb),\n"
	      "                          cgroup_skb (every packet)\n"
	      "  --config=FILE           take detections.allow, metrics.listen and redact from a fleet\n"
	      "                          config (read at start)\n"
	      "  --uid-limit=RATE,BURST,GATE  once the ring is GATE% full, each uid may add\n"
	      "                          RATE records/s (BURST at once) per category of\n"
	      "                          connection, DNS, first-bytes, exec, exit, fork and\n"
	      "                          tun-open records (default 2000,1000,25; RATE 0 = off)\n"
	      "  --proc-table-bytes=BYTES  process table byte cap (default 16777216; 0 = none)\n"
	      "  --keep-privileges       keep every capability after the start (debugging; by\n"
	      "                          default only those in docs/PRIVILEGES.md stay)\n"
	      "\n"
	      "run options:\n"
	      "  --config=FILE           YAML config (default /etc/ghostwatch/ghostwatch.yaml);\n"
	      "                          SIGHUP reloads it, a bad edit keeps the running config\n"
	      "  --check                 validate the config and certificate, then exit\n"
	      "\n"
	      "status options:\n"
	      "  --config=FILE           the config naming the endpoint (metrics.listen)\n"
	      "\n"
	      "  -h, --help              this help\n"
	      "  -V, --version           print the version\n",
	      out);
}

static int parse_u64(const char *flag, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "ghostwatch: --%s: '%s' is not a number in %" PRIu64 "..%" PRIu64 "\n",
			flag, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

enum {
	OPT_JSON = 1000,
	OPT_COLOR,
	OPT_DURATION,
	OPT_STATS_INTERVAL,
	OPT_HOOKS,
	OPT_FORKS,
	OPT_NO_FORKS,
	OPT_RINGBUF,
	OPT_WAKEUP,
	OPT_PROC_GRACE,
	OPT_PROC_MAX,
	OPT_NO_NETWORK,
	OPT_TCP_HOOKS,
	OPT_DNS_HOOKS,
	OPT_DNS_VERIFY,
	OPT_FLOW_WINDOW,
	OPT_FLOW_MAX,
	OPT_DEVICE_HOOKS,
	OPT_SYS_ROOT,
	OPT_CADENCE_WINDOW,
	OPT_CADENCE_IDLE,
	OPT_CADENCE_HOOKS,
	OPT_RULES,
	OPT_RULES_D,
	OPT_SESSIONS,
	OPT_EMPLOYEE,
	OPT_ACTIVITY_STATE,
	OPT_EXFIL_UPLOAD,
	OPT_EXFIL_WINDOW,
	OPT_EXFIL_ALLOW,
	OPT_EXFIL_REMOVABLE,
	OPT_OFFBOARDING,
	OPT_LATENCY_WINDOW,
	OPT_LATENCY_FAR,
	OPT_LATENCY_NO_INPUT,
	OPT_PLACE_ROOT,
	OPT_PLACE_KEY,
	OPT_PLACE_MDNS,
	OPT_NO_PLACE,
	OPT_NO_PROTO_ID,
	OPT_PROTO_HOOKS,
	OPT_CONFIG,
	OPT_UID_LIMIT,
	OPT_PROC_BYTES,
	OPT_KEEP_PRIVILEGES,
};

static const struct option debug_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "color", required_argument, NULL, OPT_COLOR },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "stats-interval", required_argument, NULL, OPT_STATS_INTERVAL },
	{ "hooks", required_argument, NULL, OPT_HOOKS },
	{ "forks", no_argument, NULL, OPT_FORKS },
	{ "no-forks", no_argument, NULL, OPT_NO_FORKS },
	{ "ringbuf-size", required_argument, NULL, OPT_RINGBUF },
	{ "wakeup-bytes", required_argument, NULL, OPT_WAKEUP },
	{ "proc-grace", required_argument, NULL, OPT_PROC_GRACE },
	{ "proc-table-max", required_argument, NULL, OPT_PROC_MAX },
	{ "no-network", no_argument, NULL, OPT_NO_NETWORK },
	{ "tcp-hooks", required_argument, NULL, OPT_TCP_HOOKS },
	{ "dns-hooks", required_argument, NULL, OPT_DNS_HOOKS },
	{ "dns-verify", required_argument, NULL, OPT_DNS_VERIFY },
	{ "flow-window", required_argument, NULL, OPT_FLOW_WINDOW },
	{ "flow-table-max", required_argument, NULL, OPT_FLOW_MAX },
	{ "device-hooks", required_argument, NULL, OPT_DEVICE_HOOKS },
	{ "sys-root", required_argument, NULL, OPT_SYS_ROOT },
	{ "cadence-window", required_argument, NULL, OPT_CADENCE_WINDOW },
	{ "cadence-idle", required_argument, NULL, OPT_CADENCE_IDLE },
	{ "cadence-hooks", required_argument, NULL, OPT_CADENCE_HOOKS },
	{ "rules", required_argument, NULL, OPT_RULES },
	{ "rules-d", required_argument, NULL, OPT_RULES_D },
	{ "sessions", required_argument, NULL, OPT_SESSIONS },
	{ "employee", required_argument, NULL, OPT_EMPLOYEE },
	{ "activity-state", required_argument, NULL, OPT_ACTIVITY_STATE },
	{ "exfil-upload", required_argument, NULL, OPT_EXFIL_UPLOAD },
	{ "exfil-window", required_argument, NULL, OPT_EXFIL_WINDOW },
	{ "exfil-allow", required_argument, NULL, OPT_EXFIL_ALLOW },
	{ "exfil-removable", required_argument, NULL, OPT_EXFIL_REMOVABLE },
	{ "offboarding", no_argument, NULL, OPT_OFFBOARDING },
	{ "latency-window", required_argument, NULL, OPT_LATENCY_WINDOW },
	{ "latency-far-ms", required_argument, NULL, OPT_LATENCY_FAR },
	{ "latency-no-input-minutes", required_argument, NULL, OPT_LATENCY_NO_INPUT },
	{ "place-root", required_argument, NULL, OPT_PLACE_ROOT },
	{ "place-key", required_argument, NULL, OPT_PLACE_KEY },
	{ "place-mdns", required_argument, NULL, OPT_PLACE_MDNS },
	{ "no-place", no_argument, NULL, OPT_NO_PLACE },
	{ "no-proto-id", no_argument, NULL, OPT_NO_PROTO_ID },
	{ "proto-hooks", required_argument, NULL, OPT_PROTO_HOOKS },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "uid-limit", required_argument, NULL, OPT_UID_LIMIT },
	{ "proc-table-bytes", required_argument, NULL, OPT_PROC_BYTES },
	{ "keep-privileges", no_argument, NULL, OPT_KEEP_PRIVILEGES },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_sessions_source(const char *s, struct sessions_options *o)
{
	o->enabled = strcmp(s, "off") != 0;
	if (!strcmp(s, "auto"))
		o->source = SESSIONS_SOURCE_AUTO;
	else if (!strcmp(s, "logind"))
		o->source = SESSIONS_SOURCE_LOGIND;
	else if (!strcmp(s, "utmp"))
		o->source = SESSIONS_SOURCE_UTMP;
	else if (o->enabled) {
		fprintf(stderr, "ghostwatch: --sessions: '%s' is not auto, logind, utmp or off\n", s);
		return -1;
	}
	return 0;
}

/* "ZONE,HOURS,DAYS": split in place (optarg is ours to write). */
static int parse_employee(char *s, struct sessions_options *o)
{
	char *hours = strchr(s, ','), *days = hours ? strchr(hours + 1, ',') : NULL;

	if (!days) {
		fprintf(stderr, "ghostwatch: --employee: '%s' is not ZONE,HOURS,DAYS "
				"(America/New_York,09:00-18:00,mon-fri)\n", s);
		return -1;
	}
	*hours++ = '\0';
	*days++ = '\0';
	o->timezone = s;
	o->hours = hours;
	o->days = days;
	return 0;
}

int cli_parse_debug(int argc, char **argv, struct app_options *o, struct debug_view *v)
{
	const char *color = "auto";
	uint64_t n;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", debug_options, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			v->json = true;
			break;
		case OPT_COLOR:
			color = optarg;
			if (strcmp(color, "auto") && strcmp(color, "always") && strcmp(color, "never")) {
				fprintf(stderr, "ghostwatch: --color: '%s' is not auto, always or never\n",
					color);
				return -1;
			}
			break;
		case OPT_DURATION:
			if (parse_u64("duration", optarg, 1, 86400 * 365, &n))
				return -1;
			o->core.duration_s = (uint32_t)n;
			break;
		case OPT_STATS_INTERVAL:
			if (parse_u64("stats-interval", optarg, 0, 86400, &n))
				return -1;
			o->core.stats_interval_s = (uint32_t)n;
			break;
		case OPT_HOOKS:
			if (!strcmp(optarg, "auto"))
				o->core.hooks.process_flavour = GW_HOOK_AUTO;
			else if (!strcmp(optarg, "tp_btf"))
				o->core.hooks.process_flavour = GW_HOOK_TP_BTF;
			else if (!strcmp(optarg, "raw_tp"))
				o->core.hooks.process_flavour = GW_HOOK_RAW_TP;
			else {
				fprintf(stderr, "ghostwatch: --hooks: '%s' is not auto, tp_btf or raw_tp\n",
					optarg);
				return -1;
			}
			break;
		case OPT_FORKS:
			o->core.emit_forks = true;
			break;
		case OPT_NO_FORKS:
			o->core.hooks.trace_forks = false;
			break;
		case OPT_RINGBUF:
			if (parse_u64("ringbuf-size", optarg, 4096, 1u << 30, &n))
				return -1;
			if (n & (n - 1)) {
				fprintf(stderr, "ghostwatch: --ringbuf-size: %" PRIu64
						" is not a power of two\n", n);
				return -1;
			}
			o->core.hooks.ringbuf_bytes = (uint32_t)n;
			break;
		case OPT_WAKEUP:
			if (parse_u64("wakeup-bytes", optarg, 0, 1u << 30, &n))
				return -1;
			o->core.hooks.wakeup_bytes = n;
			break;
		case OPT_PROC_GRACE:
			if (parse_u64("proc-grace", optarg, 0, 86400, &n))
				return -1;
			o->core.proc_grace_s = (uint32_t)n;
			break;
		case OPT_PROC_MAX:
			if (parse_u64("proc-table-max", optarg, 16, 1u << 24, &n))
				return -1;
			o->core.proc_table_max = (uint32_t)n;
			break;
		case OPT_NO_NETWORK:
			o->net.enabled = false;
			break;
		case OPT_TCP_HOOKS:
			if (!strcmp(optarg, "auto"))
				o->net.hooks.tcp_hook = GW_TCP_HOOK_AUTO;
			else if (!strcmp(optarg, "connect"))
				o->net.hooks.tcp_hook = GW_TCP_HOOK_CONNECT;
			else if (!strcmp(optarg, "sockops"))
				o->net.hooks.tcp_hook = GW_TCP_HOOK_SOCKOPS;
			else if (!strcmp(optarg, "tp_btf"))
				o->net.hooks.tcp_hook = GW_TCP_HOOK_TP_BTF;
			else if (!strcmp(optarg, "tp"))
				o->net.hooks.tcp_hook = GW_TCP_HOOK_TP;
			else {
				fprintf(stderr, "ghostwatch: --tcp-hooks: '%s' is not auto, connect, "
						"sockops, tp_btf or tp\n", optarg);
				return -1;
			}
			break;
		case OPT_DNS_HOOKS:
			if (!strcmp(optarg, "auto"))
				o->net.hooks.dns_hook = GW_DNS_HOOK_AUTO;
			else if (!strcmp(optarg, "recv"))
				o->net.hooks.dns_hook = GW_DNS_HOOK_RECV;
			else if (!strcmp(optarg, "cgroup_skb"))
				o->net.hooks.dns_hook = GW_DNS_HOOK_CGROUP_SKB;
			else {
				fprintf(stderr, "ghostwatch: --dns-hooks: '%s' is not auto, recv or "
						"cgroup_skb\n", optarg);
				return -1;
			}
			break;
		case OPT_DNS_VERIFY:
			if (!strcmp(optarg, "socket") || !strcmp(optarg, "query")) {
				o->net.hooks.dns_match_queries = optarg[0] == 'q';
			} else {
				fprintf(stderr, "ghostwatch: --dns-verify: '%s' is not socket or query\n",
					optarg);
				return -1;
			}
			break;
		case OPT_FLOW_WINDOW:
			if (parse_u64("flow-window", optarg, 1, 86400, &n))
				return -1;
			o->net.flow_window_s = (uint32_t)n;
			break;
		case OPT_FLOW_MAX:
			if (parse_u64("flow-table-max", optarg, 16, 1u << 22, &n))
				return -1;
			o->net.flow_table_max = (uint32_t)n;
			break;
		case OPT_DEVICE_HOOKS:
			if (!strcmp(optarg, "auto"))
				o->device_mode = GW_DEVMODE_AUTO;
			else if (!strcmp(optarg, "fentry"))
				o->device_mode = GW_DEVMODE_FENTRY;
			else if (!strcmp(optarg, "kprobe"))
				o->device_mode = GW_DEVMODE_KPROBE;
			else if (!strcmp(optarg, "uevent"))
				o->device_mode = GW_DEVMODE_UEVENT;
			else {
				fprintf(stderr, "ghostwatch: --device-hooks: '%s' is not auto, fentry, "
						"kprobe or uevent\n", optarg);
				return -1;
			}
			break;
		case OPT_SYS_ROOT:
			o->sys_root = optarg;
			break;
		case OPT_CADENCE_WINDOW:
			if (parse_u64("cadence-window", optarg, 0, 86400, &n))
				return -1;
			o->cadence_window_s = (uint32_t)n;
			break;
		case OPT_CADENCE_IDLE:
			if (parse_u64("cadence-idle", optarg, 0, 3600000, &n))
				return -1;
			o->cadence_idle_ms = (uint32_t)n;
			break;
		case OPT_CADENCE_HOOKS:
			if (!strcmp(optarg, "auto"))
				o->cadence_hooks = CADENCE_HOOKS_AUTO;
			else if (!strcmp(optarg, "fentry"))
				o->cadence_hooks = CADENCE_HOOKS_FENTRY;
			else if (!strcmp(optarg, "kprobe"))
				o->cadence_hooks = CADENCE_HOOKS_KPROBE;
			else {
				fprintf(stderr, "ghostwatch: --cadence-hooks: '%s' is not auto, fentry or "
						"kprobe\n", optarg);
				return -1;
			}
			break;
		case OPT_RULES:
			o->rules_dir = optarg;
			break;
		case OPT_RULES_D:
			o->rules_user_dir = optarg;
			break;
		case OPT_SESSIONS:
			if (parse_sessions_source(optarg, &o->sessions))
				return -1;
			break;
		case OPT_EMPLOYEE:
			if (parse_employee(optarg, &o->sessions))
				return -1;
			break;
		case OPT_ACTIVITY_STATE:
			o->sessions.state_path = optarg;
			break;
		case OPT_EXFIL_UPLOAD:
			if (parse_u64("exfil-upload", optarg, 0, 1ull << 50, &o->exfil.upload_bytes))
				return -1;
			break;
		case OPT_EXFIL_WINDOW:
			if (parse_u64("exfil-window", optarg, 1, 86400, &n))
				return -1;
			o->exfil.upload_window_s = (uint32_t)n;
			o->exfil.removable_window_s = (uint32_t)n;
			break;
		case OPT_EXFIL_ALLOW:
			if (o->exfil.n_allowed_remotes == EXFIL_OPT_REMOTES_MAX) {
				fprintf(stderr, "ghostwatch: --exfil-allow: more than %d\n",
					EXFIL_OPT_REMOTES_MAX);
				return -1;
			}
			o->exfil.allowed_remotes[o->exfil.n_allowed_remotes++] = optarg;
			break;
		case OPT_EXFIL_REMOVABLE:
			if (parse_u64("exfil-removable", optarg, 0, 1ull << 50,
				      &o->exfil.removable_bytes))
				return -1;
			break;
		case OPT_OFFBOARDING:
			o->exfil.offboarding = true;
			break;
		case OPT_LATENCY_WINDOW:
			if (parse_u64("latency-window", optarg, 0, 3600, &n))
				return -1;
			o->latency.window_s = (uint32_t)n;
			break;
		case OPT_LATENCY_FAR:
			if (parse_u64("latency-far-ms", optarg, 0, 60000, &n))
				return -1;
			o->latency.far_rtt_ms = (uint32_t)n;
			break;
		case OPT_LATENCY_NO_INPUT:
			if (parse_u64("latency-no-input-minutes", optarg, 0, 1440, &n))
				return -1;
			o->latency.no_input_minutes = (uint32_t)n;
			break;
		case OPT_PLACE_ROOT:
			o->place.root = optarg;
			break;
		case OPT_PLACE_KEY:
			o->place.mac_key_file = optarg;
			break;
		case OPT_PLACE_MDNS:
			if (strcmp(optarg, "on") && strcmp(optarg, "off")) {
				fprintf(stderr, "ghostwatch: --place-mdns: '%s' is not on or off\n",
					optarg);
				return -1;
			}
			o->place.mdns = !strcmp(optarg, "on");
			break;
		case OPT_NO_PLACE:
			o->place.enabled = false;
			break;
		case OPT_NO_PROTO_ID:
			o->net.hooks.proto_id = false;
			break;
		case OPT_PROTO_HOOKS:
			if (strcmp(optarg, "auto") && strcmp(optarg, "cgroup_skb")) {
				fprintf(stderr, "ghostwatch: --proto-hooks: '%s' is not auto or "
					"cgroup_skb\n", optarg);
				return -1;
			}
			o->net.hooks.proto_packets = optarg[0] == 'c';
			break;
		case OPT_CONFIG: {
			char err[GW_CONFIG_ERR_LEN];

			gw_config_free((struct gw_config *)o->config);
			o->config = gw_config_load(optarg, err, sizeof(err));
			if (!o->config) {
				fprintf(stderr, "ghostwatch: config rejected: %s\n", err);
				return -1;
			}
			break;
		}
		case OPT_UID_LIMIT: {
			unsigned int rate, burst, gate;
			char end;

			if (sscanf(optarg, "%u,%u,%u%c", &rate, &burst, &gate, &end) != 3 ||
			    rate > 1000000 || !burst || burst > 10000000 || gate > 99) {
				fprintf(stderr, "ghostwatch: --uid-limit: '%s' is not "
					"RATE,BURST,GATE (RATE <= 1000000, "
					"1 <= BURST <= 10000000, GATE <= 99)\n", optarg);
				return -1;
			}
			o->core.hooks.uid_rate = rate;
			o->core.hooks.uid_burst = burst;
			o->core.hooks.uid_gate_pct = gate;
			break;
		}
		case OPT_PROC_BYTES:
			if (parse_u64("proc-table-bytes", optarg, 0, 1ull << 32, &n))
				return -1;
			o->core.proc_table_bytes = n;
			break;
		case OPT_KEEP_PRIVILEGES:
			o->core.keep_privileges = true;
			break;
		case 'h':
			cli_usage(stdout);
			exit(0);
		default:
			return -1; /* getopt printed why */
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ghostwatch: debug: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	v->color = !strcmp(color, "always") || (!strcmp(color, "auto") && isatty(STDOUT_FILENO));
	if (v->json)
		v->color = false;
	return 0;
}
