#include "testing.h"

#include "common/yaml_doc.h"

static int load(struct yaml_doc *d, const char *text, char *err, size_t errlen)
{
	return yaml_doc_load(d, "t.yaml", text, strlen(text), err, errlen);
}

TEST(one_document_loads)
{
	struct yaml_doc d;
	char err[256];
	yaml_node_t *root, *v;

	REQUIRE(load(&d, "a: 12\nb: \"12\"\n", err, sizeof(err)) == 0);
	CHECK_STR(err, "");
	root = yaml_doc_root(&d);
	REQUIRE(root && root->type == YAML_MAPPING_NODE);
	CHECK(yaml_doc_node_count(&d) == 5);
	v = yaml_doc_node(&d, root->data.mapping.pairs.start[0].value);
	CHECK(yaml_scalar_plain(v) && yaml_node_line(v) == 1);
	CHECK_STR(yaml_scalar_text(v), "12");
	v = yaml_doc_node(&d, root->data.mapping.pairs.start[1].value);
	CHECK(!yaml_scalar_plain(v) && yaml_node_line(v) == 2);
	CHECK(yaml_doc_node(&d, 99) == NULL);
	yaml_doc_free(&d);
}

TEST(errors_name_file_and_line)
{
	struct yaml_doc d;
	char err[256];

	CHECK(load(&d, "a: 1\nb: [\n", err, sizeof(err)) == -1);
	CHECK(strncmp(err, "t.yaml:3: YAML syntax error: ", 29) == 0);
	yaml_doc_free(&d);
	CHECK(load(&d, "a: 1\n---\na: 2\n", err, sizeof(err)) == -1);
	CHECK_STR(err, "t.yaml:2: more than one YAML document");
	yaml_doc_free(&d);
	REQUIRE(load(&d, "a: 1\n", err, sizeof(err)) == 0);
	CHECK(yaml_doc_fail_at(&d, yaml_doc_root(&d), "'%s' is wrong", "a") == -1);
	CHECK_STR(err, "t.yaml:1: 'a' is wrong");
	CHECK(yaml_doc_fail(&d, 7, "late") == -1);
	CHECK_STR(err, "t.yaml:7: late");
	yaml_doc_free(&d);
}

TEST(error_messages_are_truncated_not_overrun)
{
	struct yaml_doc d;
	char err[12];

	REQUIRE(load(&d, "a: 1\n", err, sizeof(err)) == 0);
	yaml_doc_fail(&d, 1, "a long message");
	CHECK_STR(err, "t.yaml:1: a");
	yaml_doc_free(&d);
}

TEST(scalar_with_nul_has_no_text)
{
	struct yaml_doc d;
	char err[128];

	REQUIRE(load(&d, "\"a\\0b\"\n", err, sizeof(err)) == 0);
	CHECK(yaml_scalar_text(yaml_doc_root(&d)) == NULL);
	CHECK_STR(yaml_node_kind(yaml_doc_root(&d)->type), "a scalar");
	yaml_doc_free(&d);
}

TEST(digits_parse_without_overflow)
{
	uint64_t v = 0;
	const char *end;

	CHECK(yaml_parse_u64("18446744073709551615", &v) && v == UINT64_MAX);
	CHECK(!yaml_parse_u64("18446744073709551616", &v));
	CHECK(!yaml_parse_u64("-1", &v) && !yaml_parse_u64("", &v) && !yaml_parse_u64("1x", &v));
	end = yaml_parse_digits("64KiB", &v);
	CHECK(end && v == 64 && strcmp(end, "KiB") == 0);
}

int main(void)
{
	RUN(one_document_loads);
	RUN(errors_name_file_and_line);
	RUN(error_messages_are_truncated_not_overrun);
	RUN(scalar_with_nul_has_no_text);
	RUN(digits_parse_without_overflow);
	return test_summary();
}
