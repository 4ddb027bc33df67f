// fuzz: agent/place/place_mdns.c
/*
 * libFuzzer target for the mDNS message parser: frames from anyone on the LAN. Checks its promises:
 * every name passed is NUL-terminated within PLACE_MDNS_NAME_LEN, ends in ".local", is passed
 * once, and no more than PLACE_MDNS_MAX_RECORDS names come out of one message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "place/place_mdns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	char names[PLACE_MDNS_MAX_RECORDS][PLACE_MDNS_NAME_LEN];
	int n;
};

static void on_name(const char *name, void *ctx)
{
	struct seen *s = ctx;
	size_t len = strnlen(name, PLACE_MDNS_NAME_LEN);

	if (len == PLACE_MDNS_NAME_LEN || len < 7 || strcmp(name + len - 6, ".local") ||
	    s->n == PLACE_MDNS_MAX_RECORDS)
		abort();
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->names[i], name))
			abort();
	memcpy(s->names[s->n++], name, len + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen s;
	int rc;

	s.n = 0;
	rc = place_mdns_parse(data, size, on_name, &s);
	if (rc > PLACE_MDNS_MAX_RECORDS || (rc >= 0 && rc != s.n))
		abort();
	return 0;
}
