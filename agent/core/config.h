/*
 * config.h - the fleet daemon's configuration (`ghostwatch run --config FILE`): what the YAML file
 * may say, its defaults, and how it is checked.
 *
 * A config is parsed whole into a fresh heap struct and either accepted or rejected with one message
 * "file:line: reason" (unknown key, wrong type, out-of-range value, inconsistent pair). Nothing is
 * half-applied: on SIGHUP the agent loads a new struct and swaps it in only if it loaded, so a bad
 * edit keeps the old config running. Every key has a default, so an empty file is a valid config.
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"

#define GW_CONFIG_MAX_URLS 16
#define GW_CONFIG_ERR_LEN 512
#define GW_CONFIG_MAX_REMOTES 256
#define GW_CONFIG_MAX_ALLOW 64
#define GW_CONFIG_MAX_REDACT 64

/* detections.allow: a finding of `rule` is not raised when every other field given matches it. */
struct gw_config_allow {
	char *rule;	 /* a rule id, "GW-NETIF-TUNNEL" */
	char *process;	 /* the executable's absolute path, or NULL */
	char *interface; /* a network interface name, or NULL */
};

struct gw_config {
	char *path; /* where it was loaded from, for messages */

	/* collector: NATS JetStream servers, tried in order, TLS always on */
	char *collector_urls[GW_CONFIG_MAX_URLS];
	size_t n_collector_urls;
	char *subject_prefix;		/* subject = <prefix>.<host_id> */
	uint32_t publish_timeout_ms;	/* wait this long for a JetStream PubAck */
	uint32_t reconnect_min_ms;	/* backoff starts here, doubles, jittered */
	uint32_t reconnect_max_ms;
	uint32_t connect_timeout_ms;

	/* mutual TLS */
	char *tls_cert;
	char *tls_key;
	char *tls_ca;
	char *tls_server_name; /* expected server certificate name; empty = host of the URL */

	/* identity: empty host_id = derived from /etc/machine-id */
	char *host_id;

	/* disk spool */
	char *spool_dir;
	uint64_t spool_max_bytes;	/* oldest segments are dropped (and counted) past this */
	uint64_t spool_segment_bytes;	/* a segment is closed once it reaches this size */

	/* batches */
	uint32_t window_seconds;	/* a batch is cut every window */
	uint32_t batch_max_events;	/* ... or earlier when it holds this many events */
	uint32_t queue_batches;		/* batches between the event loop and the spool writer */

	/* signals */
	bool signal_process;
	bool signal_network;
	bool signal_devices;
	bool signal_input;

	/* agent */
	enum gw_log_level log_level;
	uint32_t ringbuf_bytes;		/* BPF ring buffer size, a power of two >= 4096 */
	uint32_t stats_seconds;		/* how often AgentStats go into the batch stream */

	/* the employee the device is issued to, as the company declares it */
	char *employee_id;		/* a subject token; empty = not declared */
	char *employee_timezone;	/* IANA name, "America/New_York"; empty = not declared */
	char *employee_hours;		/* "09:00-18:00" in that timezone; empty = not declared */
	char *employee_days;		/* "mon-fri"; empty = not declared */
	bool offboarding;		/* leaving the company: exfiltration findings weigh more */

	/* sessions: the activity profile against the employee's declared hours */
	char *sessions_state_file;		/* the profile kept across restarts */
	uint32_t sessions_off_hours_percent;	/* raise above this share outside the hours */
	uint32_t sessions_min_active_minutes;	/* ... once the profile holds this much */
	/* exfiltration: thresholds, and where copies (git push, rsync, scp, rclone) may go */
	uint64_t exfil_upload_bytes;		 /* per process and destination; 0 = off */
	uint32_t exfil_upload_window_seconds;
	uint64_t exfil_removable_bytes;		 /* written to USB storage; 0 = off */
	uint32_t exfil_removable_window_seconds;
	char *exfil_allowed_remotes[GW_CONFIG_MAX_REMOTES]; /* host names (and their subdomains),
							     * addresses or CIDRs */
	size_t n_exfil_allowed_remotes;
	char *rules_local_dir;		/* local rules beside the shipped ones (rules.d) */
	uint32_t tamper_check_seconds;	/* how often the BPF programs are checked still attached */
	/* remote-operation latency */
	uint32_t latency_window_s;	  /* RemoteLatency window */
	uint32_t latency_far_rtt_ms;	  /* "remote operator far away" from this RTT; 0 = never */
	uint32_t latency_no_input_minutes; /* "activity without physical input" after; 0 = never */
	/* place: where the host is */
	char *place_mac_key_file;	/* fleet-wide key neighbour MACs are hashed with; a missing
					 * file means no hashes are sent */
	bool place_mdns;		/* hear mDNS names on the LAN (never sends) */
	/* network: name TCP connections' protocol from their first bytes (bpf/lib/proto_capture.h) */
	bool proto_id;
	/* the company's own tools: findings they match are counted, not raised */
	struct gw_config_allow detections_allow[GW_CONFIG_MAX_ALLOW];
	size_t n_detections_allow;
	/* ops endpoint (Prometheus text, /healthz): "" off, else a listen_addr.h endpoint */
	char *metrics_listen;
	/* network: how long a DNS answer may name connections, whatever TTL it claims */
	uint32_t dns_max_ttl_seconds;
	/* secrets in command lines: patterns beside the shipped ones (config_redact.h) */
	char *redact_patterns[GW_CONFIG_MAX_REDACT];
	size_t n_redact_patterns;
	/* limits: what one user's flood may take (bpf/gw_bpf_common.h, core/proc_table.h) */
	uint32_t limits_uid_rate;	  /* records/s per uid and category; 0 = off */
	uint32_t limits_uid_burst;
	uint32_t limits_uid_gate_percent; /* the ring this full turns the per-uid share on */
	uint32_t limits_reserved_percent; /* of the ring, kept from network captures */
	uint64_t limits_proc_table_bytes; /* the process table's strings and entries */
	/* debugging: keep every capability after the start instead of the documented few */
	bool keep_privileges;
};

/* Fills every field with its default (strings are heap copies). Returns 0, -1 on ENOMEM. */
int gw_config_defaults(struct gw_config *cfg);

/*
 * Loads a config file over the defaults. Returns a new config, or NULL with a message
 * "file:line: reason" in err (always NUL-terminated).
 */
struct gw_config *gw_config_load(const char *path, char *err, size_t errlen);

/* Same, from a buffer; `name` is used in messages in place of a path. */
struct gw_config *gw_config_parse(const char *name, const char *text, size_t len, char *err,
				  size_t errlen);

void gw_config_free(struct gw_config *cfg);

/*
 * Whether two configs need a new forwarder (servers, TLS material, subject, identity or spool
 * directory changed); everything else is applied in place on reload.
 */
bool gw_config_transport_changed(const struct gw_config *a, const struct gw_config *b);

#endif
