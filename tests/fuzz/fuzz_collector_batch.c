// fuzz: collector/batch_decode.c collector/strbuf.c collector/event_line.c collector/fleet_view.c collector/fleet_place.c collector/fleet_state.c collector/tamper.c collector/fleet_finding.c common/json_emit.c common/text.c build/proto/ghostwatch.pb-c.c build/proto/collector_state.pb-c.c
/*
 * The collector's batch decoder on hostile bytes, then everything the collector does with an
 * accepted batch (NDJSON rendering, fleet view, its host packed and read back as the fleet
 * bucket holds it). Byte 0 picks the mode: even = the
 * rest is the message as it arrived (zlib); odd = the rest is a protobuf Batch that the harness
 * compresses first, so the fuzzer can reach the protobuf decoder and the validation with
 * structured input instead of having to invent valid zlib streams. Limits are small so the
 * inflate and decode-memory caps are hit often.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../collector/batch_decode.h"
#include "../../collector/fleet_state.h"
#include "../../collector/event_line.h"
#include "../../collector/strbuf.h"
#include "common/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct batch_limits lim = { .max_compressed = 1 << 20, .max_inflated = 256 << 10,
				    .max_decode_memory = 4 << 20, .max_events = 5000 };
	Ghostwatch__V1__Batch *b = NULL;
	uint8_t *z = NULL;
	const uint8_t *msg;
	size_t len;
	char detail[256], msg_id[128];
	enum batch_verdict v;

	if (size < 1)
		return 0;
	msg = data + 1;
	len = size - 1;
	if (data[0] & 1) {
		uLongf zlen = compressBound(len);
		z = malloc(zlen);
		if (!z || compress2(z, &zlen, msg, len, 1) != Z_OK) {
			free(z);
			return 0;
		}
		msg = z;
		len = zlen;
	}
	/* Decode once without the Msg-Id check to learn host:seq, then with it, as the collector
	 * does, so both the accept path and the Msg-Id rejection are reachable. */
	v = batch_decode(NULL, msg, len, "ghostwatch.v1.telemetry.host-a", NULL, false, &lim, &b,
			 NULL, detail, sizeof(detail));
	if (v == BATCH_OK) {
		snprintf(msg_id, sizeof(msg_id), "%s:%llu", b->host->host_id,
			 (unsigned long long)b->seq);
		batch_free(b);
		v = batch_decode(NULL, msg, len, "ghostwatch.v1.telemetry.host-a", msg_id, true,
				 &lim, &b, NULL, detail, sizeof(detail));
	}
	if (v == BATCH_OK) {
		struct fleet_view view;
		struct fleet_host *h;
		uint8_t *packed = NULL;
		size_t packed_len = 0;
		char *out = NULL;
		size_t out_len = 0, lines = 0;
		FILE *mem = open_memstream(&out, &out_len);

		if (!mem)
			abort();
		batch_write_ndjson(mem, b);
		fclose(mem);
		/* one event, one line: no raw newline inside, and all of it valid UTF-8 */
		for (size_t i = 0; i < out_len; i++)
			lines += out[i] == '\n';
		if (lines != b->n_events || !gw_utf8_valid(out, out_len))
			abort();
		free(out);

		fleet_view_init(&view);
		fleet_view_record(&view, b, 0, 1);
		fleet_view_record(&view, b, 1, 2);
		h = fleet_view_host(&view, b->host->host_id);
		if (h && fleet_state_pack_host(h, &packed, &packed_len) == 0) {
			struct fleet_view back;
			fleet_view_init(&back);
			if (!fleet_state_merge_host(&back, packed, packed_len))
				abort();	/* what we write we must read */
			fleet_view_free(&back);
			free(packed);
		}
		fleet_view_free(&view);
		batch_free(b);
	} else if (b) {
		abort();	/* a rejection never hands out a batch */
	}
	free(z);
	return 0;
}
