/*
 * json_emit.h - protobuf messages as JSON, driven by the protobuf-c descriptors.
 *
 * Because the keys come from the descriptors, `ghostwatch debug --json` and the collector's NDJSON
 * always use the proto field names, and a message added to the schema is printable with no code.
 * Mapping: proto3 JSON conventions (64-bit integers as strings, bytes as base64, enums by name);
 * every non-oneof scalar is written, defaults included, so consumers see a stable shape; unset
 * messages and empty repeated fields are left out.
 */
#ifndef GW_JSON_EMIT_H
#define GW_JSON_EMIT_H

#include <stdio.h>
#include <protobuf-c/protobuf-c.h>

/* The name of the oneof member set in `msg` (for an Event: "exec", "exit", ...), or NULL. */
const char *gw_json_oneof_name(const ProtobufCMessage *msg);

/* Writes `msg` as one JSON object, no newline. */
void gw_json_write_message(FILE *out, const ProtobufCMessage *msg);

/* Writes `msg` as one JSON object that starts with "type": its set oneof member's name, followed
 * by `extra` (already-formatted `"key":value` pairs, may be NULL), then its fields; then '\n'. */
void gw_json_write_typed_line(FILE *out, const ProtobufCMessage *msg, const char *extra);

#endif
