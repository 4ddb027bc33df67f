#include "event_line.h"

#include <string.h>

#include "common/json_emit.h"
#include "strbuf.h"

const char *event_type_name(const Ghostwatch__V1__Event *ev)
{
	const char *name = gw_json_oneof_name(&ev->base);

	return name ? name : "unknown";
}

void batch_write_ndjson(FILE *out, const Ghostwatch__V1__Batch *b)
{
	const Ghostwatch__V1__HostIdentity *h = b->host;
	struct strbuf extra;

	strbuf_init(&extra, 0);
	strbuf_puts(&extra, "\"host_id\":");
	strbuf_json_string(&extra, h->host_id, strlen(h->host_id));
	strbuf_puts(&extra, ",\"hostname\":");
	strbuf_json_string(&extra, h->hostname, strlen(h->hostname));
	strbuf_puts(&extra, ",\"batch_seq\":\"");
	strbuf_u64(&extra, b->seq);
	strbuf_putc(&extra, '"');
	for (size_t i = 0; i < b->n_events; i++)
		gw_json_write_typed_line(out, &b->events[i]->base, extra.failed ? NULL : extra.data);
	strbuf_free(&extra);
}
