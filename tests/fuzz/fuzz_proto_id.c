// fuzz: agent/net/proto_id.c
/*
 * libFuzzer target for the first-bytes classifier (proto_id.c): any bytes, up to the capture's
 * size and past it. Checks its promises: a known protocol or none, a server name only with TLS or
 * HTTP, NUL-terminated within PROTO_NAME_MAX and made of host-name characters only, never an
 * address literal's digits and dots alone.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/proto_id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_id id;
	enum proto_app app = proto_id_classify(data, size, &id);
	size_t n = strnlen(id.server_name, sizeof(id.server_name));
	bool alpha = false;

	if ((unsigned int)app >= PROTO_APP_MAX || app != id.app || n > PROTO_NAME_MAX)
		abort();
	if (n && app != PROTO_APP_TLS && app != PROTO_APP_HTTP)
		abort();
	for (size_t i = 0; i < n; i++) {
		char c = id.server_name[i];

		if (!(c == '.' || c == '-' || c == '_' || (c >= '0' && c <= '9') ||
		      (c >= 'a' && c <= 'z')))
			abort();
		alpha |= c != '.' && !(c >= '0' && c <= '9');
	}
	if (n && (!alpha || id.server_name[0] == '.' || strstr(id.server_name, "..")))
		abort();
	return 0;
}
