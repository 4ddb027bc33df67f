/*
 * place_mdns.h - names heard in multicast DNS on the LAN, without asking: a parser of mDNS
 * messages (strict, bounded: it reads frames from anyone on the LAN) and the listening socket,
 * joined to 224.0.0.251:5353 and never written to.
 */
#ifndef GW_PLACE_MDNS_H
#define GW_PLACE_MDNS_H

#include <stddef.h>
#include <stdint.h>

#define PLACE_MDNS_NAME_LEN 256 /* a DNS name in text, lower case, no trailing dot */
#define PLACE_MDNS_MAX_RECORDS 64

/*
 * Calls on_name for each distinct host name ending in ".local" that the message's questions and
 * records name (owners, and the targets of PTR, SRV and CNAME records). Returns how many it
 * passed, or -1 for a malformed message (names passed before the fault stand).
 */
int place_mdns_parse(const uint8_t *msg, size_t len,
		     void (*on_name)(const char *name, void *ctx), void *ctx);

/* A UDP socket on port 5353 joined to 224.0.0.251 on every interface it can; -errno. */
int place_mdns_open(void);
/* Joins the group on every multicast interface not joined yet (after addresses changed); how
 * many interfaces it is joined on, or -errno. */
int place_mdns_join(int fd);

#endif
