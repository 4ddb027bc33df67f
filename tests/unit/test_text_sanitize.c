#include "testing.h"
#include "common/text_sanitize.h"

TEST(plain_ascii_passes)
{
	char out[32];

	CHECK(gw_text_sanitize(out, sizeof(out), "PiKVM", 5) == 0);
	CHECK_STR(out, "PiKVM");
}

TEST(utf8_passes_controls_escaped)
{
	char out[64];
	unsigned f = gw_text_sanitize(out, sizeof(out), "Gr\xc3\xbc\xc3\x9f\x1b[31m", 11);

	CHECK_STR(out, "Gr\xc3\xbc\xc3\x9f\\x1b[31m");
	CHECK(f == GW_TEXT_ESCAPED);
}

TEST(invalid_utf8_and_backslash_escaped)
{
	char out[64];

	gw_text_sanitize(out, sizeof(out), "a\xff\xc0\xafz\\", 6);
	CHECK_STR(out, "a\\xff\\xc0\\xafz\\x5c");
	/* surrogate half and C1 control */
	gw_text_sanitize(out, sizeof(out), "\xed\xa0\x80\xc2\x85", 5);
	CHECK_STR(out, "\\xed\\xa0\\x80\\xc2\\x85");
}

TEST(stops_at_nul_and_truncates_whole_units)
{
	char out[8];
	unsigned f;

	f = gw_text_sanitize(out, sizeof(out), "abc\0def", 7);
	CHECK_STR(out, "abc");
	CHECK(f == 0);
	f = gw_text_sanitize(out, sizeof(out), "abcdef\x01", 7);
	CHECK_STR(out, "abcdef");
	CHECK(f & GW_TEXT_TRUNCATED);
	f = gw_text_sanitize(out, 4, "\xe2\x82\xac\xe2\x82\xac", 6);
	CHECK_STR(out, "\xe2\x82\xac");
	CHECK(f & GW_TEXT_TRUNCATED);
	CHECK(gw_text_sanitize(out, 0, "x", 1) == GW_TEXT_TRUNCATED);
}

TEST(very_long_input_is_bounded)
{
	static char big[100000];
	char out[256];

	memset(big, 0xfe, sizeof(big));
	CHECK(gw_text_sanitize(out, sizeof(out), big, sizeof(big)) & GW_TEXT_TRUNCATED);
	CHECK(strlen(out) <= 255 && strlen(out) % 4 == 0);
}

int main(void)
{
	RUN(plain_ascii_passes);
	RUN(utf8_passes_controls_escaped);
	RUN(invalid_utf8_and_backslash_escaped);
	RUN(stops_at_nul_and_truncates_whole_units);
	RUN(very_long_input_is_bounded);
	return test_summary();
}
