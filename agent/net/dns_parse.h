/*
 * dns_parse.h - parses DNS responses captured off the wire into (address -> queried name) pairs.
 *
 * Hostile-input code: the bytes come from the network (any host can send a packet to port 53 of a
 * local socket) via a bounded slice copied by BPF, so every read is bounds-checked, compression
 * pointers must point strictly backwards and are followed at most DNS_MAX_POINTER_JUMPS times, label
 * and name lengths are limited as RFC 1035 says, and every reason to reject a message is counted.
 *
 * What comes out is what a flow needs: the name the process asked for (the question), and every
 * A/AAAA address that answers it, directly or through a CNAME chain (qname -> cname -> ... -> A), so
 * a connection to 203.0.113.7 carries "relay.example.com" rather than "edge-7.cdn.example.net".
 * Addresses owned by names outside that chain are ignored (they answer nothing the process asked).
 */
#ifndef GW_DNS_PARSE_H
#define GW_DNS_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "net_addr.h"

#define DNS_HEADER_LEN 12
#define DNS_NAME_MAX 253	  /* presentation form, without the trailing dot */
#define DNS_WIRE_NAME_MAX 255	  /* RFC 1035 3.1, length octets included */
#define DNS_LABEL_MAX 63
#define DNS_MAX_POINTER_JUMPS 16
#define DNS_MAX_RECORDS 64	  /* answer records examined per message; the rest are ignored */
#define DNS_MAX_ADDRS 16	  /* addresses kept per message */
#define DNS_MAX_CNAMES 16	  /* CNAME records kept to resolve chains */
#define DNS_MAX_CHAIN 8		  /* CNAME hops followed from the question */

#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_AAAA 28
#define DNS_CLASS_IN 1

/* Why a message was rejected (or cut short). DNS_OK is the only success. */
enum dns_result {
	DNS_OK = 0,
	DNS_ERR_TRUNCATED,	  /* a field runs past the end of the captured bytes */
	DNS_ERR_NOT_RESPONSE,	  /* QR bit clear or opcode not QUERY */
	DNS_ERR_NO_QUESTION,	  /* qdcount != 1: nothing to attribute answers to */
	DNS_ERR_POINTER_LOOP,	  /* pointer not strictly backwards, or too many jumps */
	DNS_ERR_LABEL_TYPE,	  /* reserved label types 0x40/0x80 */
	DNS_ERR_NAME_TOO_LONG,	  /* > 255 wire octets */
	DNS_ERR_BAD_RDATA,	  /* A/AAAA rdlength wrong, CNAME target overruns rdata */
	DNS_ERR_TCP_FRAMING,	  /* DNS-over-TCP length prefix missing or shorter than a header */
	DNS_RESULT_MAX
};

struct dns_addr {
	struct gw_ip ip;
	uint32_t ttl_s;
};

struct dns_response {
	uint16_t id;
	uint8_t rcode;
	uint16_t qtype;
	/* lower-cased; bytes outside 0x21-0x7e, and '.' inside a label, become '?' */
	char qname[DNS_NAME_MAX + 1];
	size_t n_addrs;
	struct dns_addr addrs[DNS_MAX_ADDRS];
	uint32_t addrs_dropped;		/* matching addresses beyond DNS_MAX_ADDRS */
	uint32_t unrelated_addrs;	/* A/AAAA whose owner is not on the question's CNAME chain */
	uint32_t names_sanitized;	/* names that had bytes replaced by '?' */
};

/*
 * Parse one DNS message (UDP payload). On DNS_ERR_TRUNCATED the addresses resolved from records
 * that were complete before the cut are still in `out` (a capture slice may end mid-message);
 * on any other error `out` holds no addresses.
 */
enum dns_result dns_parse_response(const uint8_t *msg, size_t len, struct dns_response *out);

/* Same for a DNS-over-TCP segment that starts with the 2-byte length prefix (RFC 1035 4.2.2). */
enum dns_result dns_parse_tcp_response(const uint8_t *seg, size_t len, struct dns_response *out);

/* The question of a query a local process sent: what an answer must match to be believed. */
struct dns_query {
	uint16_t id;
	uint16_t qtype;
	char qname[DNS_NAME_MAX + 1];
};

/* Parse a query (QR clear, opcode QUERY, one question). DNS_ERR_NOT_RESPONSE is reused for "not
 * a query" so the reasons stay one enum. */
enum dns_result dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *out);
enum dns_result dns_parse_tcp_query(const uint8_t *seg, size_t len, struct dns_query *out);

/* Stable snake_case name of a result for counters ("truncated", "pointer_loop", ...). */
const char *dns_result_name(enum dns_result r);

#endif
