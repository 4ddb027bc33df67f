/*
 * exfil_allow.h - the company's own destinations for copies (config `exfil.allowed_remotes`): host
 * names, which also allow their subdomains, and CIDRs. A transfer to anything else is reported.
 */
#ifndef GW_EXFIL_ALLOW_H
#define GW_EXFIL_ALLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXFIL_ALLOW_MAX 256

struct exfil_allow_entry {
	bool is_cidr;
	uint8_t prefix_len; /* over the v4-mapped 128-bit address */
	uint8_t addr[16];
	char name[254]; /* lower case, no trailing dot */
};

struct exfil_allow {
	struct exfil_allow_entry v[EXFIL_ALLOW_MAX];
	size_t n;
};

/* Adds one entry ("git.company.example", "10.0.0.0/8", "192.0.2.7", "2001:db8::/32");
 * -1 with the reason in err for anything else. */
int exfil_allow_add(struct exfil_allow *l, const char *entry, char *err, size_t errlen);
/* A name (allowed if it or a parent domain is listed) or an address literal. */
bool exfil_allow_host(const struct exfil_allow *l, const char *host);
/* A 16-byte address, v4-mapped for IPv4. */
bool exfil_allow_addr(const struct exfil_allow *l, const uint8_t addr[16]);

#endif
