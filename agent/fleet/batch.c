/* batch.c - host identity, batch drafts, Batch encoding (protobuf-c + zlib) and decoding. */
#include "batch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <zlib.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#ifndef GW_VERSION
#define GW_VERSION "0.0.0"
#endif

#define FIELD_EVENTS 5
#define FIELD_STATS 6
#define FIELD_FRAUD_SCORE 40
#define FIELD_PLACE 10
#define FIELD_ACTIVITY_PROFILE 11
#define WIRE_LEN 2

/* Room kept for the header fields and stats when deciding a draft is full. */
#define HEADER_RESERVE (16u << 10)

/* ---- host identity ------------------------------------------------------------------------ */

/* First line of a small file, trimmed; 0 or -1. */
static int read_line(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -1;
	if (!fgets(out, (int)outlen, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	n = strcspn(out, "\r\n");
	out[n] = '\0';
	return n ? 0 : -1;
}

static bool is_hex_id(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 32;
}

int gw_cert_subject_cn(const char *cert_path, char *out, size_t outlen, char *err, size_t errlen)
{
	FILE *f = fopen(cert_path, "re");
	X509 *cert;
	X509_NAME *name;
	int idx;
	unsigned char *utf8 = NULL;
	int n;

	if (!f) {
		snprintf(err, errlen, "certificate %s: %s", cert_path, strerror(errno));
		return -1;
	}
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!cert) {
		snprintf(err, errlen, "certificate %s: not a PEM X.509 certificate", cert_path);
		return -1;
	}
	name = X509_get_subject_name(cert);
	idx = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
	n = idx >= 0 ? ASN1_STRING_to_UTF8(&utf8,
					    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)))
		     : -1;
	X509_free(cert);
	if (n <= 0) {
		snprintf(err, errlen, "certificate %s: subject has no common name (CN)", cert_path);
		return -1;
	}
	if ((size_t)n >= outlen || memchr(utf8, '\0', (size_t)n)) {
		OPENSSL_free(utf8);
		snprintf(err, errlen, "certificate %s: subject CN is too long or holds a NUL",
			 cert_path);
		return -1;
	}
	memcpy(out, utf8, (size_t)n);
	out[n] = '\0';
	OPENSSL_free(utf8);
	return 0;
}

int gw_host_identity_load(struct gw_host_identity *h, const char *host_id_override,
			  const char *cert_path, char *err, size_t errlen)
{
	struct utsname u;

	memset(h, 0, sizeof(*h));
	if (read_line("/etc/machine-id", h->machine_id, sizeof(h->machine_id)) &&
	    read_line("/var/lib/dbus/machine-id", h->machine_id, sizeof(h->machine_id))) {
		snprintf(err, errlen, "cannot read /etc/machine-id (run systemd-machine-id-setup)");
		return -1;
	}
	if (!is_hex_id(h->machine_id) && !(host_id_override && *host_id_override)) {
		snprintf(err, errlen,
			 "/etc/machine-id is not 32 lowercase hex digits; set host_id in the config");
		return -1;
	}
	snprintf(h->host_id, sizeof(h->host_id), "%s",
		 host_id_override && *host_id_override ? host_id_override : h->machine_id);
	if (read_line("/proc/sys/kernel/random/boot_id", h->boot_id, sizeof(h->boot_id)))
		snprintf(h->boot_id, sizeof(h->boot_id), "unknown");
	if (uname(&u) == 0) {
		snprintf(h->hostname, sizeof(h->hostname), "%s", u.nodename);
		snprintf(h->kernel_release, sizeof(h->kernel_release), "%s", u.release);
	}
	snprintf(h->agent_version, sizeof(h->agent_version), "%s", GW_VERSION);
	return gw_cert_subject_cn(cert_path, h->cert_identity, sizeof(h->cert_identity), err,
				  errlen);
}

void gw_host_identity_to_pb(const struct gw_host_identity *h, Ghostwatch__V1__HostIdentity *pb)
{
	ghostwatch__v1__host_identity__init(pb);
	pb->host_id = (char *)h->host_id;
	pb->machine_id = (char *)h->machine_id;
	pb->hostname = (char *)h->hostname;
	pb->boot_id = (char *)h->boot_id;
	pb->agent_version = (char *)h->agent_version;
	pb->kernel_release = (char *)h->kernel_release;
	pb->cert_identity = (char *)h->cert_identity;
	pb->employee_id = (char *)h->employee_id;
	pb->employee_timezone = (char *)h->employee_timezone;
	pb->agent_start_ns = h->agent_start_ns;
	pb->boot_time_ns = h->boot_time_ns;
}

/* ---- drafts ------------------------------------------------------------------------------- */

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static size_t put_len_field_header(uint8_t *p, unsigned field, size_t len)
{
	size_t n = put_varint(p, (uint64_t)field << 3 | WIRE_LEN);

	return n + put_varint(p + n, len);
}

void gw_batch_builder_init(struct gw_batch_builder *b, uint32_t max_events, uint64_t start_ns)
{
	memset(b, 0, sizeof(*b));
	b->max_events = max_events ? max_events : 1;
	b->window_start_ns = start_ns;
}

void gw_batch_builder_free(struct gw_batch_builder *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

int gw_batch_add(struct gw_batch_builder *b, const Ghostwatch__V1__Event *ev)
{
	size_t size = ghostwatch__v1__event__get_packed_size(ev);
	size_t need = 1 + varint_len(size) + size;
	const size_t limit = GW_BATCH_MAX_RAW_BYTES - HEADER_RESERVE;

	if (need > limit)
		return -E2BIG;
	if (b->n_events >= b->max_events || b->len + need > limit)
		return 1;
	if (b->len + need > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		uint8_t *p;

		while (cap < b->len + need)
			cap *= 2;
		p = realloc(b->buf, cap);
		if (!p)
			return -ENOMEM;
		b->buf = p;
		b->cap = cap;
	}
	b->len += put_len_field_header(b->buf + b->len, FIELD_EVENTS, size);
	b->len += ghostwatch__v1__event__pack(ev, b->buf + b->len);
	b->n_events++;
	return 0;
}

struct gw_batch_draft *gw_batch_cut(struct gw_batch_builder *b, uint64_t end_ns,
				    const Ghostwatch__V1__AgentStats *stats)
{
	struct gw_batch_draft *d = calloc(1, sizeof(*d));
	uint32_t max_events = b->max_events;

	if (d && stats) {
		size_t size = ghostwatch__v1__agent_stats__get_packed_size(stats);

		d->stats = malloc(1 + varint_len(size) + size);
		if (d->stats) {
			d->stats_len = put_len_field_header(d->stats, FIELD_STATS, size);
			d->stats_len += ghostwatch__v1__agent_stats__pack(stats, d->stats + d->stats_len);
		} else {
			free(d);
			d = NULL;
		}
	}
	if (d) {
		d->events = b->buf;
		d->events_len = b->len;
		d->n_events = b->n_events;
		d->window_start_ns = b->window_start_ns;
		d->window_end_ns = end_ns;
	} else {
		free(b->buf);
	}
	gw_batch_builder_init(b, max_events, end_ns);
	return d;
}

int gw_batch_draft_set_score(struct gw_batch_draft *d, const Ghostwatch__V1__FraudScore *score)
{
	size_t size = ghostwatch__v1__fraud_score__get_packed_size(score);
	uint8_t *p = malloc(2 + varint_len(size) + size); /* field 40: a two-byte tag */

	if (!p)
		return -ENOMEM;
	free(d->score);
	d->score = p;
	d->score_len = put_len_field_header(p, FIELD_FRAUD_SCORE, size);
	d->score_len += ghostwatch__v1__fraud_score__pack(score, p + d->score_len);
	return 0;
}

int gw_batch_draft_set_profile(struct gw_batch_draft *d,
			       const Ghostwatch__V1__ActivityProfile *profile)
{
	size_t size = ghostwatch__v1__activity_profile__get_packed_size(profile);
	uint8_t *p = malloc(1 + varint_len(size) + size);

	if (!p)
		return -ENOMEM;
	free(d->profile);
	d->profile = p;
	d->profile_len = put_len_field_header(p, FIELD_ACTIVITY_PROFILE, size);
	d->profile_len += ghostwatch__v1__activity_profile__pack(profile, p + d->profile_len);
	return 0;
}

int gw_batch_draft_set_place(struct gw_batch_draft *d, const uint8_t *place, size_t len)
{
	uint8_t *p = malloc(1 + varint_len(len) + len);

	if (!p)
		return -ENOMEM;
	free(d->place);
	d->place = p;
	d->place_len = put_len_field_header(p, FIELD_PLACE, len);
	memcpy(p + d->place_len, place, len);
	d->place_len += len;
	return 0;
}

int gw_batch_compact_place(const Ghostwatch__V1__Place *p, uint8_t **out, size_t *len)
{
	Ghostwatch__V1__Place c = *p;

	c.n_neighbour_hashes = 0;
	c.neighbour_hashes = NULL;
	c.changed_by = NULL;
	c.change = (char *)"";
	*len = ghostwatch__v1__place__get_packed_size(&c);
	*out = malloc(*len ? *len : 1);
	if (!*out)
		return -ENOMEM;
	ghostwatch__v1__place__pack(&c, *out);
	return 0;
}

void gw_batch_draft_free(struct gw_batch_draft *d)
{
	if (!d)
		return;
	free(d->place);
	free(d->events);
	free(d->stats);
	free(d->score);
	free(d->profile);
	free(d);
}

/* ---- encode / decode ---------------------------------------------------------------------- */

int gw_batch_encode(const struct gw_batch_draft *d, const Ghostwatch__V1__HostIdentity *host,
		    uint64_t seq, const Ghostwatch__V1__SpoolState *spool, int zlib_level,
		    uint8_t **out, size_t *out_len, size_t *raw_len)
{
	Ghostwatch__V1__Batch head = GHOSTWATCH__V1__BATCH__INIT;
	size_t head_len, raw_size;
	uint8_t *raw, *z;
	uLongf z_len;
	int rc;

	head.host = (Ghostwatch__V1__HostIdentity *)host;
	head.seq = seq;
	head.window_start_ns = d->window_start_ns;
	head.window_end_ns = d->window_end_ns;
	head.spool = (Ghostwatch__V1__SpoolState *)spool;
	head_len = ghostwatch__v1__batch__get_packed_size(&head);
	raw_size = head_len + d->events_len + d->stats_len + d->score_len + d->place_len +
		   d->profile_len;
	raw = malloc(raw_size ? raw_size : 1);
	if (!raw)
		return -ENOMEM;
	ghostwatch__v1__batch__pack(&head, raw);
	if (d->events_len)
		memcpy(raw + head_len, d->events, d->events_len);
	if (d->stats_len)
		memcpy(raw + head_len + d->events_len, d->stats, d->stats_len);
	if (d->score_len)
		memcpy(raw + head_len + d->events_len + d->stats_len, d->score, d->score_len);
	if (d->place_len)
		memcpy(raw + head_len + d->events_len + d->stats_len + d->score_len, d->place,
		       d->place_len);
	if (d->profile_len)
		memcpy(raw + raw_size - d->profile_len, d->profile, d->profile_len);

	z_len = compressBound(raw_size);
	z = malloc(z_len);
	if (!z) {
		free(raw);
		return -ENOMEM;
	}
	rc = compress2(z, &z_len, raw, raw_size, zlib_level);
	free(raw);
	if (rc != Z_OK) {
		free(z);
		return rc == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
	}
	*out = z;
	*out_len = z_len;
	if (raw_len)
		*raw_len = raw_size;
	return 0;
}

Ghostwatch__V1__Batch *gw_batch_decode(const uint8_t *data, size_t len, size_t max_inflated,
				       char *err, size_t errlen)
{
	z_stream zs = { 0 };
	size_t cap = len * 4 < 65536 ? 65536 : len * 4, used = 0;
	uint8_t *buf;
	Ghostwatch__V1__Batch *b;
	int rc;

	if (cap > max_inflated)
		cap = max_inflated;
	buf = malloc(cap ? cap : 1);
	if (!buf || inflateInit(&zs) != Z_OK) {
		free(buf);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	zs.next_in = (Bytef *)data;
	zs.avail_in = (uInt)len;
	for (;;) {
		if (used == cap) {
			size_t ncap = cap * 2 > max_inflated ? max_inflated : cap * 2;
			uint8_t *p;

			if (ncap == cap) {
				snprintf(err, errlen, "inflates beyond %zu bytes", max_inflated);
				goto fail;
			}
			p = realloc(buf, ncap);
			if (!p) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			buf = p;
			cap = ncap;
		}
		zs.next_out = buf + used;
		zs.avail_out = (uInt)(cap - used);
		rc = inflate(&zs, Z_NO_FLUSH);
		used = cap - zs.avail_out;
		if (rc == Z_STREAM_END)
			break;
		if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
			snprintf(err, errlen, "truncated zlib stream");
			goto fail;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			snprintf(err, errlen, "bad zlib stream: %s", zs.msg ? zs.msg : "error");
			goto fail;
		}
	}
	if (zs.avail_in != 0) {
		snprintf(err, errlen, "%u bytes of trailing garbage after the zlib stream",
			 zs.avail_in);
		goto fail;
	}
	inflateEnd(&zs);
	b = ghostwatch__v1__batch__unpack(NULL, used, buf);
	free(buf);
	if (!b)
		snprintf(err, errlen, "not a valid ghostwatch.v1.Batch protobuf");
	return b;
fail:
	inflateEnd(&zs);
	free(buf);
	return NULL;
}
