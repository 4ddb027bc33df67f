#include "fleet_state.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector_state.pb-c.h"

#define STATE_VERSION 1
/* A state file larger than this is not one the collector wrote. */
#define STATE_MAX_BYTES (1u << 30)

/*
 * The messages of one host point into these arrays, which live until the file is written; the
 * strings point into the view itself.
 */
struct host_msgs {
	Ghostwatch__V1__FleetHostState host;
	Ghostwatch__V1__FleetSeqRange *ranges;
	Ghostwatch__V1__FleetSeqRange **range_ptrs;
	Ghostwatch__V1__FleetTypeCount types[FLEET_MAX_TYPES];
	Ghostwatch__V1__FleetTypeCount *type_ptrs[FLEET_MAX_TYPES];
	Ghostwatch__V1__FleetFindingState findings[FLEET_MAX_FINDINGS];
	Ghostwatch__V1__FleetFindingState *finding_ptrs[FLEET_MAX_FINDINGS];
	char *devices[FLEET_MAX_DEVICES];
	Ghostwatch__V1__FleetTamperState tamper;
};

static char *str_or_empty(char *s)
{
	return s ? s : (char *)"";
}

static int host_to_msg(const struct fleet_host *h, struct host_msgs *m)
{
	Ghostwatch__V1__FleetHostState *p = &m->host;

	ghostwatch__v1__fleet_host_state__init(p);
	p->id = (char *)h->id;
	p->first_seen_ns = h->first_seen_ns;
	p->last_seen_ns = h->last_seen_ns;
	p->hostname = str_or_empty(h->hostname);
	p->machine_id = str_or_empty(h->machine_id);
	p->boot_id = str_or_empty(h->boot_id);
	p->agent_version = str_or_empty(h->agent_version);
	p->kernel_release = str_or_empty(h->kernel_release);
	p->cert_identity = str_or_empty(h->cert_identity);
	p->max_window_end_ns = h->max_window_end_ns;
	p->seq_resets = h->seq_resets;
	p->first_range_folded = h->first_range_folded;
	p->bad_events = h->bad_events;
	p->batches = h->batches;
	p->repeats = h->repeats;
	p->events = h->events;
	p->rejected = h->rejected;
	p->gaps_folded = h->gaps_folded;
	p->spool_dropped_batches = h->spool_dropped_batches;
	p->spool_dropped_events = h->spool_dropped_events;
	p->agent_drops = h->agent_drops;
	p->has_score = h->has_score;
	p->fraud_score = h->fraud_score;
	p->fraud_score_ns = h->fraud_score_ns;
	p->findings_dropped = h->findings_dropped;
	p->devices_dropped = h->devices_dropped;

	m->ranges = calloc(h->n_ranges + 1, sizeof(*m->ranges));
	m->range_ptrs = calloc(h->n_ranges + 1, sizeof(*m->range_ptrs));
	if (!m->ranges || !m->range_ptrs)
		return -ENOMEM;
	for (size_t i = 0; i < h->n_ranges; i++) {
		ghostwatch__v1__fleet_seq_range__init(&m->ranges[i]);
		m->ranges[i].lo = h->ranges[i].lo;
		m->ranges[i].hi = h->ranges[i].hi;
		m->range_ptrs[i] = &m->ranges[i];
	}
	p->ranges = m->range_ptrs;
	p->n_ranges = h->n_ranges;
	for (size_t i = 0; i < h->n_types; i++) {
		ghostwatch__v1__fleet_type_count__init(&m->types[i]);
		m->types[i].name = (char *)h->types[i].name;
		m->types[i].count = h->types[i].count;
		m->type_ptrs[i] = &m->types[i];
	}
	p->types = m->type_ptrs;
	p->n_types = h->n_types;
	for (size_t i = 0; i < h->n_findings; i++) {
		ghostwatch__v1__fleet_finding_state__init(&m->findings[i]);
		m->findings[i].rule_id = (char *)h->findings[i].rule_id;
		m->findings[i].severity = (char *)h->findings[i].severity;
		m->findings[i].count = h->findings[i].count;
		m->finding_ptrs[i] = &m->findings[i];
	}
	p->findings = m->finding_ptrs;
	p->n_findings = h->n_findings;
	for (size_t i = 0; i < h->n_devices; i++)
		m->devices[i] = (char *)h->devices[i];
	p->devices = m->devices;
	p->n_devices = h->n_devices;
	tamper_to_msg(&h->tamper, &m->tamper);
	p->tamper = &m->tamper;
	return 0;
}

/* The view as one packed FleetState in *out (malloc'd); 0 or -ENOMEM. */
static int pack_view(const struct fleet_view *v, uint8_t **out, size_t *out_len)
{
	Ghostwatch__V1__FleetState st = GHOSTWATCH__V1__FLEET_STATE__INIT;
	Ghostwatch__V1__FleetRejectCount rej[BATCH_VERDICT_COUNT], *rej_ptrs[BATCH_VERDICT_COUNT];
	size_t n_hosts = HASH_COUNT(v->hosts), i = 0;
	struct host_msgs *hosts = calloc(n_hosts + 1, sizeof(*hosts));
	Ghostwatch__V1__FleetHostState **host_ptrs = calloc(n_hosts + 1, sizeof(*host_ptrs));
	const struct fleet_host *h;
	int rc = hosts && host_ptrs ? 0 : -ENOMEM;

	st.version = STATE_VERSION;
	st.batches = v->batches;
	st.events = v->events;
	st.repeats = v->repeats;
	st.unknown_events = v->unknown_events;
	st.bad_events = v->bad_events;
	for (int r = 1; r < BATCH_VERDICT_COUNT; r++) {
		if (!v->rejected[r])
			continue;
		ghostwatch__v1__fleet_reject_count__init(&rej[st.n_rejected]);
		rej[st.n_rejected].verdict = (char *)batch_verdict_name(r);
		rej[st.n_rejected].count = v->rejected[r];
		rej_ptrs[st.n_rejected] = &rej[st.n_rejected];
		st.n_rejected++;
	}
	st.rejected = rej_ptrs;
	for (h = v->hosts; h && !rc; h = h->hh.next, i++) {
		rc = host_to_msg(h, &hosts[i]);
		host_ptrs[i] = &hosts[i].host;
	}
	st.hosts = host_ptrs;
	st.n_hosts = n_hosts;
	if (!rc) {
		*out_len = ghostwatch__v1__fleet_state__get_packed_size(&st);
		*out = malloc(*out_len ? *out_len : 1);
		if (*out)
			ghostwatch__v1__fleet_state__pack(&st, *out);
		else
			rc = -ENOMEM;
	}
	for (i = 0; hosts && i < n_hosts; i++) {
		free(hosts[i].ranges);
		free(hosts[i].range_ptrs);
	}
	free(hosts);
	free(host_ptrs);
	return rc;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* After a rename the new name is durable only once its directory is. */
static int fsync_parent(const char *path)
{
	char copy[4096];
	int fd, rc = 0;

	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return -ENAMETOOLONG;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

int fleet_state_save(const struct fleet_view *v, const char *path)
{
	char tmp[4096];
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd, e;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	e = pack_view(v, &buf, &len);
	if (e)
		return e;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		e = -errno;
		free(buf);
		return e;
	}
	e = write_all(fd, buf, len);
	free(buf);
	if (!e && fsync(fd) != 0)
		e = -errno;
	if (close(fd) != 0 && !e)
		e = -errno;
	if (!e && rename(tmp, path) != 0)
		e = -errno;
	if (e) {
		unlink(tmp);
		return e;
	}
	return fsync_parent(path);
}

static int read_file(const char *path, uint8_t **out, size_t *out_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t got = 0;
	uint8_t *buf;
	int e;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > STATE_MAX_BYTES) {
		close(fd);
		return -EINVAL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? -errno : -EINVAL;
			free(buf);
			close(fd);
			return e;
		}
		got += (size_t)n;
	}
	close(fd);
	*out = buf;
	*out_len = got;
	return 0;
}

/* Identity strings come from the file that saw the host last. */
static void merge_str(char **dst, const char *src, bool newer)
{
	if (!*dst || !**dst || newer)
		fleet_set_str(dst, src);
}

static bool merge_host(struct fleet_view *v, const Ghostwatch__V1__FleetHostState *p)
{
	struct fleet_host *h;
	uint64_t overlap = 0;
	bool newer;

	if (!host_id_valid(p->id, strlen(p->id)))
		return false;
	for (size_t i = 0; i < p->n_ranges; i++)
		if (!p->ranges[i]->lo || p->ranges[i]->lo > p->ranges[i]->hi)
			return false;
	h = fleet_view_host(v, p->id);
	if (!h)
		return false;
	if (p->first_seen_ns && (!h->first_seen_ns || p->first_seen_ns < h->first_seen_ns))
		h->first_seen_ns = p->first_seen_ns;
	newer = p->last_seen_ns >= h->last_seen_ns;
	if (newer)
		h->last_seen_ns = p->last_seen_ns;
	merge_str(&h->hostname, p->hostname, newer);
	merge_str(&h->machine_id, p->machine_id, newer);
	merge_str(&h->boot_id, p->boot_id, newer);
	merge_str(&h->agent_version, p->agent_version, newer);
	merge_str(&h->kernel_release, p->kernel_release, newer);
	merge_str(&h->cert_identity, p->cert_identity, newer);
	if (p->max_window_end_ns > h->max_window_end_ns)
		h->max_window_end_ns = p->max_window_end_ns;
	if (p->seq_resets > h->seq_resets)
		h->seq_resets = p->seq_resets; /* every collector sees the same restarts */
	h->first_range_folded |= p->first_range_folded;
	h->bad_events += p->bad_events;
	h->batches += p->batches;
	h->repeats += p->repeats;
	h->events += p->events;
	h->rejected += p->rejected;
	h->gaps_folded += p->gaps_folded;
	h->spool_dropped_batches += p->spool_dropped_batches;
	h->spool_dropped_events += p->spool_dropped_events;
	if (newer)
		h->agent_drops = p->agent_drops;
	for (size_t i = 0; i < p->n_ranges; i++)
		overlap += fleet_host_add_range(h, p->ranges[i]->lo, p->ranges[i]->hi);
	for (size_t i = 0; i < p->n_types; i++)
		fleet_host_add_type(h, p->types[i]->name, p->types[i]->count);
	if (p->has_score)
		fleet_host_set_score(h, p->fraud_score, p->fraud_score_ns);
	h->findings_dropped += p->findings_dropped;
	for (size_t i = 0; i < p->n_findings; i++)
		fleet_host_add_finding(h, p->findings[i]->rule_id, p->findings[i]->severity,
				       p->findings[i]->count);
	h->devices_dropped += p->devices_dropped;
	for (size_t i = 0; i < p->n_devices; i++)
		fleet_host_add_device(h, p->devices[i]);
	if (p->tamper)
		tamper_merge(&h->tamper, p->tamper);
	/* The same seq held by two state files (two collectors both got it) is a repeat too. */
	h->repeats += overlap;
	v->repeats += overlap;
	return true;
}

int fleet_state_load(struct fleet_view *v, const char *path)
{
	Ghostwatch__V1__FleetState *st;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = read_file(path, &buf, &len);

	if (rc)
		return rc;
	st = ghostwatch__v1__fleet_state__unpack(NULL, len, buf);
	free(buf);
	if (!st || st->version != STATE_VERSION) {
		if (st)
			ghostwatch__v1__fleet_state__free_unpacked(st, NULL);
		return -EINVAL;
	}
	v->batches += st->batches;
	v->events += st->events;
	v->repeats += st->repeats;
	v->unknown_events += st->unknown_events;
	v->bad_events += st->bad_events;
	for (size_t i = 0; i < st->n_rejected; i++) {
		enum batch_verdict r = batch_verdict_from_name(st->rejected[i]->verdict);

		if (r < BATCH_VERDICT_COUNT)
			v->rejected[r] += st->rejected[i]->count;
	}
	for (size_t i = 0; i < st->n_hosts && !rc; i++)
		if (!merge_host(v, st->hosts[i]))
			rc = -EINVAL;
	ghostwatch__v1__fleet_state__free_unpacked(st, NULL);
	return rc;
}
