/*
 * place_key.h - the fleet-wide key neighbour, gateway and BSSID MACs are hashed with before they
 * leave the host (HMAC-SHA-256, first 16 hex digits): hosts of one fleet can be compared by their
 * neighbours without anyone collecting the MACs themselves.
 */
#ifndef GW_PLACE_KEY_H
#define GW_PLACE_KEY_H

#include <stddef.h>
#include <stdint.h>

#define PLACE_KEY_MIN 16
#define PLACE_KEY_MAX 256
#define PLACE_HASH_LEN 17 /* 16 hex digits and a NUL */

struct place_key {
	uint8_t bytes[PLACE_KEY_MAX];
	size_t len; /* 0: no key, nothing is hashed (and so nothing is sent) */
};

/*
 * Reads the key file: its content, trailing white space dropped, at least PLACE_KEY_MIN bytes.
 * 0, or -1 with the reason in err (key->len stays 0).
 */
int place_key_load(struct place_key *key, const char *path, char *err, size_t errlen);

/* HMAC-SHA-256 of data under the key, as 16 lower-case hex digits; "" without a key. */
void place_key_hash(const struct place_key *key, const uint8_t *data, size_t len,
		    char out[PLACE_HASH_LEN]);

#endif
