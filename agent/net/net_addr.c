#include "net_addr.h"

#include <arpa/inet.h>
#include <string.h>

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void gw_ip_from_v4(struct gw_ip *ip, const uint8_t v4[4])
{
	memcpy(ip->b, v4_mapped_prefix, sizeof(v4_mapped_prefix));
	memcpy(ip->b + 12, v4, 4);
}

void gw_ip_from_v6(struct gw_ip *ip, const uint8_t v6[16])
{
	memcpy(ip->b, v6, 16);
}

bool gw_ip_is_v4(const struct gw_ip *ip)
{
	return memcmp(ip->b, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0;
}

bool gw_ip_equal(const struct gw_ip *a, const struct gw_ip *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

bool gw_ip_is_loopback(const struct gw_ip *ip)
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };

	if (gw_ip_is_v4(ip))
		return ip->b[12] == 127;
	return memcmp(ip->b, v6_loopback, sizeof(v6_loopback)) == 0;
}

const char *gw_ip_format(const struct gw_ip *ip, char *out, size_t out_len)
{
	const char *s;

	if (gw_ip_is_v4(ip))
		s = inet_ntop(AF_INET, ip->b + 12, out, out_len);
	else
		s = inet_ntop(AF_INET6, ip->b, out, out_len);
	if (!s && out_len)
		out[0] = '\0';
	return out;
}
