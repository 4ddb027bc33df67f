/* Unit tests of the rules files list the detections hand the tamper domain (core/loaded_rules). */
#include <string.h>

#include "core/loaded_rules.h"
#include "testing.h"

TEST(files_are_listed_once_in_load_order_and_each_load_is_a_generation)
{
	struct gw_loaded_rules r = { 0 };
	const char *first[] = { "/r/rmm.yaml", "/r/rmm.yaml", "/r/vpn.yaml", NULL, "/d/local.yaml",
				"/r/vpn.yaml" };
	const char *second[] = { "/r/rmm.yaml" };

	REQUIRE(loaded_rules_set(&r, first, 6, 6, 4) == 0);
	CHECK(r.n == 3);
	CHECK_STR(r.files[0], "/r/rmm.yaml");
	CHECK_STR(r.files[1], "/r/vpn.yaml");
	CHECK_STR(r.files[2], "/d/local.yaml");
	CHECK(r.total == 6 && r.enabled == 4 && r.generation == 1);
	REQUIRE(loaded_rules_set(&r, second, 1, 1, 0) == 0);
	CHECK(r.n == 1 && r.enabled == 0 && r.generation == 2);
	loaded_rules_free(&r);
	CHECK(r.n == 0 && !r.files);
}

int main(void)
{
	RUN(files_are_listed_once_in_load_order_and_each_load_is_a_generation);
	return test_summary();
}
