#include "batch_decode.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "strbuf.h"
#include "common/text.h"

static const char *const verdict_names[BATCH_VERDICT_COUNT] = {
	[BATCH_OK] = "ok",
	[BATCH_BAD_SUBJECT] = "bad_subject",
	[BATCH_TOO_LARGE] = "too_large",
	[BATCH_BAD_ZLIB] = "bad_zlib",
	[BATCH_INFLATE_CAP] = "inflate_cap",
	[BATCH_BAD_PROTOBUF] = "bad_protobuf",
	[BATCH_DECODE_MEMORY] = "decode_memory",
	[BATCH_NO_HOST] = "no_host",
	[BATCH_BAD_HOST_ID] = "bad_host_id",
	[BATCH_HOST_MISMATCH] = "host_mismatch",
	[BATCH_BAD_SEQ] = "bad_seq",
	[BATCH_BAD_MSG_ID] = "bad_msg_id",
	[BATCH_TOO_MANY_EVENTS] = "too_many_events",
	[BATCH_UNKNOWN_FIELD] = "unknown_field",
	[BATCH_DEAD_LETTER] = "dead_letter",
};

void batch_limits_default(struct batch_limits *lim)
{
	lim->max_compressed = 4u << 20;
	lim->max_inflated = 32u << 20;
	lim->max_decode_memory = 256u << 20;
	lim->max_events = 200000;
}

const char *batch_verdict_name(enum batch_verdict v)
{
	return v < BATCH_VERDICT_COUNT ? verdict_names[v] : "invalid";
}

enum batch_verdict batch_verdict_from_name(const char *name)
{
	for (int v = 0; v < BATCH_VERDICT_COUNT; v++)
		if (strcmp(verdict_names[v], name) == 0)
			return v;
	return BATCH_VERDICT_COUNT;
}

bool host_id_valid(const char *id, size_t len)
{
	if (len == 0 || len > GW_HOST_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

const char *subject_host_id(const char *subject)
{
	size_t plen = strlen(GW_SUBJECT_PREFIX);

	if (!subject || strncmp(subject, GW_SUBJECT_PREFIX, plen) != 0)
		return NULL;
	subject += plen;
	return host_id_valid(subject, strlen(subject)) ? subject : NULL;
}

static enum batch_verdict reject(enum batch_verdict v, char *detail, size_t detail_len,
				 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum batch_verdict reject(enum batch_verdict v, char *detail, size_t detail_len,
				 const char *fmt, ...)
{
	if (detail && detail_len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(detail, detail_len, fmt, ap);
		va_end(ap);
	}
	return v;
}

/* Inflates a complete zlib stream into out, never past out->max bytes. */
static enum batch_verdict inflate_capped(const void *data, size_t len, struct strbuf *out,
					 char *detail, size_t detail_len)
{
	z_stream zs;
	int rc;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit(&zs) != Z_OK)
		return reject(BATCH_BAD_ZLIB, detail, detail_len, "inflateInit failed");
	zs.next_in = (Bytef *)data;
	zs.avail_in = len > UINT32_MAX ? UINT32_MAX : (uInt)len;
	do {
		size_t want = out->len < 65536 ? 65536 : out->len;

		if (out->max && want > out->max - out->len)
			want = out->max - out->len;
		if (want == 0) {
			/* Output is at the cap: one more byte of output means it is over. */
			unsigned char probe;
			zs.next_out = &probe;
			zs.avail_out = 1;
			rc = inflate(&zs, Z_NO_FLUSH);
			if (zs.avail_out == 0) {
				inflateEnd(&zs);
				return reject(BATCH_INFLATE_CAP, detail, detail_len,
					      "inflates past %zu bytes (from %zu)", out->max, len);
			}
			break;
		}
		if (!strbuf_reserve(out, want)) {
			inflateEnd(&zs);
			return reject(BATCH_DECODE_MEMORY, detail, detail_len,
				      "no memory for %zu inflated bytes", out->len + want);
		}
		zs.next_out = (Bytef *)out->data + out->len;
		zs.avail_out = want;
		rc = inflate(&zs, Z_NO_FLUSH);
		out->len += want - zs.avail_out;
	} while (rc == Z_OK);
	inflateEnd(&zs);

	if (rc != Z_STREAM_END)
		return reject(BATCH_BAD_ZLIB, detail, detail_len, "zlib: %s after %zu bytes",
			      rc == Z_BUF_ERROR ? "truncated stream" : zs.msg ? zs.msg : "error",
			      out->len);
	if (zs.avail_in != 0)
		return reject(BATCH_BAD_ZLIB, detail, detail_len,
			      "%u trailing bytes after the zlib stream", zs.avail_in);
	return BATCH_OK;
}

/* protobuf-c allocator that refuses to hand out more than a budget: a small message can otherwise
 * expand (millions of empty repeated sub-messages) into far more memory than its size. */
struct budget_hdr {
	size_t size;
	max_align_t align;
};

#define HDR_SIZE offsetof(struct budget_hdr, align)

/* What a block really costs: our header, malloc's own header, and its 16-byte rounding. */
static size_t block_cost(size_t size)
{
	size_t n = HDR_SIZE + size + sizeof(size_t);

	return n < 32 ? 32 : (n + 15) & ~(size_t)15;
}

static void *budget_malloc(void *data, size_t size)
{
	struct batch_budget *b = data;
	struct budget_hdr *h;

	if (size > b->limit || block_cost(size) > b->limit - b->used) {
		b->refused = true;
		return NULL;
	}
	h = malloc(HDR_SIZE + size);
	if (!h)
		return NULL;
	h->size = size;
	b->used += block_cost(size);
	return (char *)h + HDR_SIZE;
}

static void budget_free(void *data, void *ptr)
{
	struct batch_budget *b = data;
	struct budget_hdr *h;

	if (!ptr)
		return;
	h = (struct budget_hdr *)((char *)ptr - HDR_SIZE);
	b->used -= block_cost(h->size);
	free(h);
}

void batch_budget_init(struct batch_budget *b, size_t limit)
{
	b->used = 0;
	b->limit = limit;
	b->refused = false;
}

/* Replaces *sp by its UTF-8-sanitized copy (invalid bytes -> U+FFFD) when it is not valid UTF-8:
 * protobuf-c does not check, and the NDJSON (and every SIEM after it) needs valid UTF-8. */
static bool sanitize_string(char **sp, ProtobufCAllocator *a)
{
	size_t len;
	char *clean;

	if (!*sp)
		return true;
	len = strlen(*sp);
	if (gw_utf8_valid(*sp, len))
		return true;
	clean = a->alloc(a->allocator_data, 3 * len + 1);
	if (!clean)
		return false;
	gw_utf8_sanitize(*sp, len, clean, 3 * len + 1);
	a->free(a->allocator_data, *sp);
	*sp = clean;
	return true;
}

/* Walks every string of msg, recursively, through the descriptors. */
static bool sanitize_message(ProtobufCMessage *msg, ProtobufCAllocator *a)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	char *base = (char *)msg;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		void *p = base + f->offset;
		size_t n = 1;

		if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		/* oneof members share a union: only the set one may be looked at */
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)(base + f->quantifier_offset);
			p = *(void **)p;
			if (!p)
				continue;
		}
		for (size_t j = 0; j < n; j++) {
			void **elem = (void **)p + j;
			if (f->type == PROTOBUF_C_TYPE_STRING) {
				if (!sanitize_string((char **)elem, a))
					return false;
			} else if (*elem && !sanitize_message(*elem, a)) {
				return false;
			}
		}
	}
	return true;
}

static bool read_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t byte;

		if (*pos >= len)
			return false;
		byte = p[(*pos)++];
		v |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

struct span {
	size_t off, len;
};

#define BATCH_EVENTS_FIELD 5	/* Batch.events */
#define MAX_NESTING 32
#define UNKNOWN_PER_EVENT 4
#define UNKNOWN_PER_BATCH 16

/*
 * Counts the fields of the serialized message (of type d), and of every message inside it, whose
 * number d does not know; *events counts the top level's `events`. protobuf-c keeps each unknown
 * field, one allocation each, so millions of them in a few KB are a memory attack. A malformed
 * encoding is left to protobuf-c to refuse.
 */
static void count_unknown(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len,
			  int depth, size_t *unknown, size_t *events)
{
	size_t pos = 0;

	while (pos < len) {
		const ProtobufCFieldDescriptor *f;
		uint64_t tag, n;

		if (!read_varint(p, len, &pos, &tag) || tag >> 3 == 0 || tag >> 3 > UINT32_MAX)
			return;
		f = protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3));
		if (!f)
			(*unknown)++;
		else if (depth == 0 && tag >> 3 == BATCH_EVENTS_FIELD)
			(*events)++;
		switch (tag & 7) {
		case 0:
			if (!read_varint(p, len, &pos, &n))
				return;
			break;
		case 1:
		case 5:
			n = (tag & 7) == 1 ? 8 : 4;
			if (len - pos < n)
				return;
			pos += n;
			break;
		case 2:
			if (!read_varint(p, len, &pos, &n) || n > len - pos)
				return;
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && depth < MAX_NESTING)
				count_unknown(f->descriptor, p + pos, n, depth + 1, unknown, events);
			pos += n;
			break;
		default:
			return;
		}
	}
}

/*
 * An agent a schema version apart sends a few fields this build does not know (a reserved or a
 * new one per event): tolerated. More than that is no schema drift.
 */
static bool too_many_unknown(const uint8_t *p, size_t len, size_t *unknown)
{
	size_t events = 0;

	*unknown = 0;
	count_unknown(&ghostwatch__v1__batch__descriptor, p, len, 0, unknown, &events);
	return *unknown > UNKNOWN_PER_EVENT * events + UNKNOWN_PER_BATCH;
}

/*
 * Unpacks a serialized Batch event by event: the top-level fields are walked by hand, every
 * field but `events` is unpacked as one Batch, and each event on its own. An event this build
 * cannot decode (corrupt, or written with an incompatible schema) costs that event, counted in
 * *bad_events, not the whole batch.
 */
static enum batch_verdict unpack_batch(ProtobufCAllocator *alloc, struct batch_budget *budget,
				       const uint8_t *p, size_t len, size_t max_events,
				       Ghostwatch__V1__Batch **out, size_t *bad_events,
				       char *detail, size_t detail_len)
{
	struct strbuf rest;
	struct span *events = NULL;
	size_t n_events = 0, cap = 0, pos = 0, bad = 0;
	Ghostwatch__V1__Batch *b = NULL;
	enum batch_verdict v = BATCH_OK;

	*out = NULL;
	strbuf_init(&rest, len);
	while (pos < len && v == BATCH_OK) {
		size_t start = pos, value_off;
		uint64_t tag, n = 0;

		if (!read_varint(p, len, &pos, &tag) || tag >> 3 == 0 || tag >> 3 > UINT32_MAX) {
			v = BATCH_BAD_PROTOBUF;
			break;
		}
		switch (tag & 7) {
		case 0:
			if (!read_varint(p, len, &pos, &n))
				v = BATCH_BAD_PROTOBUF;
			break;
		case 1:
		case 5:
			n = (tag & 7) == 1 ? 8 : 4;
			if (len - pos < n)
				v = BATCH_BAD_PROTOBUF;
			pos += n;
			break;
		case 2:
			if (!read_varint(p, len, &pos, &n) || n > len - pos) {
				v = BATCH_BAD_PROTOBUF;
				break;
			}
			value_off = pos;
			pos += n;
			if (tag >> 3 != BATCH_EVENTS_FIELD)
				break;
			if (n_events == max_events) {
				v = BATCH_TOO_MANY_EVENTS;
				break;
			}
			if (n_events == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct span *e = realloc(events, ncap * sizeof(*e));
				if (!e) {
					v = BATCH_DECODE_MEMORY;
					break;
				}
				events = e;
				cap = ncap;
			}
			events[n_events++] = (struct span){ value_off, n };
			continue;
		default:	/* groups (3, 4) do not exist in proto3; 6, 7 are not wire types */
			v = BATCH_BAD_PROTOBUF;
		}
		if (v == BATCH_OK && tag >> 3 == BATCH_EVENTS_FIELD)
			bad++;	/* events with the wrong wire type */
		else if (v == BATCH_OK)
			strbuf_append(&rest, p + start, pos - start);
	}
	if (v == BATCH_OK) {
		b = ghostwatch__v1__batch__unpack(alloc, rest.len, (const uint8_t *)rest.data);
		if (!b)
			v = budget->refused ? BATCH_DECODE_MEMORY : BATCH_BAD_PROTOBUF;
	}
	if (v == BATCH_OK && n_events) {
		b->events = alloc->alloc(alloc->allocator_data, n_events * sizeof(*b->events));
		if (!b->events)
			v = BATCH_DECODE_MEMORY;
		for (size_t i = 0; v == BATCH_OK && i < n_events; i++) {
			Ghostwatch__V1__Event *e = ghostwatch__v1__event__unpack(
				alloc, events[i].len, p + events[i].off);
			if (e)
				b->events[b->n_events++] = e;
			else if (budget->refused)
				v = BATCH_DECODE_MEMORY;
			else
				bad++;
		}
	}
	free(events);
	strbuf_free(&rest);
	if (v != BATCH_OK) {
		if (b)
			ghostwatch__v1__batch__free_unpacked(b, alloc);
		if (v == BATCH_TOO_MANY_EVENTS)
			return reject(v, detail, detail_len, "more than %zu events", max_events);
		if (v == BATCH_DECODE_MEMORY)
			return reject(v, detail, detail_len, "decoding needs more than the %zu "
				      "bytes left of %zu", budget->limit - budget->used, budget->limit);
		return reject(v, detail, detail_len, "%zu inflated bytes are not a Batch", len);
	}
	if (bad_events)
		*bad_events = bad;
	*out = b;
	return BATCH_OK;
}

/* <host>:<nonce>:<seq>, the nonce 1..32 letters and digits; or <host>:<seq> from older agents. */
static bool msg_id_matches(const char *id, const char *host, uint64_t seq)
{
	char tail[32];
	size_t hlen = strlen(host), ilen, tlen, nlen;

	if (!id || strncmp(id, host, hlen) != 0 || id[hlen] != ':')
		return false;
	id += hlen + 1;
	tlen = (size_t)snprintf(tail, sizeof(tail), "%" PRIu64, seq);
	if (strcmp(id, tail) == 0)
		return true;
	ilen = strlen(id);
	if (ilen < tlen + 2 || strcmp(id + ilen - tlen, tail) != 0 || id[ilen - tlen - 1] != ':')
		return false;
	nlen = ilen - tlen - 1;
	if (nlen > 32)
		return false;
	for (size_t i = 0; i < nlen; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'z') ||
		      (id[i] >= 'A' && id[i] <= 'Z')))
			return false;
	return true;
}

enum batch_verdict batch_decode(struct strbuf *scratch, const void *data, size_t len,
				const char *subject,
				const char *msg_id, bool check_msg_id,
				const struct batch_limits *lim, Ghostwatch__V1__Batch **out,
				struct batch_info *info, char *detail, size_t detail_len)
{
	struct batch_budget budget;

	batch_budget_init(&budget, lim->max_decode_memory);
	return batch_decode_in(&budget, scratch, data, len, subject, msg_id, check_msg_id, lim, out,
			       info, detail, detail_len);
}

enum batch_verdict batch_decode_in(struct batch_budget *budget, struct strbuf *scratch,
				   const void *data, size_t len, const char *subject,
				   const char *msg_id, bool check_msg_id,
				   const struct batch_limits *lim, Ghostwatch__V1__Batch **out,
				   struct batch_info *info, char *detail, size_t detail_len)
{
	struct strbuf own, *raw = scratch ? scratch : &own;
	ProtobufCAllocator alloc = { budget_malloc, budget_free, budget };
	size_t unknown;
	Ghostwatch__V1__Batch *b;
	enum batch_verdict v;
	const char *sub_host;

	*out = NULL;
	budget->refused = false;	/* whether this batch's decoding hit the limit */
	if (info)
		memset(info, 0, sizeof(*info));
	if (detail && detail_len)
		detail[0] = '\0';
	sub_host = subject_host_id(subject);
	if (!sub_host)
		return reject(BATCH_BAD_SUBJECT, detail, detail_len, "subject is not "
			      GW_SUBJECT_PREFIX "<host id>");
	if (len > lim->max_compressed)
		return reject(BATCH_TOO_LARGE, detail, detail_len, "%zu bytes compressed (cap %zu)",
			      len, lim->max_compressed);

	if (scratch)
		strbuf_reset(scratch);
	else
		strbuf_init(&own, 0);
	raw->max = lim->max_inflated;
	v = inflate_capped(data, len, raw, detail, detail_len);
	if (v != BATCH_OK) {
		if (!scratch)
			strbuf_free(&own);
		return v;
	}
	size_t raw_len = raw->len;
	if (info)
		info->inflated_len = raw_len;
	if (too_many_unknown((const uint8_t *)raw->data, raw_len, &unknown))
		v = reject(BATCH_UNKNOWN_FIELD, detail, detail_len,
			   "%zu fields this schema does not have, in %zu inflated bytes", unknown,
			   raw_len);
	else
		v = unpack_batch(&alloc, budget, (const uint8_t *)raw->data, raw_len,
				 lim->max_events, &b, info ? &info->bad_events : NULL, detail,
				 detail_len);
	if (!scratch)
		strbuf_free(&own);
	if (v != BATCH_OK)
		return v;

	if (!b->host)
		v = reject(BATCH_NO_HOST, detail, detail_len, "batch has no host identity");
	else if (!host_id_valid(b->host->host_id, strlen(b->host->host_id)))
		v = reject(BATCH_BAD_HOST_ID, detail, detail_len, "batch host_id is not a valid id");
	else if (strcmp(b->host->host_id, sub_host) != 0)
		v = reject(BATCH_HOST_MISMATCH, detail, detail_len,
			   "batch claims host '%s' on the subject of '%s'", b->host->host_id,
			   sub_host);
	else if (b->seq == 0)
		v = reject(BATCH_BAD_SEQ, detail, detail_len, "batch seq is 0");
	if (v == BATCH_OK && check_msg_id && !msg_id_matches(msg_id, b->host->host_id, b->seq))
		v = reject(BATCH_BAD_MSG_ID, detail, detail_len,
			   "Nats-Msg-Id is '%.80s', expected '%s:<nonce>:%" PRIu64 "'",
			   msg_id ? msg_id : "", b->host->host_id, b->seq);
	if (v == BATCH_OK && !sanitize_message(&b->base, &alloc))
		v = reject(BATCH_DECODE_MEMORY, detail, detail_len,
			   "sanitizing strings needs more than %zu bytes", budget->limit);
	if (v != BATCH_OK) {
		ghostwatch__v1__batch__free_unpacked(b, &alloc);
		return v;
	}
	*out = b;
	return BATCH_OK;
}

void batch_free_in(struct batch_budget *budget, Ghostwatch__V1__Batch *batch)
{
	ProtobufCAllocator alloc = { budget_malloc, budget_free, budget };

	if (batch)
		ghostwatch__v1__batch__free_unpacked(batch, &alloc);
}

void batch_free(Ghostwatch__V1__Batch *batch)
{
	/* Every block carries budget_malloc's size header, so it must go back through budget_free;
	 * the decode's budget is gone by now and nothing reads this one. */
	struct batch_budget spent = { SIZE_MAX / 2, SIZE_MAX, false };

	batch_free_in(&spent, batch);
}
