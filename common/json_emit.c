#include "json_emit.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "text.h"

/*
 * The debug view writes every event through here, so output avoids printf and stdio locking:
 * gw_json_write_typed_line() holds the stream lock once per line and everything below uses the
 * _unlocked calls and a hand-rolled integer formatter.
 */
static void put_str(FILE *out, const char *s)
{
	fputs_unlocked(s, out);
}

static void put_u64(FILE *out, uint64_t v)
{
	char buf[24], *p = buf + sizeof(buf);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	fwrite_unlocked(p, 1, (size_t)(buf + sizeof(buf) - p), out);
}

static void put_i64(FILE *out, int64_t v)
{
	if (v < 0) {
		fputc_unlocked('-', out);
		put_u64(out, (uint64_t)0 - (uint64_t)v);
	} else {
		put_u64(out, (uint64_t)v);
	}
}

static void put_key(FILE *out, const char *name, bool first)
{
	if (!first)
		fputc_unlocked(',', out);
	fputc_unlocked('"', out);
	put_str(out, name);
	put_str(out, "\":");
}

static const void *field_ptr(const ProtobufCMessage *msg, unsigned offset)
{
	return (const char *)msg + offset;
}

static bool oneof_member_is_set(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	const uint32_t *which = field_ptr(msg, f->quantifier_offset);

	return *which == f->id;
}

const char *gw_json_oneof_name(const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && oneof_member_is_set(msg, f))
			return f->name;
	}
	return NULL;
}

static void write_base64(FILE *out, const ProtobufCBinaryData *b)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	fputc_unlocked('"', out);
	for (i = 0; i + 2 < b->len; i += 3) {
		uint32_t v = (uint32_t)b->data[i] << 16 | (uint32_t)b->data[i + 1] << 8 | b->data[i + 2];

		fputc_unlocked(tbl[v >> 18], out);
		fputc_unlocked(tbl[(v >> 12) & 63], out);
		fputc_unlocked(tbl[(v >> 6) & 63], out);
		fputc_unlocked(tbl[v & 63], out);
	}
	if (i < b->len) {
		uint32_t v = (uint32_t)b->data[i] << 16;

		if (i + 1 < b->len)
			v |= (uint32_t)b->data[i + 1] << 8;
		fputc_unlocked(tbl[v >> 18], out);
		fputc_unlocked(tbl[(v >> 12) & 63], out);
		fputc_unlocked(i + 1 < b->len ? tbl[(v >> 6) & 63] : '=', out);
		fputc_unlocked('=', out);
	}
	fputc_unlocked('"', out);
}

static void write_double(FILE *out, double v)
{
	if (isfinite(v))
		fprintf(out, "%.17g", v);
	else
		put_str(out, "null");
}

static void write_message_unlocked(FILE *out, const ProtobufCMessage *msg);

/* One value of field `f` stored at `p`. */
static void write_value(FILE *out, const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		put_i64(out, *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		put_u64(out, *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		fputc_unlocked('"', out);
		put_i64(out, *(const int64_t *)p);
		fputc_unlocked('"', out);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		fputc_unlocked('"', out);
		put_u64(out, *(const uint64_t *)p);
		fputc_unlocked('"', out);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		write_double(out, *(const float *)p);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		write_double(out, *(const double *)p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		put_str(out, *(const protobuf_c_boolean *)p ? "true" : "false");
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)p);

		if (ev) {
			fputc_unlocked('"', out);
			put_str(out, ev->name);
			fputc_unlocked('"', out);
		} else {
			put_i64(out, *(const int *)p);
		}
		break;
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;

		fputc_unlocked('"', out);
		gw_json_escape(out, s ? s : "");
		fputc_unlocked('"', out);
		break;
	}
	case PROTOBUF_C_TYPE_BYTES:
		write_base64(out, p);
		break;
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;

		if (m)
			write_message_unlocked(out, m);
		else
			put_str(out, "null");
		break;
	}
	}
}

static size_t value_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 4;
	}
}

static void write_fields(FILE *out, const ProtobufCMessage *msg, bool first)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const void *p = field_ptr(msg, f->offset);

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)field_ptr(msg, f->quantifier_offset);
			const char *arr = *(const char *const *)p;

			if (!n)
				continue;
			put_key(out, f->name, first);
			fputc_unlocked('[', out);
			for (size_t j = 0; j < n; j++) {
				if (j)
					fputc_unlocked(',', out);
				write_value(out, f, arr + j * value_size(f));
			}
			fputc_unlocked(']', out);
			first = false;
			continue;
		}
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && !oneof_member_is_set(msg, f))
			continue;
		if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING &&
		    !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    !*(const protobuf_c_boolean *)field_ptr(msg, f->quantifier_offset))
			continue;
		if (f->type == PROTOBUF_C_TYPE_MESSAGE && !*(void *const *)p)
			continue;
		put_key(out, f->name, first);
		write_value(out, f, p);
		first = false;
	}
}

static void write_message_unlocked(FILE *out, const ProtobufCMessage *msg)
{
	fputc_unlocked('{', out);
	write_fields(out, msg, true);
	fputc_unlocked('}', out);
}

void gw_json_write_message(FILE *out, const ProtobufCMessage *msg)
{
	flockfile(out);
	write_message_unlocked(out, msg);
	funlockfile(out);
}

void gw_json_write_typed_line(FILE *out, const ProtobufCMessage *msg, const char *extra)
{
	const char *type = gw_json_oneof_name(msg);

	flockfile(out);
	put_str(out, "{\"type\":\"");
	put_str(out, type ? type : "unknown");
	fputc_unlocked('"', out);
	if (extra && *extra) {
		fputc_unlocked(',', out);
		put_str(out, extra);
	}
	write_fields(out, msg, false);
	put_str(out, "}\n");
	funlockfile(out);
}
