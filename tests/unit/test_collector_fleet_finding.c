/* Unit tests of the collector's own findings: the NDJSON line and the mark on the host. */
#include <stdlib.h>
#include <string.h>

#include "fleet_finding.h"
#include "testing.h"

TEST(a_finding_is_a_finding_line_and_marks_the_host)
{
	struct fleet_view v;
	struct fleet_finding f = { .rule_id = "GW-FLEET-TEST", .title = "test \"quoted\"",
				   .category = "tamper", .severity = "high",
				   .confidence = "medium", .subject = "agent",
				   .matched = "gap of 61 s", .time_ns = 1700000000000000000ull };
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	struct fleet_host *h;

	REQUIRE(out);
	fleet_view_init(&v);
	fleet_finding_raise(out, &v, "host-a", &f);
	fclose(out);
	CHECK(len > 0 && text[len - 1] == '\n');
	CHECK(strncmp(text, "{\"type\":\"finding\"", 17) == 0);
	CHECK(strstr(text, "\"host_id\":\"host-a\""));
	CHECK(strstr(text, "\"source\":\"collector\""));
	CHECK(strstr(text, "\"rule_id\":\"GW-FLEET-TEST\""));
	CHECK(strstr(text, "\"title\":\"test \\\"quoted\\\"\""));
	CHECK(strstr(text, "\"severity\":\"high\""));
	h = fleet_view_host(&v, "host-a");
	REQUIRE(h);
	REQUIRE(h->n_findings == 1);
	CHECK_STR(h->findings[0].rule_id, "GW-FLEET-TEST");
	CHECK_STR(fleet_host_worst_severity(h), "high");
	free(text);
	fleet_view_free(&v);
}

int main(void)
{
	RUN(a_finding_is_a_finding_line_and_marks_the_host);
	return test_summary();
}
