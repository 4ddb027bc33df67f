#include "dns_parse.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Decode the (possibly compressed) name at msg[off]. *next is where the record continues: after the
 * terminating zero, or after the first pointer. Loop-proof because every pointer must point below
 * the previous pointer's target (or the name's start), so targets strictly decrease; the jump cap
 * bounds the work anyway. *sanitized is set when a byte had to be replaced.
 */
static enum dns_result read_name(const uint8_t *msg, size_t len, size_t off, char *out,
				 size_t *next, bool *sanitized)
{
	size_t pos = off, limit = off, out_len = 0, wire_len = 0;
	unsigned int jumps = 0;
	bool jumped = false;

	*sanitized = false;
	for (;;) {
		if (pos >= len)
			return DNS_ERR_TRUNCATED;
		uint8_t c = msg[pos];

		if (c == 0) {
			if (!jumped)
				*next = pos + 1;
			break;
		}
		if ((c & 0xc0) == 0xc0) {
			if (pos + 1 >= len)
				return DNS_ERR_TRUNCATED;
			size_t target = (size_t)(c & 0x3f) << 8 | msg[pos + 1];

			if (target >= limit || ++jumps > DNS_MAX_POINTER_JUMPS)
				return DNS_ERR_POINTER_LOOP;
			if (!jumped)
				*next = pos + 2;
			jumped = true;
			limit = target;
			pos = target;
			continue;
		}
		if (c & 0xc0)
			return DNS_ERR_LABEL_TYPE;
		/* c <= 63 here: the two top bits are clear */
		wire_len += 1u + c;
		if (wire_len + 1 > DNS_WIRE_NAME_MAX)
			return DNS_ERR_NAME_TOO_LONG;
		if (pos + 1 + c > len)
			return DNS_ERR_TRUNCATED;
		if (out_len)
			out[out_len++] = '.';
		for (size_t i = 0; i < c; i++) {
			uint8_t b = msg[pos + 1 + i];

			if (b >= 'A' && b <= 'Z')
				b = (uint8_t)(b - 'A' + 'a');
			else if (b < 0x21 || b > 0x7e || b == '.') {
				b = '?';
				*sanitized = true;
			}
			out[out_len++] = (char)b;
		}
		pos += 1u + c;
	}
	/* wire_len + 1 <= 255 keeps the presentation form within DNS_NAME_MAX */
	out[out_len] = '\0';
	return DNS_OK;
}

struct cname {
	char owner[DNS_NAME_MAX + 1];
	char target[DNS_NAME_MAX + 1];
};

struct answer_addr {
	char owner[DNS_NAME_MAX + 1];
	struct dns_addr addr;
};

/* Scratch for one message: too large for comfort on a small stack, and the parser is reentrant. */
struct parse_scratch {
	struct cname cnames[DNS_MAX_CNAMES];
	size_t n_cnames;
	struct answer_addr addrs[DNS_MAX_RECORDS];
	size_t n_addrs;
	char chain[DNS_MAX_CHAIN + 1][DNS_NAME_MAX + 1];
	size_t chain_len;
};

static bool on_chain(const struct parse_scratch *s, const char *name)
{
	for (size_t i = 0; i < s->chain_len; i++)
		if (strcmp(s->chain[i], name) == 0)
			return true;
	return false;
}

/* qname, then each CNAME target in turn, stopping at a repeat or after DNS_MAX_CHAIN hops. */
static void build_chain(struct parse_scratch *s, const char *qname)
{
	strcpy(s->chain[0], qname);
	s->chain_len = 1;
	while (s->chain_len <= DNS_MAX_CHAIN) {
		const char *cur = s->chain[s->chain_len - 1], *next = NULL;

		for (size_t i = 0; i < s->n_cnames; i++) {
			if (strcmp(s->cnames[i].owner, cur) == 0) {
				next = s->cnames[i].target;
				break;
			}
		}
		if (!next || on_chain(s, next))
			return;
		strcpy(s->chain[s->chain_len++], next);
	}
}

static void resolve_addrs(struct parse_scratch *s, struct dns_response *out)
{
	build_chain(s, out->qname);
	for (size_t i = 0; i < s->n_addrs; i++) {
		if (!on_chain(s, s->addrs[i].owner)) {
			out->unrelated_addrs++;
			continue;
		}
		if (out->n_addrs == DNS_MAX_ADDRS) {
			out->addrs_dropped++;
			continue;
		}
		out->addrs[out->n_addrs++] = s->addrs[i].addr;
	}
}

static enum dns_result parse_answers(const uint8_t *msg, size_t len, size_t pos, unsigned int ancount,
				     struct parse_scratch *s, struct dns_response *out)
{
	char owner[DNS_NAME_MAX + 1];
	bool sanitized;

	if (ancount > DNS_MAX_RECORDS)
		ancount = DNS_MAX_RECORDS;
	for (unsigned int i = 0; i < ancount; i++) {
		size_t next;
		enum dns_result r = read_name(msg, len, pos, owner, &next, &sanitized);

		if (r != DNS_OK)
			return r;
		out->names_sanitized += sanitized;
		pos = next;
		if (len - pos < 10)
			return DNS_ERR_TRUNCATED;
		uint16_t type = rd16(msg + pos), klass = rd16(msg + pos + 2);
		uint32_t ttl = rd32(msg + pos + 4);
		uint16_t rdlen = rd16(msg + pos + 8);

		pos += 10;
		if (len - pos < rdlen)
			return DNS_ERR_TRUNCATED;
		if (ttl > INT32_MAX) /* RFC 2181 8: a TTL with the top bit set means zero */
			ttl = 0;
		if (klass != DNS_CLASS_IN) {
			pos += rdlen;
			continue;
		}
		if (type == DNS_TYPE_A || type == DNS_TYPE_AAAA) {
			if (rdlen != (type == DNS_TYPE_A ? 4 : 16))
				return DNS_ERR_BAD_RDATA;
			struct answer_addr *a = &s->addrs[s->n_addrs++];

			strcpy(a->owner, owner);
			if (type == DNS_TYPE_A)
				gw_ip_from_v4(&a->addr.ip, msg + pos);
			else
				gw_ip_from_v6(&a->addr.ip, msg + pos);
			a->addr.ttl_s = ttl;
		} else if (type == DNS_TYPE_CNAME && s->n_cnames < DNS_MAX_CNAMES) {
			struct cname *c = &s->cnames[s->n_cnames];
			size_t end;

			/* the target may point back into the message; its own bytes stay in rdata */
			r = read_name(msg, pos + rdlen, pos, c->target, &end, &sanitized);
			if (r == DNS_ERR_TRUNCATED)
				return DNS_ERR_BAD_RDATA;
			if (r != DNS_OK)
				return r;
			out->names_sanitized += sanitized;
			strcpy(c->owner, owner);
			s->n_cnames++;
		}
		pos += rdlen;
	}
	return DNS_OK;
}

/* The header both directions carry: QR set for an answer (`response`), clear for a question;
 * opcode QUERY; exactly one question. */
static enum dns_result check_header(const uint8_t *msg, size_t len, bool response)
{
	uint16_t flags;

	if (len < DNS_HEADER_LEN)
		return DNS_ERR_TRUNCATED;
	flags = rd16(msg + 2);
	if (((flags & 0x8000) != 0) != response || ((flags >> 11) & 0xf) != 0)
		return DNS_ERR_NOT_RESPONSE;
	if (rd16(msg + 4) != 1)
		return DNS_ERR_NO_QUESTION;
	return DNS_OK;
}

enum dns_result dns_parse_response(const uint8_t *msg, size_t len, struct dns_response *out)
{
	struct parse_scratch s;
	bool sanitized;
	size_t pos;
	enum dns_result r;

	memset(out, 0, sizeof(*out));
	r = check_header(msg, len, true);
	if (r != DNS_OK)
		return r;
	out->id = rd16(msg);
	out->rcode = rd16(msg + 2) & 0xf;
	r = read_name(msg, len, DNS_HEADER_LEN, out->qname, &pos, &sanitized);
	if (r != DNS_OK)
		return r;
	out->names_sanitized += sanitized;
	if (len - pos < 4)
		return DNS_ERR_TRUNCATED;
	out->qtype = rd16(msg + pos);
	pos += 4;

	s.n_cnames = 0;
	s.n_addrs = 0;
	r = parse_answers(msg, len, pos, rd16(msg + 6), &s, out);
	if (r != DNS_OK && r != DNS_ERR_TRUNCATED)
		return r;
	resolve_addrs(&s, out);
	return r;
}

enum dns_result dns_parse_tcp_response(const uint8_t *seg, size_t len, struct dns_response *out)
{
	memset(out, 0, sizeof(*out));
	if (len < 2)
		return DNS_ERR_TCP_FRAMING;
	size_t msg_len = rd16(seg);

	if (msg_len < DNS_HEADER_LEN)
		return DNS_ERR_TCP_FRAMING;
	/* the capture may hold less than the prefix announces: parse what is there */
	if (msg_len > len - 2)
		msg_len = len - 2;
	return dns_parse_response(seg + 2, msg_len, out);
}

enum dns_result dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *out)
{
	bool sanitized;
	size_t pos;
	enum dns_result r;

	memset(out, 0, sizeof(*out));
	r = check_header(msg, len, false);
	if (r != DNS_OK)
		return r;
	out->id = rd16(msg);
	r = read_name(msg, len, DNS_HEADER_LEN, out->qname, &pos, &sanitized);
	if (r != DNS_OK)
		return r;
	if (len - pos < 4)
		return DNS_ERR_TRUNCATED;
	out->qtype = rd16(msg + pos);
	return DNS_OK;
}

enum dns_result dns_parse_tcp_query(const uint8_t *seg, size_t len, struct dns_query *out)
{
	memset(out, 0, sizeof(*out));
	if (len < 2 || rd16(seg) < DNS_HEADER_LEN)
		return DNS_ERR_TCP_FRAMING;
	return dns_parse_query(seg + 2, len - 2 < rd16(seg) ? len - 2 : rd16(seg), out);
}

const char *dns_result_name(enum dns_result r)
{
	static const char *const names[DNS_RESULT_MAX] = {
		[DNS_OK] = "ok",
		[DNS_ERR_TRUNCATED] = "truncated",
		[DNS_ERR_NOT_RESPONSE] = "not_response",
		[DNS_ERR_NO_QUESTION] = "no_question",
		[DNS_ERR_POINTER_LOOP] = "pointer_loop",
		[DNS_ERR_LABEL_TYPE] = "label_type",
		[DNS_ERR_NAME_TOO_LONG] = "name_too_long",
		[DNS_ERR_BAD_RDATA] = "bad_rdata",
		[DNS_ERR_TCP_FRAMING] = "tcp_framing",
	};

	if ((unsigned int)r >= DNS_RESULT_MAX)
		return "unknown";
	return names[r];
}
