/* config.c - YAML config parsing (libyaml document API) and validation. See config.h. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/yaml_doc.h"
#include "work_hours.h"
#include "config_allow.h"
#include "listen_addr.h"
#include "config_redact.h"
#include "config_values.h"

/* Bigger files are not configs; refusing them keeps a mistaken path from eating memory. */
#define CONFIG_MAX_FILE_BYTES (1u << 20)
#define GW_CONFIG_ZONEINFO "/usr/share/zoneinfo"

enum key_kind {
	KIND_STR,	/* non-empty string */
	KIND_OPT_STR,	/* string, empty allowed (means "derive it") */
	KIND_PATH,	/* absolute path */
	KIND_URLS,	/* one URL or a list of them */
	KIND_SUBJECT,	/* NATS subject prefix: dot-separated tokens, no wildcards */
	KIND_TOKEN,	/* one NATS subject token, empty allowed */
	KIND_BOOL,
	KIND_U32,
	KIND_SIZE,	/* bytes, with an optional K/M/G (binary) suffix */
	KIND_LOG_LEVEL,
	KIND_REMOTES,	/* a list of host names, addresses or CIDRs */
	KIND_ALLOW,	/* detections.allow: a list of maps (config_allow.h) */
	KIND_REDACT,	/* redact: a list of regexes (config_redact.h) */
};

struct config_key {
	const char *section; /* NULL for a top-level key */
	const char *name;
	enum key_kind kind;
	size_t offset;
	uint64_t min, max;
};

#define F(field) offsetof(struct gw_config, field)

static const struct config_key config_keys[] = {
	{ "collector", "urls", KIND_URLS, F(collector_urls), 0, 0 },
	{ "collector", "subject_prefix", KIND_SUBJECT, F(subject_prefix), 0, 0 },
	{ "collector", "publish_timeout_ms", KIND_U32, F(publish_timeout_ms), 100, 600000 },
	{ "collector", "reconnect_min_ms", KIND_U32, F(reconnect_min_ms), 10, 600000 },
	{ "collector", "reconnect_max_ms", KIND_U32, F(reconnect_max_ms), 10, 3600000 },
	{ "collector", "connect_timeout_ms", KIND_U32, F(connect_timeout_ms), 100, 600000 },
	{ "tls", "cert", KIND_PATH, F(tls_cert), 0, 0 },
	{ "tls", "key", KIND_PATH, F(tls_key), 0, 0 },
	{ "tls", "ca", KIND_PATH, F(tls_ca), 0, 0 },
	{ "tls", "server_name", KIND_OPT_STR, F(tls_server_name), 0, 0 },
	{ NULL, "host_id", KIND_TOKEN, F(host_id), 0, 0 },
	{ "spool", "dir", KIND_PATH, F(spool_dir), 0, 0 },
	{ "spool", "max_bytes", KIND_SIZE, F(spool_max_bytes), 1u << 20, 1ull << 40 },
	{ "spool", "segment_bytes", KIND_SIZE, F(spool_segment_bytes), 64u << 10, 1ull << 30 },
	{ "batch", "window_seconds", KIND_U32, F(window_seconds), 1, 3600 },
	{ "batch", "max_events", KIND_U32, F(batch_max_events), 1, 1000000 },
	{ "batch", "queue_batches", KIND_U32, F(queue_batches), 1, 100000 },
	{ "signals", "process", KIND_BOOL, F(signal_process), 0, 0 },
	{ "signals", "network", KIND_BOOL, F(signal_network), 0, 0 },
	{ "signals", "devices", KIND_BOOL, F(signal_devices), 0, 0 },
	{ "signals", "input", KIND_BOOL, F(signal_input), 0, 0 },
	{ NULL, "log_level", KIND_LOG_LEVEL, F(log_level), 0, 0 },
	{ NULL, "ringbuf_bytes", KIND_SIZE, F(ringbuf_bytes), 4096, 1u << 30 },
	{ NULL, "stats_seconds", KIND_U32, F(stats_seconds), 1, 86400 },
	{ "employee", "id", KIND_TOKEN, F(employee_id), 0, 0 },
	{ "employee", "timezone", KIND_OPT_STR, F(employee_timezone), 0, 0 },
	{ "employee", "hours", KIND_OPT_STR, F(employee_hours), 0, 0 },
	{ "employee", "days", KIND_OPT_STR, F(employee_days), 0, 0 },
	{ "employee", "offboarding", KIND_BOOL, F(offboarding), 0, 0 },
	{ "sessions", "state_file", KIND_PATH, F(sessions_state_file), 0, 0 },
	{ "sessions", "off_hours_percent", KIND_U32, F(sessions_off_hours_percent), 1, 99 },
	{ "sessions", "min_active_minutes", KIND_U32, F(sessions_min_active_minutes), 1, 20160 },
	{ "exfil", "upload_bytes", KIND_SIZE, F(exfil_upload_bytes), 0, 1ull << 40 },
	{ "exfil", "upload_window_seconds", KIND_U32, F(exfil_upload_window_seconds), 10, 86400 },
	{ "exfil", "removable_bytes", KIND_SIZE, F(exfil_removable_bytes), 0, 1ull << 40 },
	{ "exfil", "removable_window_seconds", KIND_U32, F(exfil_removable_window_seconds), 10,
	  86400 },
	{ "exfil", "allowed_remotes", KIND_REMOTES, F(exfil_allowed_remotes), 0, 0 },
	{ "rules", "local_dir", KIND_PATH, F(rules_local_dir), 0, 0 },
	{ "tamper", "check_seconds", KIND_U32, F(tamper_check_seconds), 1, 86400 },
	{ "latency", "window_s", KIND_U32, F(latency_window_s), 1, 3600 },
	{ "latency", "far_rtt_ms", KIND_U32, F(latency_far_rtt_ms), 0, 60000 },
	{ "latency", "no_input_minutes", KIND_U32, F(latency_no_input_minutes), 0, 1440 },
	{ "place", "mac_key_file", KIND_PATH, F(place_mac_key_file), 0, 0 },
	{ "place", "mdns", KIND_BOOL, F(place_mdns), 0, 0 },
	{ "network", "proto_id", KIND_BOOL, F(proto_id), 0, 0 },
	{ "detections", "allow", KIND_ALLOW, F(detections_allow), 0, 0 },
	{ "metrics", "listen", KIND_OPT_STR, F(metrics_listen), 0, 0 },
	{ "network", "dns_max_ttl_seconds", KIND_U32, F(dns_max_ttl_seconds), 1, 604800 },
	{ NULL, "redact", KIND_REDACT, F(redact_patterns), 0, 0 },
	{ "limits", "uid_rate", KIND_U32, F(limits_uid_rate), 0, 1000000 },
	{ "limits", "uid_burst", KIND_U32, F(limits_uid_burst), 1, 10000000 },
	{ "limits", "uid_gate_percent", KIND_U32, F(limits_uid_gate_percent), 0, 99 },
	{ "limits", "reserved_percent", KIND_U32, F(limits_reserved_percent), 0, 75 },
	{ "limits", "proc_table_bytes", KIND_SIZE, F(limits_proc_table_bytes), 1u << 20,
	  1ull << 32 },
	{ "privileges", "keep", KIND_BOOL, F(keep_privileges), 0, 0 },
};

#define N_KEYS (sizeof(config_keys) / sizeof(config_keys[0]))

static int set_str(char **slot, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return -1;
	free(*slot);
	*slot = copy;
	return 0;
}

int gw_config_defaults(struct gw_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->publish_timeout_ms = 5000;
	cfg->reconnect_min_ms = 250;
	cfg->reconnect_max_ms = 30000;
	cfg->connect_timeout_ms = 5000;
	cfg->spool_max_bytes = 256ull << 20;
	cfg->spool_segment_bytes = 8ull << 20;
	cfg->window_seconds = 10;
	cfg->batch_max_events = 20000;
	cfg->queue_batches = 64;
	cfg->signal_process = true;
	cfg->signal_network = true;
	cfg->proto_id = true;
	cfg->signal_devices = true;
	cfg->signal_input = true;
	cfg->log_level = GW_LOG_INFO;
	cfg->ringbuf_bytes = 4u << 20;
	cfg->stats_seconds = 60;
	cfg->sessions_off_hours_percent = 50;
	cfg->sessions_min_active_minutes = 600;
	cfg->place_mdns = true;
	cfg->n_collector_urls = 1;
	cfg->exfil_upload_bytes = 100ull << 20;
	cfg->exfil_upload_window_seconds = 600;
	cfg->exfil_removable_bytes = 100ull << 20;
	cfg->exfil_removable_window_seconds = 600;
	cfg->tamper_check_seconds = 60;
	cfg->limits_uid_rate = 2000;
	cfg->limits_uid_burst = 1000;
	cfg->limits_uid_gate_percent = 25;
	cfg->limits_reserved_percent = 25;
	cfg->limits_proc_table_bytes = 16ull << 20;
	cfg->latency_window_s = 60;
	cfg->latency_far_rtt_ms = 100;
	cfg->latency_no_input_minutes = 10;
	cfg->dns_max_ttl_seconds = 3600;
	if (set_str(&cfg->collector_urls[0], "tls://127.0.0.1:4222") ||
	    set_str(&cfg->subject_prefix, "ghostwatch.v1.telemetry") ||
	    set_str(&cfg->tls_cert, "/etc/ghostwatch/tls/agent.crt") ||
	    set_str(&cfg->tls_key, "/etc/ghostwatch/tls/agent.key") ||
	    set_str(&cfg->tls_ca, "/etc/ghostwatch/tls/ca.crt") ||
	    set_str(&cfg->tls_server_name, "") || set_str(&cfg->host_id, "") ||
	    set_str(&cfg->employee_id, "") || set_str(&cfg->employee_timezone, "") ||
	    set_str(&cfg->employee_hours, "") || set_str(&cfg->employee_days, "") ||
	    set_str(&cfg->spool_dir, "/var/lib/ghostwatch/spool") || set_str(&cfg->path, "(defaults)") ||
	    set_str(&cfg->sessions_state_file, "/var/lib/ghostwatch/activity.state") ||
	    set_str(&cfg->rules_local_dir, "/etc/ghostwatch/rules.d") ||
	    set_str(&cfg->place_mac_key_file, "/etc/ghostwatch/place.key") ||
	    set_str(&cfg->metrics_listen, ""))
		return -1;
	return 0;
}

void gw_config_free(struct gw_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_collector_urls; i++)
		free(cfg->collector_urls[i]);
	free(cfg->subject_prefix);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->tls_ca);
	free(cfg->tls_server_name);
	free(cfg->host_id);
	free(cfg->spool_dir);
	free(cfg->employee_id);
	free(cfg->employee_timezone);
	free(cfg->employee_hours);
	free(cfg->employee_days);
	free(cfg->sessions_state_file);
	for (size_t i = 0; i < cfg->n_exfil_allowed_remotes; i++)
		free(cfg->exfil_allowed_remotes[i]);
	free(cfg->place_mac_key_file);
	gw_config_allow_free(cfg);
	gw_config_redact_free(cfg);
	free(cfg->path);
	free(cfg->rules_local_dir);
	free(cfg->metrics_listen);
	free(cfg);
}

struct parse_ctx {
	struct yaml_doc yd;
	struct gw_config *cfg;
	unsigned long key_line[N_KEYS]; /* 0 = not given; also catches duplicates */
};

static int apply_scalar(struct parse_ctx *pc, const struct config_key *k, yaml_node_t *node,
			const char *key_text)
{
	unsigned long line = yaml_node_line(node);
	void *slot = (char *)pc->cfg + k->offset;
	const char *s;
	uint64_t v;

	if (node->type != YAML_SCALAR_NODE)
		return yaml_doc_fail(&pc->yd, line, "%s: expected a scalar, got %s", key_text, yaml_node_kind(node->type));
	s = yaml_scalar_text(node);
	if (!s)
		return yaml_doc_fail(&pc->yd, line, "%s: value contains a NUL byte", key_text);

	switch (k->kind) {
	case KIND_STR:
	case KIND_OPT_STR:
	case KIND_PATH:
	case KIND_SUBJECT:
	case KIND_TOKEN:
		if (!*s && k->kind != KIND_OPT_STR && k->kind != KIND_TOKEN)
			return yaml_doc_fail(&pc->yd, line, "%s: must not be empty", key_text);
		if (k->kind == KIND_PATH && s[0] != '/')
			return yaml_doc_fail(&pc->yd, line, "%s: must be an absolute path, got \"%s\"", key_text, s);
		if (k->kind == KIND_SUBJECT && !config_valid_subject_prefix(s))
			return yaml_doc_fail(&pc->yd, line,
				    "%s: must be dot-separated tokens of [A-Za-z0-9_-], got \"%s\"",
				    key_text, s);
		if (k->kind == KIND_TOKEN && (!config_valid_token(s) || strlen(s) > 64))
			return yaml_doc_fail(&pc->yd, line, "%s: must be at most 64 of [A-Za-z0-9_-], got \"%s\"",
				    key_text, s);
		if (set_str(slot, s))
			return yaml_doc_fail(&pc->yd, line, "out of memory");
		return 0;
	case KIND_BOOL:
		if (!yaml_scalar_plain(node))
			return yaml_doc_fail(&pc->yd, line, "%s: expected true or false, got a quoted string",
				    key_text);
		if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on"))
			*(bool *)slot = true;
		else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off"))
			*(bool *)slot = false;
		else
			return yaml_doc_fail(&pc->yd, line, "%s: expected true or false, got \"%s\"", key_text, s);
		return 0;
	case KIND_U32:
	case KIND_SIZE:
		if (!yaml_scalar_plain(node))
			return yaml_doc_fail(&pc->yd, line, "%s: expected a number, got a quoted string", key_text);
		if (k->kind == KIND_U32 ? !yaml_parse_u64(s, &v) : config_parse_size(s, &v) != 0)
			return yaml_doc_fail(&pc->yd, line, "%s: expected %s, got \"%s\"", key_text,
				    k->kind == KIND_U32 ? "a non-negative integer"
							: "a size like 4096, 64KiB, 8MiB or 1GiB",
				    s);
		if (v < k->min || v > k->max)
			return yaml_doc_fail(&pc->yd, line, "%s: %" PRIu64 " is out of range [%" PRIu64 ", %" PRIu64 "]",
				    key_text, v, k->min, k->max);
		if (k->offset == F(ringbuf_bytes) && (v & (v - 1)))
			return yaml_doc_fail(&pc->yd, line, "%s: %" PRIu64 " must be a power of two", key_text, v);
		if (k->kind == KIND_U32 || k->offset == F(ringbuf_bytes))
			*(uint32_t *)slot = (uint32_t)v;
		else
			*(uint64_t *)slot = v;
		return 0;
	case KIND_LOG_LEVEL:
		if (gw_log_level_parse(s, (enum gw_log_level *)slot))
			return 0;
		return yaml_doc_fail(&pc->yd, line, "%s: expected error, warn, info or debug, got \"%s\"", key_text,
			    s);
	case KIND_URLS:
	case KIND_REMOTES:
	case KIND_ALLOW:
	case KIND_REDACT:
		break;
	}
	return yaml_doc_fail(&pc->yd, line, "%s: internal: unhandled kind", key_text);
}

static int apply_urls(struct parse_ctx *pc, yaml_node_t *node, const char *key_text)
{
	struct gw_config *cfg = pc->cfg;
	yaml_node_t *items[GW_CONFIG_MAX_URLS];
	size_t n = 0;

	if (node->type == YAML_SCALAR_NODE) {
		items[n++] = node;
	} else if (node->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = node->data.sequence.items.start;
		     it < node->data.sequence.items.top; it++) {
			if (n == GW_CONFIG_MAX_URLS)
				return yaml_doc_fail(&pc->yd, yaml_node_line(node), "%s: more than %d URLs", key_text,
					    GW_CONFIG_MAX_URLS);
			items[n++] = yaml_doc_node(&pc->yd, *it);
		}
	} else {
		return yaml_doc_fail(&pc->yd, yaml_node_line(node), "%s: expected a URL or a list of URLs, got %s",
			    key_text, yaml_node_kind(node->type));
	}
	if (n == 0)
		return yaml_doc_fail(&pc->yd, yaml_node_line(node), "%s: needs at least one URL", key_text);

	for (size_t i = 0; i < n; i++) {
		const char *s, *problem;

		if (!items[i] || items[i]->type != YAML_SCALAR_NODE)
			return yaml_doc_fail(&pc->yd, items[i] ? yaml_node_line(items[i]) : yaml_node_line(node),
				    "%s: each URL must be a scalar", key_text);
		s = yaml_scalar_text(items[i]);
		if (!s)
			return yaml_doc_fail(&pc->yd, yaml_node_line(items[i]), "%s: URL contains a NUL byte", key_text);
		problem = config_url_problem(s);
		if (problem)
			return yaml_doc_fail(&pc->yd, yaml_node_line(items[i]), "%s: \"%s\" %s", key_text, s, problem);
	}
	for (size_t i = 0; i < cfg->n_collector_urls; i++) {
		free(cfg->collector_urls[i]);
		cfg->collector_urls[i] = NULL;
	}
	cfg->n_collector_urls = 0;
	for (size_t i = 0; i < n; i++) {
		cfg->collector_urls[i] = strdup(yaml_scalar_text(items[i]));
		if (!cfg->collector_urls[i])
			return yaml_doc_fail(&pc->yd, yaml_node_line(items[i]), "out of memory");
		cfg->n_collector_urls = i + 1;
	}
	return 0;
}

static int apply_remotes(struct parse_ctx *pc, yaml_node_t *node, const char *key_text)
{
	struct gw_config *cfg = pc->cfg;
	size_t n = 0;

	if (node->type != YAML_SEQUENCE_NODE)
		return yaml_doc_fail(&pc->yd, yaml_node_line(node), "%s: expected a list, got %s",
				     key_text, yaml_node_kind(node->type));
	for (size_t i = 0; i < cfg->n_exfil_allowed_remotes; i++)
		free(cfg->exfil_allowed_remotes[i]);
	cfg->n_exfil_allowed_remotes = 0;
	for (yaml_node_item_t *it = node->data.sequence.items.start;
	     it < node->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_doc_node(&pc->yd, *it);
		const char *s = item && item->type == YAML_SCALAR_NODE ? yaml_scalar_text(item) : NULL;
		unsigned long line = item ? yaml_node_line(item) : yaml_node_line(node);
		const char *problem;

		if (n == GW_CONFIG_MAX_REMOTES)
			return yaml_doc_fail(&pc->yd, line, "%s: more than %d entries", key_text,
					     GW_CONFIG_MAX_REMOTES);
		if (!s)
			return yaml_doc_fail(&pc->yd, line, "%s: each entry must be a string", key_text);
		problem = config_remote_problem(s);
		if (problem)
			return yaml_doc_fail(&pc->yd, line, "%s: \"%s\" %s", key_text, s, problem);
		cfg->exfil_allowed_remotes[n] = strdup(s);
		if (!cfg->exfil_allowed_remotes[n])
			return yaml_doc_fail(&pc->yd, line, "out of memory");
		cfg->n_exfil_allowed_remotes = ++n;
	}
	return 0;
}

static int apply_key(struct parse_ctx *pc, const char *section, yaml_node_t *key_node,
		     yaml_node_t *value)
{
	const char *name;
	char key_text[128];

	if (!key_node || key_node->type != YAML_SCALAR_NODE || !(name = yaml_scalar_text(key_node)))
		return yaml_doc_fail(&pc->yd, key_node ? yaml_node_line(key_node) : 1, "keys must be plain strings");
	snprintf(key_text, sizeof(key_text), "%s%s%s", section ? section : "", section ? "." : "",
		 name);
	if (!value)
		return yaml_doc_fail(&pc->yd, yaml_node_line(key_node), "%s: missing value", key_text);

	for (size_t i = 0; i < N_KEYS; i++) {
		const struct config_key *k = &config_keys[i];

		if (strcmp(k->name, name) != 0 ||
		    (section ? !k->section || strcmp(k->section, section) : k->section != NULL))
			continue;
		if (pc->key_line[i])
			return yaml_doc_fail(&pc->yd, yaml_node_line(key_node), "%s: duplicate key (first on line %lu)",
				    key_text, pc->key_line[i]);
		pc->key_line[i] = yaml_node_line(key_node);
		if (k->kind == KIND_URLS)
			return apply_urls(pc, value, key_text);
		if (k->kind == KIND_REMOTES)
			return apply_remotes(pc, value, key_text);
		if (k->kind == KIND_ALLOW)
			return gw_config_apply_allow(&pc->yd, pc->cfg, value, key_text);
		if (k->kind == KIND_REDACT)
			return gw_config_apply_redact(&pc->yd, pc->cfg, value, key_text);
		return apply_scalar(pc, k, value, key_text);
	}
	return yaml_doc_fail(&pc->yd, yaml_node_line(key_node), "unknown key \"%s\"", key_text);
}

static bool is_section(const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (config_keys[i].section && !strcmp(config_keys[i].section, name))
			return true;
	return false;
}

static int walk_mapping(struct parse_ctx *pc, const char *section, yaml_node_t *map)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_doc_node(&pc->yd, p->key);
		yaml_node_t *v = yaml_doc_node(&pc->yd, p->value);
		const char *name = k && k->type == YAML_SCALAR_NODE ? yaml_scalar_text(k) : NULL;

		if (!section && name && is_section(name)) {
			if (!v || v->type != YAML_MAPPING_NODE)
				return yaml_doc_fail(&pc->yd, v ? yaml_node_line(v) : yaml_node_line(k),
					    "%s: expected a mapping, got %s", name,
					    v ? yaml_node_kind(v->type) : "nothing");
			if (walk_mapping(pc, name, v))
				return -1;
			continue;
		}
		if (apply_key(pc, section, k, v))
			return -1;
	}
	return 0;
}

static unsigned long line_of(const struct parse_ctx *pc, size_t offset)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (config_keys[i].offset == offset && pc->key_line[i])
			return pc->key_line[i];
	return 1;
}

/* The declared working time: hours and days as work_hours reads them, a zone that exists. */
static int check_employee(struct parse_ctx *pc)
{
	const struct gw_config *c = pc->cfg;
	struct work_hours wh;
	char err[256];

	if (c->employee_timezone[0] &&
	    !work_hours_zone_exists(GW_CONFIG_ZONEINFO, c->employee_timezone))
		return yaml_doc_fail(&pc->yd, line_of(pc, F(employee_timezone)),
			    "employee.timezone: \"%s\" is not a timezone under %s (e.g. "
			    "America/New_York)", c->employee_timezone, GW_CONFIG_ZONEINFO);
	if (c->employee_hours[0] &&
	    work_hours_parse(c->employee_hours, "mon", &wh, err, sizeof(err)))
		return yaml_doc_fail(&pc->yd, line_of(pc, F(employee_hours)), "employee.%s", err);
	if (c->employee_days[0] &&
	    work_hours_parse("09:00-18:00", c->employee_days, &wh, err, sizeof(err)))
		return yaml_doc_fail(&pc->yd, line_of(pc, F(employee_days)), "employee.%s", err);
	return 0;
}

/* metrics.listen: a loopback address or a unix socket, "" for off. */
static int check_metrics(struct parse_ctx *pc)
{
	struct listen_addr la;
	char err[256];

	if (pc->cfg->metrics_listen[0] &&
	    listen_addr_parse(pc->cfg->metrics_listen, &la, err, sizeof(err)))
		return yaml_doc_fail(&pc->yd, line_of(pc, F(metrics_listen)), "metrics.listen: %s",
				     err);
	return 0;
}

/* Checks between keys: reported at the line of the key that is given (or line 1). */
static int check_consistency(struct parse_ctx *pc)
{
	const struct gw_config *c = pc->cfg;

	if (c->reconnect_min_ms > c->reconnect_max_ms)
		return yaml_doc_fail(&pc->yd, line_of(pc, F(reconnect_min_ms)),
			    "collector.reconnect_min_ms (%u) is above reconnect_max_ms (%u)",
			    c->reconnect_min_ms, c->reconnect_max_ms);
	if (c->spool_segment_bytes * 2 > c->spool_max_bytes)
		return yaml_doc_fail(&pc->yd, line_of(pc, F(spool_segment_bytes)),
			    "spool.segment_bytes (%" PRIu64 ") must be at most half of spool.max_bytes (%" PRIu64 ")",
			    c->spool_segment_bytes, c->spool_max_bytes);
	if (check_metrics(pc))
		return -1;
	return check_employee(pc);
}

struct gw_config *gw_config_parse(const char *name, const char *text, size_t len, char *err,
				  size_t errlen)
{
	struct parse_ctx pc = { 0 };
	yaml_node_t *root;
	struct gw_config *cfg;
	int rc;

	if (errlen)
		err[0] = '\0';
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg || gw_config_defaults(cfg) || set_str(&cfg->path, name)) {
		gw_config_free(cfg);
		snprintf(err, errlen, "%s:1: out of memory", name);
		return NULL;
	}
	pc.cfg = cfg;
	rc = yaml_doc_load(&pc.yd, name, text, len, err, errlen);
	root = rc ? NULL : yaml_doc_root(&pc.yd);
	/* no root, or an empty scalar: an empty file, all defaults */
	if (root && (root->type != YAML_SCALAR_NODE || root->data.scalar.length != 0)) {
		if (root->type != YAML_MAPPING_NODE)
			rc = yaml_doc_fail(&pc.yd, yaml_node_line(root),
					   "the top level must be a mapping of keys, got %s",
					   yaml_node_kind(root->type));
		else
			rc = walk_mapping(&pc, NULL, root);
	}
	if (rc == 0)
		rc = check_consistency(&pc);
	yaml_doc_free(&pc.yd);
	if (rc) {
		gw_config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct gw_config *gw_config_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	struct gw_config *cfg;
	char *buf;
	size_t len;

	if (!f) {
		snprintf(err, errlen, "%s:0: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(CONFIG_MAX_FILE_BYTES + 1);
	if (!buf) {
		fclose(f);
		snprintf(err, errlen, "%s:0: out of memory", path);
		return NULL;
	}
	len = fread(buf, 1, CONFIG_MAX_FILE_BYTES + 1, f);
	if (ferror(f) || len > CONFIG_MAX_FILE_BYTES) {
		snprintf(err, errlen, "%s:0: %s", path,
			 ferror(f) ? "read error" : "larger than 1 MiB: not a config file");
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	cfg = gw_config_parse(path, buf, len, err, errlen);
	free(buf);
	return cfg;
}

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

bool gw_config_transport_changed(const struct gw_config *a, const struct gw_config *b)
{
	if (a->n_collector_urls != b->n_collector_urls)
		return true;
	for (size_t i = 0; i < a->n_collector_urls; i++)
		if (!str_eq(a->collector_urls[i], b->collector_urls[i]))
			return true;
	return !str_eq(a->subject_prefix, b->subject_prefix) || !str_eq(a->tls_cert, b->tls_cert) ||
	       !str_eq(a->tls_key, b->tls_key) || !str_eq(a->tls_ca, b->tls_ca) ||
	       !str_eq(a->tls_server_name, b->tls_server_name) || !str_eq(a->host_id, b->host_id) ||
	       !str_eq(a->employee_id, b->employee_id) || !str_eq(a->spool_dir, b->spool_dir) ||
	       a->publish_timeout_ms != b->publish_timeout_ms ||
	       a->reconnect_min_ms != b->reconnect_min_ms ||
	       a->reconnect_max_ms != b->reconnect_max_ms ||
	       a->connect_timeout_ms != b->connect_timeout_ms;
}
