/* Unit tests for agent/dns_parse.c: well-formed answers, CNAME chains, and hostile messages. */
#include "testing.h"

#include <stdint.h>
#include <string.h>

#include "net/dns_parse.h"

/* A tiny message builder: the tests spell out wire bytes through these. */
struct msg {
	uint8_t b[2048];
	size_t n;
};

static void put8(struct msg *m, uint8_t v) { m->b[m->n++] = v; }
static void put16(struct msg *m, uint16_t v) { put8(m, (uint8_t)(v >> 8)); put8(m, (uint8_t)v); }
static void put32(struct msg *m, uint32_t v) { put16(m, (uint16_t)(v >> 16)); put16(m, (uint16_t)v); }

static void put_name(struct msg *m, const char *dotted)
{
	while (*dotted) {
		const char *dot = strchr(dotted, '.');
		size_t l = dot ? (size_t)(dot - dotted) : strlen(dotted);

		put8(m, (uint8_t)l);
		memcpy(m->b + m->n, dotted, l);
		m->n += l;
		dotted += l + (dot ? 1 : 0);
	}
	put8(m, 0);
}

static void put_ptr(struct msg *m, uint16_t off) { put16(m, (uint16_t)(0xc000 | off)); }

static void header(struct msg *m, uint16_t flags, uint16_t qd, uint16_t an)
{
	m->n = 0;
	put16(m, 0x1234);
	put16(m, flags);
	put16(m, qd);
	put16(m, an);
	put16(m, 0);
	put16(m, 0);
}

static void question(struct msg *m, const char *name, uint16_t qtype)
{
	put_name(m, name);
	put16(m, qtype);
	put16(m, DNS_CLASS_IN);
}

/* RR header with owner = pointer to offset 12 (the question name). */
static void rr_hdr_ptr(struct msg *m, uint16_t owner_off, uint16_t type, uint32_t ttl, uint16_t rdlen)
{
	put_ptr(m, owner_off);
	put16(m, type);
	put16(m, DNS_CLASS_IN);
	put32(m, ttl);
	put16(m, rdlen);
}

static const char *ip_str(const struct gw_ip *ip, char *buf)
{
	return gw_ip_format(ip, buf, GW_IP_STR_LEN);
}

TEST(simple_a_record)
{
	struct msg m;
	struct dns_response r;
	char buf[GW_IP_STR_LEN];

	header(&m, 0x8180, 1, 1);
	question(&m, "Relay.Example-RMM.test", DNS_TYPE_A);
	rr_hdr_ptr(&m, 12, DNS_TYPE_A, 300, 4);
	put8(&m, 10); put8(&m, 231); put8(&m, 1); put8(&m, 2);
	REQUIRE(dns_parse_response(m.b, m.n, &r) == DNS_OK);
	CHECK_STR(r.qname, "relay.example-rmm.test");
	CHECK(r.id == 0x1234);
	REQUIRE(r.n_addrs == 1);
	CHECK_STR(ip_str(&r.addrs[0].ip, buf), "10.231.1.2");
	CHECK(r.addrs[0].ttl_s == 300);
}

TEST(aaaa_record)
{
	struct msg m;
	struct dns_response r;
	char buf[GW_IP_STR_LEN];
	uint8_t v6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7 };

	header(&m, 0x8180, 1, 1);
	question(&m, "v6.example.test", DNS_TYPE_AAAA);
	rr_hdr_ptr(&m, 12, DNS_TYPE_AAAA, 60, 16);
	memcpy(m.b + m.n, v6, 16);
	m.n += 16;
	REQUIRE(dns_parse_response(m.b, m.n, &r) == DNS_OK);
	REQUIRE(r.n_addrs == 1);
	CHECK_STR(ip_str(&r.addrs[0].ip, buf), "fd00::7");
}

TEST(cname_chain_maps_to_queried_name)
{
	struct msg m;
	struct dns_response r;
	char buf[GW_IP_STR_LEN];
	size_t cname1_off, cname2_off;

	header(&m, 0x8180, 1, 4);
	question(&m, "relay.anydesk.test", DNS_TYPE_A);
	/* relay.anydesk.test CNAME edge.cdn.test */
	rr_hdr_ptr(&m, 12, DNS_TYPE_CNAME, 30, 0);
	size_t rdlen_at = m.n - 2;
	cname1_off = m.n;
	put_name(&m, "edge.cdn.test");
	m.b[rdlen_at + 1] = (uint8_t)(m.n - cname1_off);
	/* edge.cdn.test CNAME "a1." + pointer to "cdn.test" (compressed target) */
	rr_hdr_ptr(&m, (uint16_t)cname1_off, DNS_TYPE_CNAME, 30, 5);
	cname2_off = m.n;
	put8(&m, 2); put8(&m, 'a'); put8(&m, '1');
	put_ptr(&m, (uint16_t)(cname1_off + 5));
	/* a1.cdn.test A 192.0.2.9 */
	rr_hdr_ptr(&m, (uint16_t)cname2_off, DNS_TYPE_A, 20, 4);
	put8(&m, 192); put8(&m, 0); put8(&m, 2); put8(&m, 9);
	/* an address for a name nobody asked about: must not be attributed */
	put_name(&m, "evil.test");
	put16(&m, DNS_TYPE_A); put16(&m, DNS_CLASS_IN); put32(&m, 20); put16(&m, 4);
	put8(&m, 6); put8(&m, 6); put8(&m, 6); put8(&m, 6);

	REQUIRE(dns_parse_response(m.b, m.n, &r) == DNS_OK);
	CHECK_STR(r.qname, "relay.anydesk.test");
	REQUIRE(r.n_addrs == 1);
	CHECK_STR(ip_str(&r.addrs[0].ip, buf), "192.0.2.9");
	CHECK(r.unrelated_addrs == 1);
}

TEST(cname_loop_terminates)
{
	struct msg m;
	struct dns_response r;

	header(&m, 0x8180, 1, 3);
	question(&m, "a.test", DNS_TYPE_A);
	rr_hdr_ptr(&m, 12, DNS_TYPE_CNAME, 30, 8);
	put_name(&m, "b.test");
	put_name(&m, "b.test"); /* owner */
	put16(&m, DNS_TYPE_CNAME); put16(&m, DNS_CLASS_IN); put32(&m, 1); put16(&m, 8);
	put_name(&m, "a.test");
	put_name(&m, "b.test");
	put16(&m, DNS_TYPE_A); put16(&m, DNS_CLASS_IN); put32(&m, 1); put16(&m, 4);
	put32(&m, 0x0a000001);
	REQUIRE(dns_parse_response(m.b, m.n, &r) == DNS_OK);
	CHECK(r.n_addrs == 1);
}

TEST(pointer_loop_rejected)
{
	struct msg m;
	struct dns_response r;

	/* question name is a pointer to itself */
	header(&m, 0x8180, 1, 0);
	put_ptr(&m, 12);
	put16(&m, 1); put16(&m, 1);
	CHECK(dns_parse_response(m.b, m.n, &r) == DNS_ERR_POINTER_LOOP);

	/* a forward pointer */
	header(&m, 0x8180, 1, 0);
	put_ptr(&m, 20);
	put16(&m, 1); put16(&m, 1);
	put_name(&m, "x.test");
	CHECK(dns_parse_response(m.b, m.n, &r) == DNS_ERR_POINTER_LOOP);

	/* two names pointing at each other: label at 12 then pointer back to 12 */
	header(&m, 0x8180, 1, 1);
	question(&m, "a.test", DNS_TYPE_A);
	size_t loop_at = m.n;
	put8(&m, 1); put8(&m, 'x');
	put_ptr(&m, (uint16_t)loop_at); /* points at its own start: not strictly backwards */
	put16(&m, DNS_TYPE_A); put16(&m, DNS_CLASS_IN); put32(&m, 1); put16(&m, 4);
	put32(&m, 1);
	CHECK(dns_parse_response(m.b, m.n, &r) == DNS_ERR_POINTER_LOOP);
	CHECK(r.n_addrs == 0);
}

TEST(pointer_cycle_through_backwards_jumps_rejected)
{
	struct msg m;
	struct dns_response r;

	/* at 12: label "a", then pointer to 12 from inside a later name that first jumps to 14 */
	header(&m, 0x8180, 1, 0);
	put8(&m, 1); put8(&m, 'a');	/* 12..13 */
	put_ptr(&m, 12);		/* 14: back to 12, which reaches 14 again */
	put16(&m, 1); put16(&m, 1);
	CHECK(dns_parse_response(m.b, m.n, &r) == DNS_ERR_POINTER_LOOP);
}

TEST(label_and_name_limits)
{
	struct msg m;
	struct dns_response r;

	/* 64-byte label: top bits 01 -> reserved label type */
	header(&m, 0x8180, 1, 0);
	put8(&m, 64);
	memset(m.b + m.n, 'a', 64);
	m.n += 64;
	put8(&m, 0);
	put16(&m, 1); put16(&m, 1);
	CHECK(dns_parse_response(m.b, m.n, &r) == DNS_ERR_LABEL_TYPE);

	/* 5 labels of 63: 320 wire bytes > 255 */
	header(&m, 0x8180, 1, 0);
	for (int i = 0; i < 5; i++) {
		put8(&m, 63);
		memset(m.b + m.n, 'b', 63);
		m.n += 63;
	}
	put8(&m, 0);
	put16(&m, 1); put16(&m, 1);
	CHECK(dns_parse_response(m.b, m.n, &r) == DNS_ERR_NAME_TOO_LONG);

	/* exactly 255 wire bytes: 3x63 + 1x61 labels + 4 length octets + root = 255 -> accepted */
	header(&m, 0x8180, 1, 0);
	for (int i = 0; i < 3; i++) {
		put8(&m, 63);
		memset(m.b + m.n, 'c', 63);
		m.n += 63;
	}
	put8(&m, 61);
	memset(m.b + m.n, 'd', 61);
	m.n += 61;
	put8(&m, 0);
	put16(&m, 1); put16(&m, 1);
	CHECK(dns_parse_response(m.b, m.n, &r) == DNS_OK);
	CHECK(strlen(r.qname) == 253);
}

TEST(truncated_everywhere_never_overreads)
{
	struct msg m;
	struct dns_response r;

	header(&m, 0x8180, 1, 2);
	question(&m, "t.example.test", DNS_TYPE_A);
	rr_hdr_ptr(&m, 12, DNS_TYPE_A, 300, 4);
	put32(&m, 0x0a000001);
	rr_hdr_ptr(&m, 12, DNS_TYPE_A, 300, 4);
	put32(&m, 0x0a000002);
	REQUIRE(dns_parse_response(m.b, m.n, &r) == DNS_OK);
	CHECK(r.n_addrs == 2);
	/* every prefix: either truncated or (the full message) ok; addresses only from whole records */
	for (size_t n = 0; n < m.n; n++) {
		uint8_t copy[2048];

		memcpy(copy, m.b, n); /* exact-size copy lets ASan catch an overread */
		enum dns_result res = dns_parse_response(copy, n, &r);

		CHECK(res == DNS_ERR_TRUNCATED);
		CHECK(r.n_addrs <= 1);
		if (n >= m.n - 16 && n < m.n)
			CHECK(r.n_addrs == 1);
	}
}

TEST(not_a_response)
{
	struct msg m;
	struct dns_response r;

	header(&m, 0x0100, 1, 0); /* query */
	question(&m, "q.test", DNS_TYPE_A);
	CHECK(dns_parse_response(m.b, m.n, &r) == DNS_ERR_NOT_RESPONSE);
	header(&m, 0x8000 | (2 << 11), 1, 0); /* status opcode */
	question(&m, "q.test", DNS_TYPE_A);
	CHECK(dns_parse_response(m.b, m.n, &r) == DNS_ERR_NOT_RESPONSE);
	header(&m, 0x8180, 0, 0);
	CHECK(dns_parse_response(m.b, m.n, &r) == DNS_ERR_NO_QUESTION);
}

TEST(bad_rdata_lengths)
{
	struct msg m;
	struct dns_response r;

	header(&m, 0x8180, 1, 1);
	question(&m, "q.test", DNS_TYPE_A);
	rr_hdr_ptr(&m, 12, DNS_TYPE_A, 1, 5);
	put32(&m, 1); put8(&m, 1);
	CHECK(dns_parse_response(m.b, m.n, &r) == DNS_ERR_BAD_RDATA);

	/* CNAME whose target runs past its rdlength */
	header(&m, 0x8180, 1, 1);
	question(&m, "q.test", DNS_TYPE_A);
	rr_hdr_ptr(&m, 12, DNS_TYPE_CNAME, 1, 3);
	put_name(&m, "long.target.test");
	CHECK(dns_parse_response(m.b, m.n, &r) == DNS_ERR_BAD_RDATA);
}

TEST(odd_bytes_are_sanitized)
{
	struct msg m;
	struct dns_response r;

	header(&m, 0x8180, 1, 0);
	put8(&m, 4); put8(&m, 'a'); put8(&m, '.'); put8(&m, '\n'); put8(&m, 0xff);
	put8(&m, 4); memcpy(m.b + m.n, "test", 4); m.n += 4;
	put8(&m, 0);
	put16(&m, 1); put16(&m, 1);
	REQUIRE(dns_parse_response(m.b, m.n, &r) == DNS_OK);
	CHECK_STR(r.qname, "a???.test");
	CHECK(r.names_sanitized == 1);
}

TEST(many_answers_are_bounded)
{
	struct msg m;
	struct dns_response r;

	header(&m, 0x8180, 1, 100);
	question(&m, "many.test", DNS_TYPE_A);
	for (int i = 0; i < 100; i++) {
		rr_hdr_ptr(&m, 12, DNS_TYPE_A, 1, 4);
		put32(&m, 0x0a000000u + (uint32_t)i);
	}
	REQUIRE(dns_parse_response(m.b, m.n, &r) == DNS_OK);
	CHECK(r.n_addrs == DNS_MAX_ADDRS);
	CHECK(r.addrs_dropped == DNS_MAX_RECORDS - DNS_MAX_ADDRS);
}

TEST(tcp_framing)
{
	struct msg m, t;
	struct dns_response r;

	header(&m, 0x8180, 1, 1);
	question(&m, "tcp.test", DNS_TYPE_A);
	rr_hdr_ptr(&m, 12, DNS_TYPE_A, 1, 4);
	put32(&m, 0x0a000001);
	t.n = 0;
	put16(&t, (uint16_t)m.n);
	memcpy(t.b + 2, m.b, m.n);
	t.n += m.n;
	REQUIRE(dns_parse_tcp_response(t.b, t.n, &r) == DNS_OK);
	CHECK(r.n_addrs == 1);
	CHECK(dns_parse_tcp_response(t.b, 1, &r) == DNS_ERR_TCP_FRAMING);
	t.b[0] = 0; t.b[1] = 5;
	CHECK(dns_parse_tcp_response(t.b, t.n, &r) == DNS_ERR_TCP_FRAMING);
	/* prefix longer than the capture: parse what is there */
	t.b[0] = 0x10; t.b[1] = 0;
	CHECK(dns_parse_tcp_response(t.b, t.n, &r) == DNS_OK);
	CHECK(dns_parse_tcp_response(t.b, t.n - 2, &r) == DNS_ERR_TRUNCATED);
}

TEST(result_names)
{
	CHECK_STR(dns_result_name(DNS_ERR_POINTER_LOOP), "pointer_loop");
	CHECK_STR(dns_result_name((enum dns_result)99), "unknown");
	for (int i = 0; i < DNS_RESULT_MAX; i++)
		CHECK(dns_result_name((enum dns_result)i) != NULL);
}

int main(void)
{
	RUN(simple_a_record);
	RUN(aaaa_record);
	RUN(cname_chain_maps_to_queried_name);
	RUN(cname_loop_terminates);
	RUN(pointer_loop_rejected);
	RUN(pointer_cycle_through_backwards_jumps_rejected);
	RUN(label_and_name_limits);
	RUN(truncated_everywhere_never_overreads);
	RUN(not_a_response);
	RUN(bad_rdata_lengths);
	RUN(odd_bytes_are_sanitized);
	RUN(many_answers_are_bounded);
	RUN(tcp_framing);
	RUN(result_names);
	return test_summary();
}
