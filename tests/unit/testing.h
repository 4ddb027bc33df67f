/*
 * testing.h - the unit-test harness: TAP output, no dependencies.
 *
 * A test file defines TEST(name) functions and a main() of RUN(name) lines followed by
 * `return test_summary();`. CHECK() records a failure with file:line and the expression and lets the
 * test go on; REQUIRE() returns from the test at once. tests/unit/test_unit.py runs every binary.
 */
#ifndef GW_TESTING_H
#define GW_TESTING_H

#include <stdio.h>
#include <string.h>

struct test_state {
	int run, failed, current_failed;
};
static struct test_state test_state;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                                               \
	do {                                                                                      \
		if (!(cond)) {                                                                    \
			test_state.current_failed++;                                              \
			printf("#   %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);        \
		}                                                                                 \
	} while (0)

#define REQUIRE(cond)                                                                             \
	do {                                                                                      \
		if (!(cond)) {                                                                    \
			test_state.current_failed++;                                              \
			printf("#   %s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond);      \
			return;                                                                   \
		}                                                                                 \
	} while (0)

#define CHECK_STR(a, b)                                                                           \
	do {                                                                                      \
		const char *a_ = (a), *b_ = (b);                                                  \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                          \
			test_state.current_failed++;                                              \
			printf("#   %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__, a_ ? a_ : "(null)", \
			       b_ ? b_ : "(null)");                                                \
		}                                                                                 \
	} while (0)

#define RUN(name)                                                                                 \
	do {                                                                                      \
		test_state.current_failed = 0;                                                    \
		name();                                                                           \
		test_state.run++;                                                                 \
		if (test_state.current_failed)                                                    \
			test_state.failed++;                                                      \
		printf("%sok %d - %s\n", test_state.current_failed ? "not " : "", test_state.run, \
		       #name);                                                                    \
		fflush(stdout);                                                                   \
	} while (0)

static inline int test_summary(void)
{
	printf("1..%d\n# %d passed, %d failed\n", test_state.run, test_state.run - test_state.failed,
	       test_state.failed);
	return test_state.failed ? 1 : 0;
}

#endif
