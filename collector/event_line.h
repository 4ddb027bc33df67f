/*
 * event_line.h - one NDJSON line per event of a batch, in exactly the shape of
 * `ghostwatch debug --json` (the agent's descriptor-driven emitter, agent/json_emit.c: keys are the
 * proto field names, "type" is the Event.kind member, 64-bit integers are strings) plus the tags a
 * SIEM needs to attribute and de-duplicate it:
 *   {"type":"exec","host_id":"host-a","hostname":"..","batch_seq":"12","event_id":"..",...}
 * The batch's strings must be valid UTF-8 (batch_decode() guarantees it for what it accepts).
 */
#ifndef GWC_EVENT_LINE_H
#define GWC_EVENT_LINE_H

#include <stdint.h>
#include <stdio.h>

#include "ghostwatch.pb-c.h"

/* The Event.kind member's name ("exec", ...), or "unknown" for a kind newer than this build. */
const char *event_type_name(const Ghostwatch__V1__Event *ev);

/* Writes one line per event of b to out. */
void batch_write_ndjson(FILE *out, const Ghostwatch__V1__Batch *b);

#endif
