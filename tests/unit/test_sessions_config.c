/* The config's employee section and sessions keys: declared hours, days and zone checked at load
 * with the line of the key at fault. */
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "testing.h"

static struct gw_config *parse(const char *text, char *err)
{
	return gw_config_parse("test.yaml", text, strlen(text), err, GW_CONFIG_ERR_LEN);
}

TEST(employee_and_sessions_accepted)
{
	char err[GW_CONFIG_ERR_LEN];
	struct gw_config *c = parse("employee:\n  id: e-1042\n  timezone: America/New_York\n"
				    "  hours: \"09:00-18:00\"\n  days: mon-fri\n"
				    "sessions:\n  state_file: /tmp/a.state\n"
				    "  off_hours_percent: 60\n"
				    "  min_active_minutes: 300\n",
				    err);

	REQUIRE(c);
	CHECK_STR(c->employee_timezone, "America/New_York");
	CHECK_STR(c->sessions_state_file, "/tmp/a.state");
	CHECK(c->sessions_off_hours_percent == 60);
	CHECK(c->sessions_min_active_minutes == 300);
	gw_config_free(c);
	c = parse("", err);
	REQUIRE(c);
	CHECK_STR(c->sessions_state_file, "/var/lib/ghostwatch/activity.state");
	CHECK(c->sessions_off_hours_percent == 50 && c->sessions_min_active_minutes == 600);
	gw_config_free(c);
}

TEST(employee_refused_with_line)
{
	char err[GW_CONFIG_ERR_LEN];

	CHECK(!parse("host_id: a\nemployee:\n  timezone: America/Springfield\n", err));
	CHECK(strstr(err, "test.yaml:3:") && strstr(err, "not a timezone under"));
	CHECK(!parse("employee:\n  timezone: ../../etc/passwd\n", err));
	CHECK(strstr(err, "test.yaml:2:") != NULL);
	CHECK(!parse("employee:\n  id: x\n  hours: 9-6\n", err));
	CHECK(strstr(err, "test.yaml:3:") && strstr(err, "employee.hours"));
	CHECK(!parse("employee:\n  days: weekdays\n", err));
	CHECK(strstr(err, "test.yaml:2:") && strstr(err, "employee.days"));
	CHECK(!parse("sessions:\n  off_hours_percent: 100\n", err));
	CHECK(strstr(err, "test.yaml:2:") != NULL);
	CHECK(!parse("sessions:\n  state_file: relative.state\n", err));
}

int main(void)
{
	RUN(employee_and_sessions_accepted);
	RUN(employee_refused_with_line);
	return test_summary();
}
