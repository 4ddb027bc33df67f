/* Unit tests of the fleet report's HTML page: escaping, the heat-map in the declared timezone,
 * farms drawn once per membership, the fleet detection that feeds them and the server's client
 * list it reads. */
#include <stdlib.h>
#include <string.h>

#include "fleet_detect.h"
#include "fleet_html.h"
#include "roster.h"
#include "testing.h"

static char *render(struct fleet_view *v)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (!out)
		return NULL;
	fleet_html_write(v, out, 1796601600ull * 1000000000ull, NULL);	/* 2026-12-07 00:00 UTC */
	fclose(out);
	return text;
}

TEST(agent_strings_are_escaped)
{
	struct fleet_view v;
	struct fleet_host *h;
	char *page;

	fleet_view_init(&v);
	h = fleet_view_host(&v, "host-a");
	REQUIRE(h);
	fleet_set_str(&h->hostname, "<script>x</script>\"'&\x1b");
	fleet_host_add_finding(h, "rule<b>", "high", 1);
	page = render(&v);
	REQUIRE(page);
	CHECK(strstr(page, "&lt;script&gt;x&lt;/script&gt;&quot;&#39;&amp;?"));
	CHECK(!strstr(page, "<script"));
	CHECK(strstr(page, "rule&lt;b&gt;"));
	CHECK(strstr(page, "id=\"no-activity\""));
	free(page);
	fleet_view_free(&v);
}

TEST(the_heat_map_is_in_the_employees_timezone)
{
	struct fleet_view v;
	struct fleet_host *h;
	char *page;

	fleet_view_init(&v);
	h = fleet_view_host(&v, "host-a");
	REQUIRE(h);
	h->has_activity = true;
	h->activity[0] = 60;	/* Monday 00:00-01:00 UTC */
	fleet_set_str(&h->employee_timezone, "Asia/Tokyo");	/* UTC+9, no DST */
	page = render(&v);
	REQUIRE(page);
	CHECK(strstr(page, "title=\"Mon 09:00 60 min\""));
	CHECK(!strstr(page, "title=\"Mon 00:00 60 min\""));
	CHECK(!strstr(page, "id=\"no-activity\""));
	free(page);
	fleet_set_str(&h->employee_timezone, "Not/AZone");
	page = render(&v);
	REQUIRE(page);
	CHECK(strstr(page, "title=\"Mon 00:00 60 min\""));
	CHECK(strstr(page, "UTC (no declared timezone)"));
	free(page);
	fleet_view_free(&v);
}

TEST(the_roster_marks_silent_employees_and_escapes_their_ids)
{
	struct roster_opts o = { .silent_days = 7 };
	uint64_t now = 1796601600ull * 1000000000ull, day = 86400ull * 1000000000ull;
	struct fleet_view v;
	struct fleet_host *a, *b;
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	fleet_view_init(&v);
	a = fleet_view_host(&v, "lap-1");
	b = fleet_view_host(&v, "lap-2");
	REQUIRE(a && b);
	fleet_set_str(&a->employee_id, "emp<a>");
	fleet_set_str(&b->employee_id, "emp-b");
	a->last_seen_ns = now - 9 * day;
	b->last_seen_ns = now - day;
	a->batches = b->batches = 1;
	out = open_memstream(&text, &len);
	REQUIRE(out);
	fleet_html_write(&v, out, now, &o);
	fclose(out);
	REQUIRE(text);
	CHECK(strstr(text, "<h2 id=\"roster\">Employees</h2>"));
	CHECK(strstr(text, "<tr class=\"silent\"><td>emp&lt;a&gt;</td><td>lap-1 </td><td>216 h ago "
			   "<b>SILENT</b></td></tr>"));
	CHECK(strstr(text, "<tr><td>emp-b</td><td>lap-2 </td><td>24 h ago</td></tr>"));
	CHECK(!strstr(text, "emp<a>"));
	free(text);
	fleet_view_free(&v);
}

static struct fleet_host *place_host(struct fleet_view *v, const char *id, const char *employee,
				     const char *gateway)
{
	struct fleet_host *h = fleet_view_host(v, id);

	if (!h)
		return NULL;
	fleet_set_str(&h->employee_id, employee);
	snprintf(h->place.gateway, sizeof(h->place.gateway), "%s", gateway);
	h->place.time_ns = 1000;
	h->detect_due = true;
	return h;
}

TEST(a_farm_needs_two_employees_and_is_raised_once)
{
	struct fleet_view v;
	struct fleet_alert alerts[8];
	char *touched[] = { "host-a" };
	struct fleet_host *a, *b, *c;
	size_t n;
	char *page;

	fleet_view_init(&v);
	a = place_host(&v, "host-a", "emp-1", "aaaa");
	b = place_host(&v, "host-b", "emp-1", "aaaa");
	c = place_host(&v, "host-c", "emp-9", "cccc");
	REQUIRE(a && b && c);
	/* one employee's two laptops in one room is no farm */
	CHECK(fleet_detect(&v, touched, 1, 2000, alerts, 8) == 0);
	fleet_set_str(&b->employee_id, "emp-2");
	CHECK(fleet_detect(&v, touched, 1, 2000, alerts, 8) == 0);	/* host-a did not change */
	a->detect_due = true;
	n = fleet_detect(&v, touched, 1, 2000, alerts, 8);
	REQUIRE(n == 2);
	CHECK_STR(alerts[0].f.severity, "high");
	CHECK(strstr(alerts[0].matched, "host-a (employee emp-1), host-b (employee emp-2)"));
	CHECK(strstr(alerts[0].matched, "gateway MAC hash aaaa"));
	CHECK(!strstr(alerts[0].matched, "host-c"));
	fleet_detect_mark(a, &alerts[0]);
	fleet_detect_mark(b, &alerts[1]);
	a->detect_due = true;
	CHECK(fleet_detect(&v, touched, 1, 2000, alerts, 8) == 0);	/* said already */
	/* a day later the room is no longer current */
	fleet_host_set_raised(a, "GW-FLEET-LAPTOP-FARM", "");
	a->detect_due = true;
	CHECK(fleet_detect(&v, touched, 1, 1000 + FLEET_FARM_WINDOW_NS + 1, alerts, 8) == 0);
	fleet_host_set_raised(a, "GW-FLEET-LAPTOP-FARM", alerts[0].signature);
	page = render(&v);
	REQUIRE(page);
	CHECK(strstr(page, "data-hosts=\"host-a host-b\""));
	CHECK(strstr(page, "data-hosts=\"host-a host-b\"") ==
	      strstr(page, "data-hosts="));	/* drawn once, not once per member */
	CHECK(!strstr(strstr(page, "data-hosts=") + 1, "data-hosts="));
	CHECK(fleet_host_score(a) == 30 && fleet_host_score(c) == 0);
	free(page);
	/* the agent of host-b reports a PiKVM gadget: the farm becomes critical on both */
	fleet_host_add_finding(b, "GW-KVM-0001", "critical", 1);
	fleet_host_set_matched(b, "GW-KVM-0001", "usb 1d6b:0104", "ipkvm");
	b->detect_due = true;
	touched[0] = "host-b";
	n = fleet_detect(&v, touched, 1, 2000, alerts, 8);
	REQUIRE(n == 2);
	CHECK_STR(alerts[0].f.severity, "critical");
	CHECK(strstr(alerts[0].matched, "IP-KVM evidence: host-b: finding GW-KVM-0001"));
	fleet_view_free(&v);
}

TEST(the_servers_client_list_is_read)
{
	static const char connz[] =
		"{\"server_id\":\"X\",\"connections\":[\n"
		" {\"cid\":5,\"ip\":\"192.0.2.7\",\"reason\":\"TLS Handshake Failure\"},\n"
		" {\"cid\":6,\"ip\":\"198.51.100.4\",\"tls_peer_certs\":[{\"subject\":"
		"\"CN=host-a\"}],\"name\":\"a \\\"quoted\\\" ]} name\",\"authorized_user\":"
		"\"CN=host-a\",\"account\":\"GHOSTWATCH\"},\n"
		" {\"cid\":7,\"ip\":\"198.51.100.4\",\"authorized_user\":\"CN=host-b\"}\n"
		"],\"ip\":\"not a connection\"}";
	struct nats_client_addr *c = NULL;
	struct fleet_alert alerts[4];
	struct fleet_view v;
	size_t n = 0;

	REQUIRE(nats_monitor_parse(connz, sizeof(connz) - 1, &c, &n) == 0);
	REQUIRE(n == 3);
	CHECK_STR(c[0].ip, "192.0.2.7");
	CHECK_STR(c[0].user, "");
	CHECK_STR(c[1].user, "CN=host-a");
	CHECK_STR(c[2].ip, "198.51.100.4");
	fleet_view_init(&v);
	place_host(&v, "host-a", "emp-1", "");
	place_host(&v, "host-b", "emp-2", "");
	CHECK(fleet_detect_egress(&v, c, n, alerts, 4) == 2);
	CHECK_STR(alerts[0].subject, "198.51.100.4");
	free(c);
	CHECK(nats_monitor_parse(connz, 60, &c, &n) == -1 && c == NULL);	/* cut short */
	CHECK(nats_monitor_url_valid("http://127.0.0.1:8222"));
	CHECK(!nats_monitor_url_valid("http://127.0.0.1:8222/connz"));
	CHECK(!nats_monitor_url_valid("https://127.0.0.1:8222"));
	fleet_view_free(&v);
}

int main(void)
{
	RUN(the_roster_marks_silent_employees_and_escapes_their_ids);
	RUN(agent_strings_are_escaped);
	RUN(the_heat_map_is_in_the_employees_timezone);
	RUN(a_farm_needs_two_employees_and_is_raised_once);
	RUN(the_servers_client_list_is_read);
	return test_summary();
}
