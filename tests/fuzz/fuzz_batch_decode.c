// fuzz: agent/fleet/batch.c build/proto/ghostwatch.pb-c.c
/* libFuzzer target for the batch decoder (zlib + protobuf): any bytes give a batch or an error. */
#include <stdint.h>
#include <stdlib.h>

#include "fleet/batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	Ghostwatch__V1__Batch *b = gw_batch_decode(data, size, 1 << 20, err, sizeof(err));

	if (b)
		ghostwatch__v1__batch__free_unpacked(b, NULL);
	return 0;
}
