#include "testing.h"

#include <stdlib.h>

#include "core/config.h"

static struct gw_config *parse(const char *text, char *err, size_t errlen)
{
	return gw_config_parse("t.yaml", text, strlen(text), err, errlen);
}

TEST(patterns_are_kept_in_order)
{
	char err[GW_CONFIG_ERR_LEN];
	struct gw_config *c = parse("log_level: info\n"
				    "redact:\n"
				    "  - 'corp-[0-9a-f]{8}'\n"
				    "  - '--vault=([^ ]+)'\n",
				    err, sizeof(err));

	REQUIRE(c);
	CHECK(c->n_redact_patterns == 2);
	CHECK_STR(c->redact_patterns[0], "corp-[0-9a-f]{8}");
	CHECK_STR(c->redact_patterns[1], "--vault=([^ ]+)");
	gw_config_free(c);
}

TEST(default_is_none)
{
	char err[GW_CONFIG_ERR_LEN];
	struct gw_config *c = parse("", err, sizeof(err));

	REQUIRE(c);
	CHECK(c->n_redact_patterns == 0);
	gw_config_free(c);
}

TEST(bad_pattern_is_an_error_at_its_line)
{
	char err[GW_CONFIG_ERR_LEN];

	CHECK(parse("redact:\n  - 'ok[0-9]+'\n  - 'a(b'\n", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "t.yaml:3:") != NULL);
	CHECK(strstr(err, "a(b") != NULL);
	CHECK(parse("redact:\n  - 'x*'\n", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "t.yaml:2:") && strstr(err, "empty string"));
	CHECK(parse("redact: 'token'\n", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "t.yaml:1:") && strstr(err, "list"));
	CHECK(parse("redact:\n  - {a: b}\n", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "t.yaml:2:") != NULL);
	CHECK(parse("redact:\n  - ''\n", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "non-empty") != NULL);
}

TEST(too_many_patterns)
{
	char text[8192], err[GW_CONFIG_ERR_LEN];
	size_t o = (size_t)snprintf(text, sizeof(text), "redact:\n");

	for (int i = 0; i <= GW_CONFIG_MAX_REDACT; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "  - 'p%d'\n", i);
	CHECK(parse(text, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "more than") != NULL);
}

int main(void)
{
	RUN(patterns_are_kept_in_order);
	RUN(default_is_none);
	RUN(bad_pattern_is_an_error_at_its_line);
	RUN(too_many_patterns);
	return test_summary();
}
