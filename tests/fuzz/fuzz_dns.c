// fuzz: agent/net/dns_parse.c agent/net/dns_cache.c agent/net/net_addr.c agent/core/lru_pool.c
/*
 * libFuzzer target for the DNS response parser (and the cache it feeds). The first input byte picks
 * the framing (even: UDP payload, odd: DNS-over-TCP with its length prefix) so one corpus covers both;
 * bit 1 also runs the query parser over the same bytes.
 * Checks the parser's promises: qname NUL-terminated within DNS_NAME_MAX, addresses bounded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/dns_cache.h"
#include "net/dns_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_response r;
	enum dns_result res;

	if (size < 1)
		return 0;
	if (data[0] & 2) {
		struct dns_query q;

		res = data[0] & 1 ? dns_parse_tcp_query(data + 1, size - 1, &q) :
				    dns_parse_query(data + 1, size - 1, &q);
		if ((unsigned int)res >= DNS_RESULT_MAX || strlen(q.qname) > DNS_NAME_MAX)
			abort();
	}
	if (data[0] & 1)
		res = dns_parse_tcp_response(data + 1, size - 1, &r);
	else
		res = dns_parse_response(data + 1, size - 1, &r);
	if ((unsigned int)res >= DNS_RESULT_MAX || strlen(r.qname) > DNS_NAME_MAX ||
	    r.n_addrs > DNS_MAX_ADDRS)
		abort();
	if (res == DNS_OK || res == DNS_ERR_TRUNCATED) {
		/* 4 entries a pool: an unprivileged uid's answer fills only its own pool */
		struct dns_cache *c = dns_cache_new(8, 1, 3600);

		if (!c || dns_cache_add_shared_uid(c, 0)) {
			dns_cache_free(c);
			return 0;
		}
		dns_cache_put_response(c, 1000, &r, 0);
		for (size_t i = 0; i < r.n_addrs; i++)
			if (!dns_cache_get(c, 1000, &r.addrs[i].ip, 0) && r.n_addrs <= 4)
				abort();
		for (size_t i = 0; i < r.n_addrs; i++)
			if (dns_cache_get(c, 0, &r.addrs[i].ip, 0))
				abort(); /* another uid's answer named root's connection */
		dns_cache_free(c);
	}
	return 0;
}
