/*
 * pb_json.h - protobuf -> JSON, driven by the protobuf-c descriptors, so JSON keys are always the
 * proto field names and a new message or field in proto/ghostwatch.proto needs no code here.
 * The collector's NDJSON goes through event_json_line(); it is the one place that decides the
 * line's shape (swap in the agent's emitter here once both live in one module).
 *
 * Shape: proto3 scalars are always written (0, "", false are data: exit_code 0 is an answer),
 * unset sub-messages are left out, only the set member of a oneof is written, 64-bit integers are
 * JSON numbers, enums are their value names, bytes are base64.
 */
#ifndef GWC_PB_JSON_H
#define GWC_PB_JSON_H

#include <protobuf-c/protobuf-c.h>

#include "ghostwatch.pb-c.h"
#include "strbuf.h"

/* Writes msg as one JSON object. */
void pb_json_message(struct strbuf *sb, const ProtobufCMessage *msg);

/* The name of the Event.kind member that is set ("exec", "exit", ...), or "unknown" when none is
 * (an event kind newer than this collector). */
const char *event_type_name(const Ghostwatch__V1__Event *ev);

/* One NDJSON line (with '\n') for an event of a batch:
 *   {"type":"exec","host_id":..,"hostname":..,"batch_seq":N,"event_id":..,"time_ns":..,
 *    "exec":{...}}
 * host_id and batch_seq tag every line so a SIEM can attribute and de-duplicate it. */
void event_json_line(struct strbuf *sb, const Ghostwatch__V1__Event *ev,
		     const Ghostwatch__V1__HostIdentity *host, uint64_t batch_seq);

#endif
