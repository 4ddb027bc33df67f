#include "pb_json.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

static void base64(struct strbuf *sb, const uint8_t *p, size_t n)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	strbuf_putc(sb, '"');
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = p[i] << 16 | (i + 1 < n ? p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		char out[4] = { tbl[v >> 18 & 63], tbl[v >> 12 & 63],
				i + 1 < n ? tbl[v >> 6 & 63] : '=', i + 2 < n ? tbl[v & 63] : '=' };
		strbuf_append(sb, out, 4);
	}
	strbuf_putc(sb, '"');
}

static void json_double(struct strbuf *sb, double d)
{
	if (isfinite(d))
		strbuf_printf(sb, "%.17g", d);
	else
		strbuf_puts(sb, "null");	/* JSON has no NaN/Inf */
}

static size_t element_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

static void value(struct strbuf *sb, const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		strbuf_i64(sb, *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		strbuf_u64(sb, *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		strbuf_i64(sb, *(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		strbuf_u64(sb, *(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		json_double(sb, *(const float *)p);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		json_double(sb, *(const double *)p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		strbuf_puts(sb, *(const protobuf_c_boolean *)p ? "true" : "false");
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		int32_t v = *(const int32_t *)p;
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(f->descriptor, v);
		if (ev)
			strbuf_json_string(sb, ev->name, strlen(ev->name));
		else
			strbuf_printf(sb, "%" PRId32, v);
		break;
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		if (s)
			strbuf_json_string(sb, s, strlen(s));
		else
			strbuf_puts(sb, "\"\"");
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		base64(sb, b->data, b->len);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;
		if (m)
			pb_json_message(sb, m);
		else
			strbuf_puts(sb, "null");
		break;
	}
	}
}

/* Writes the fields of msg as `"name":value` pairs, each preceded by a comma unless *first. */
static void fields(struct strbuf *sb, const ProtobufCMessage *msg, bool *first)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	const char *base = (const char *)msg;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const void *p = base + f->offset;

		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (*(const uint32_t *)(base + f->quantifier_offset) != f->id)
				continue;
		} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_MESSAGE &&
			   f->type != PROTOBUF_C_TYPE_STRING) {
			if (!*(const protobuf_c_boolean *)(base + f->quantifier_offset))
				continue;
		}
		if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->label != PROTOBUF_C_LABEL_REPEATED &&
		    !*(ProtobufCMessage *const *)p)
			continue;

		if (!*first)
			strbuf_putc(sb, ',');
		*first = false;
		strbuf_json_string(sb, f->name, strlen(f->name));
		strbuf_putc(sb, ':');
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			const char *arr = *(const char *const *)p;
			size_t sz = element_size(f);

			strbuf_putc(sb, '[');
			for (size_t j = 0; j < n && arr; j++) {
				if (j)
					strbuf_putc(sb, ',');
				value(sb, f, arr + j * sz);
			}
			strbuf_putc(sb, ']');
		} else {
			value(sb, f, p);
		}
	}
}

void pb_json_message(struct strbuf *sb, const ProtobufCMessage *msg)
{
	bool first = true;

	strbuf_putc(sb, '{');
	fields(sb, msg, &first);
	strbuf_putc(sb, '}');
}

const char *event_type_name(const Ghostwatch__V1__Event *ev)
{
	const ProtobufCFieldDescriptor *f;

	if (ev->kind_case == GHOSTWATCH__V1__EVENT__KIND__NOT_SET)
		return "unknown";
	f = protobuf_c_message_descriptor_get_field(ev->base.descriptor, ev->kind_case);
	return f ? f->name : "unknown";
}

void event_json_line(struct strbuf *sb, const Ghostwatch__V1__Event *ev,
		     const Ghostwatch__V1__HostIdentity *host, uint64_t batch_seq)
{
	const char *type = event_type_name(ev);
	bool first = false;

	strbuf_puts(sb, "{\"type\":");
	strbuf_json_string(sb, type, strlen(type));
	strbuf_puts(sb, ",\"host_id\":");
	strbuf_json_string(sb, host->host_id, strlen(host->host_id));
	strbuf_puts(sb, ",\"hostname\":");
	strbuf_json_string(sb, host->hostname, strlen(host->hostname));
	strbuf_puts(sb, ",\"batch_seq\":");
	strbuf_u64(sb, batch_seq);
	fields(sb, &ev->base, &first);
	strbuf_puts(sb, "}\n");
}
