#include "testing.h"

#include <stdlib.h>

#include "ghostwatch.pb-c.h"
#include "common/json_emit.h"
#include "process/process_events.h"
#include "common/text.h"

static char *capture(void (*fn)(FILE *, const void *), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fn(f, arg);
	fclose(f);
	return buf;
}

static void escape_fn(FILE *f, const void *s)
{
	gw_json_escape(f, s);
}

static void display_fn(FILE *f, const void *s)
{
	gw_display_escape(f, s);
}

static void event_fn(FILE *f, const void *ev)
{
	gw_json_write_typed_line(f, ev, NULL);
}

TEST(utf8_sanitize_replaces_invalid_bytes)
{
	char out[64];

	gw_utf8_sanitize("ok", 10, out, sizeof(out));
	CHECK_STR(out, "ok");
	gw_utf8_sanitize("a\xff" "b", 10, out, sizeof(out));
	CHECK_STR(out, "a\xef\xbf\xbd" "b");
	gw_utf8_sanitize("caf\xc3\xa9", 10, out, sizeof(out));
	CHECK_STR(out, "caf\xc3\xa9");
	gw_utf8_sanitize("\xc0\xaf", 10, out, sizeof(out)); /* overlong '/' */
	CHECK_STR(out, "\xef\xbf\xbd\xef\xbf\xbd");
	gw_utf8_sanitize("\xed\xa0\x80", 10, out, sizeof(out)); /* surrogate */
	CHECK_STR(out, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	gw_utf8_sanitize("\xe2\x82", 10, out, sizeof(out)); /* cut sequence */
	CHECK_STR(out, "\xef\xbf\xbd\xef\xbf\xbd");
	gw_utf8_sanitize("abcdef", 3, out, sizeof(out)); /* length bound */
	CHECK_STR(out, "abc");
	gw_utf8_sanitize("abcdef", 10, out, 4); /* output bound, still terminated */
	CHECK_STR(out, "abc");
}

TEST(json_escape_keeps_one_line)
{
	char *s = capture(escape_fn, "a\"b\\c\nd\te\x01\x7f" "f\xe2\x80\xa8g\xc2\x85h");

	CHECK_STR(s, "a\\\"b\\\\c\\nd\\te\\u0001\\u007ff\\u2028g\\u0085h");
	free(s);
}

static void escape_len_fn(FILE *f, const void *s)
{
	gw_json_escape_len(f, s, 9);
}

TEST(json_escape_writes_invalid_bytes_by_value)
{
	/* a lone lead byte of NEL and of LS, a stray continuation byte, an embedded NUL */
	char *s = capture(escape_len_fn, "a\xc2" "b\xe2\x80" "c\x80\0" "d");

	CHECK_STR(s, "a\\u00c2b\\u00e2\\u0080c\\u0080\\u0000d");
	free(s);
}

TEST(utf8_valid_is_strict)
{
	CHECK(gw_utf8_valid("caf\xc3\xa9", 5));
	CHECK(gw_utf8_valid("\xf0\x9f\x98\x80", 4));
	CHECK(!gw_utf8_valid("\xc0\xaf", 2));	      /* overlong */
	CHECK(!gw_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	CHECK(!gw_utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
	CHECK(!gw_utf8_valid("\xe2\x82", 2));	      /* cut */
	CHECK(gw_utf8_seq_len("\xe2\x82\xac", 3) == 3);
	CHECK(gw_utf8_seq_len("\xe2\x82\xac", 2) == 0);
}

TEST(display_escape_for_terminals)
{
	char *s = capture(display_fn, "x\ny\x1b[31m");

	CHECK_STR(s, "x\\ny\\x1b[31m");
	free(s);
}

TEST(event_json_uses_proto_field_names)
{
	Ghostwatch__V1__Event ev = GHOSTWATCH__V1__EVENT__INIT;
	Ghostwatch__V1__ProcessExit ex = GHOSTWATCH__V1__PROCESS_EXIT__INIT;
	Ghostwatch__V1__Process p = GHOSTWATCH__V1__PROCESS__INIT;
	char *argv[] = { "sh", "-c", "q\"uote" };
	char *s;

	p.pid = 12;
	p.process_id = 18446744073709551615ULL;
	p.comm = "sh";
	p.argv = argv;
	p.n_argv = 3;
	ex.process = &p;
	ex.exit_code = 3;
	ev.event_id = 9;
	ev.kind_case = GHOSTWATCH__V1__EVENT__KIND_EXIT;
	ev.exit = &ex;
	s = capture(event_fn, &ev);
	CHECK(strncmp(s, "{\"type\":\"exit\",\"event_id\":\"9\",", 30) == 0);
	CHECK(strstr(s, "\"process_id\":\"18446744073709551615\"") != NULL);
	CHECK(strstr(s, "\"argv\":[\"sh\",\"-c\",\"q\\\"uote\"]") != NULL);
	CHECK(strstr(s, "\"exit_code\":3") != NULL);
	CHECK(strstr(s, "\"argv_truncated\":false") != NULL);
	CHECK(strstr(s, "\"exec\"") == NULL); /* unset oneof members are absent */
	CHECK(s[strlen(s) - 1] == '\n' && strchr(s, '\n') == s + strlen(s) - 1);
	free(s);
}

TEST(path_parts_are_reversed)
{
	char out[64];

	process_join_path("ls\0bin\0usr\0", 11, 3, out, sizeof(out));
	CHECK_STR(out, "/usr/bin/ls");
	process_join_path("", 1, 0, out, sizeof(out));
	CHECK_STR(out, "/");
	/* depth claims more than the buffer holds: stop at the buffer */
	process_join_path("a\0b", 3, 9, out, sizeof(out));
	CHECK_STR(out, "/b/a");
	/* output too small: truncated, still terminated */
	process_join_path("name\0dir\0", 9, 2, out, 6);
	CHECK_STR(out, "/dir");
}

int main(void)
{
	RUN(utf8_sanitize_replaces_invalid_bytes);
	RUN(json_escape_keeps_one_line);
	RUN(json_escape_writes_invalid_bytes_by_value);
	RUN(utf8_valid_is_strict);
	RUN(display_escape_for_terminals);
	RUN(event_json_uses_proto_field_names);
	RUN(path_parts_are_reversed);
	return test_summary();
}
