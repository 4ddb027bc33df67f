/*
 * yaml_doc.h - one YAML document read from a buffer through libyaml, and the accessors every
 * YAML reader here needs: node lookup, scalar text, unsigned numbers, and "file:line: reason"
 * errors. The config and the rule files build their own grammars on it.
 *
 * A file holds exactly one document: a second one is almost certainly a paste mistake, and it
 * would otherwise be ignored without a word.
 */
#ifndef GW_YAML_DOC_H
#define GW_YAML_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

struct yaml_doc {
	yaml_document_t doc;
	bool loaded;
	const char *name; /* file name in messages */
	char *err;
	size_t errlen;
};

/*
 * Parses text as one YAML document. Returns 0, or -1 with "name:line: YAML syntax error: ..." or
 * "name:line: more than one YAML document" in err. yaml_doc_free either way.
 */
int yaml_doc_load(struct yaml_doc *d, const char *name, const char *text, size_t len, char *err,
		  size_t errlen);
void yaml_doc_free(struct yaml_doc *d);

/* The root node, NULL for an empty document. */
yaml_node_t *yaml_doc_root(struct yaml_doc *d);
/* The node of an id found in a mapping or a sequence, NULL if there is none. */
yaml_node_t *yaml_doc_node(struct yaml_doc *d, int id);
/* How many nodes the document holds (ids are 1..count). */
size_t yaml_doc_node_count(const struct yaml_doc *d);

/* Writes "name:line: <message>" into err; returns -1 for `return yaml_doc_fail(...)`. */
__attribute__((format(printf, 3, 4))) int yaml_doc_fail(struct yaml_doc *d, unsigned long line,
							const char *fmt, ...);
/* The same at a node's line (line 1 when node is NULL). */
__attribute__((format(printf, 3, 4))) int yaml_doc_fail_at(struct yaml_doc *d,
							   const yaml_node_t *node,
							   const char *fmt, ...);

/* 1-based line where the node starts. */
unsigned long yaml_node_line(const yaml_node_t *node);
/* "a scalar", "a list", "a mapping" or "nothing", for messages. */
const char *yaml_node_kind(yaml_node_type_t type);
/* A scalar's text, or NULL when it holds a NUL byte. */
const char *yaml_scalar_text(const yaml_node_t *node);
/* A scalar written without quotes (so "true" or "12" in quotes stays a string). */
bool yaml_scalar_plain(const yaml_node_t *node);

/* The leading decimal digits of s as a number, without overflow: returns the first byte after
 * them, or NULL when s does not start with a digit or the number does not fit. */
const char *yaml_parse_digits(const char *s, uint64_t *out);

/* All of s as a decimal number. */
bool yaml_parse_u64(const char *s, uint64_t *out);

#endif
