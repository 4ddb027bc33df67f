/*
 * fleet_place.h - where a host of the fleet view is: the latest Place its agent reported (gateway
 * and Wi-Fi access point as keyed hashes, the host's timezone, the keyed hashes of its LAN
 * neighbours, IP-KVM vendors among them) and every gateway, BSSID and timezone seen for it, so
 * the collector can tell hosts sharing a room (fleet_detect.h) and a host that moved.
 */
#ifndef GWC_FLEET_PLACE_H
#define GWC_FLEET_PLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ghostwatch.pb-c.h"

#define FLEET_PLACE_VALUE 68	/* a hash (16 hex digits today), a timezone name */
#define FLEET_MAX_NEIGHBOURS 64	/* neighbour hashes kept per host */
#define FLEET_MAX_SEEN 32	/* place values remembered per host; the oldest go first */
#define FLEET_IPKVM_TEXT 128

struct fleet_place {
	char gateway[FLEET_PLACE_VALUE];	/* gateway MAC hash */
	char bssid[FLEET_PLACE_VALUE];		/* Wi-Fi BSSID hash */
	char timezone[FLEET_PLACE_VALUE];
	char (*neighbours)[FLEET_PLACE_VALUE];	/* sorted; allocated on first use */
	size_t n_neighbours;
	char ipkvm[FLEET_IPKVM_TEXT];		/* IP-KVM neighbour vendors, "" = none */
	uint64_t time_ns;			/* collector wall clock when it arrived; 0 = never */
};

struct fleet_place_seen {
	char kind[12];	/* gateway, bssid, timezone */
	char value[FLEET_PLACE_VALUE];
	uint64_t first_ns, last_ns;
};

struct fleet_place_history {
	struct fleet_place_seen seen[FLEET_MAX_SEEN];
	size_t n;
};

/* A Place (a batch's compact one or a place event) on top of what the host had: fields it does
 * not carry (the compact form has no neighbour hashes, a MAC not resolved yet has no hash) stay
 * as they were; a Place without a gateway, Wi-Fi or neighbours clears them. Returns whether
 * anything but the time changed. */
bool fleet_place_record(struct fleet_place *p, struct fleet_place_history *hist,
			const Ghostwatch__V1__Place *pl, uint64_t now_ns);
/* Adds or refreshes one value seen (also how a stored history is read back). */
void fleet_place_seen(struct fleet_place_history *hist, const char *kind, const char *value,
		      uint64_t first_ns, uint64_t last_ns);
/* Distinct values of `kind` seen, and the newest one first seen in *newest (or NULL). */
size_t fleet_place_kinds(const struct fleet_place_history *hist, const char *kind,
			 const struct fleet_place_seen **newest);
/* Replaces the neighbour list (kept sorted, at most FLEET_MAX_NEIGHBOURS). */
void fleet_place_set_neighbours(struct fleet_place *p, char *const *hashes, size_t n);
/* How many neighbour hashes a and b share. */
size_t fleet_place_shared_neighbours(const struct fleet_place *a, const struct fleet_place *b);
void fleet_place_free(struct fleet_place *p);

#endif
