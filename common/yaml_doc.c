#include "yaml_doc.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int syntax_error(struct yaml_doc *d, const yaml_parser_t *p)
{
	return yaml_doc_fail(d, (unsigned long)p->problem_mark.line + 1, "YAML syntax error: %s%s%s",
			     p->problem ? p->problem : "unknown", p->context ? " " : "",
			     p->context ? p->context : "");
}

int yaml_doc_load(struct yaml_doc *d, const char *name, const char *text, size_t len, char *err,
		  size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	int rc = 0;

	memset(d, 0, sizeof(*d));
	d->name = name;
	d->err = err;
	d->errlen = errlen;
	if (errlen)
		err[0] = '\0';
	if (!yaml_parser_initialize(&parser))
		return yaml_doc_fail(d, 1, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &d->doc)) {
		rc = syntax_error(d, &parser);
		yaml_parser_delete(&parser);
		return rc;
	}
	d->loaded = true;
	if (!yaml_parser_load(&parser, &extra)) {
		rc = syntax_error(d, &parser);
	} else {
		if (yaml_document_get_root_node(&extra))
			rc = yaml_doc_fail(d, (unsigned long)extra.start_mark.line + 1,
					   "more than one YAML document");
		yaml_document_delete(&extra);
	}
	yaml_parser_delete(&parser);
	return rc;
}

void yaml_doc_free(struct yaml_doc *d)
{
	if (d->loaded)
		yaml_document_delete(&d->doc);
	d->loaded = false;
}

yaml_node_t *yaml_doc_root(struct yaml_doc *d)
{
	return yaml_document_get_root_node(&d->doc);
}

yaml_node_t *yaml_doc_node(struct yaml_doc *d, int id)
{
	return yaml_document_get_node(&d->doc, id);
}

size_t yaml_doc_node_count(const struct yaml_doc *d)
{
	return (size_t)(d->doc.nodes.top - d->doc.nodes.start);
}

static int vfail(struct yaml_doc *d, unsigned long line, const char *fmt, va_list ap)
{
	int n = snprintf(d->err, d->errlen, "%s:%lu: ", d->name, line);

	if (n >= 0 && (size_t)n < d->errlen)
		vsnprintf(d->err + n, d->errlen - n, fmt, ap);
	return -1;
}

int yaml_doc_fail(struct yaml_doc *d, unsigned long line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(d, line, fmt, ap);
	va_end(ap);
	return -1;
}

int yaml_doc_fail_at(struct yaml_doc *d, const yaml_node_t *node, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(d, node ? yaml_node_line(node) : 1, fmt, ap);
	va_end(ap);
	return -1;
}

unsigned long yaml_node_line(const yaml_node_t *node)
{
	return (unsigned long)node->start_mark.line + 1;
}

const char *yaml_node_kind(yaml_node_type_t type)
{
	switch (type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

const char *yaml_scalar_text(const yaml_node_t *node)
{
	const char *s = (const char *)node->data.scalar.value;

	return strlen(s) == node->data.scalar.length ? s : NULL;
}

bool yaml_scalar_plain(const yaml_node_t *node)
{
	return node->type == YAML_SCALAR_NODE && node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

const char *yaml_parse_digits(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return NULL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = *s - '0';

		if (v > (UINT64_MAX - d) / 10)
			return NULL;
		v = v * 10 + d;
	}
	*out = v;
	return s;
}

bool yaml_parse_u64(const char *s, uint64_t *out)
{
	const char *end = yaml_parse_digits(s, out);

	return end && !*end;
}
