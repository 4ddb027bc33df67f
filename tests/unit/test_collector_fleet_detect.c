/* Unit tests of the collector's place record and the laptop-farm finding built on it. */
#include <stdlib.h>
#include <string.h>

#include "fleet_detect.h"
#include "fleet_place.h"
#include "testing.h"

#define T0 1800000000000000000ull
#define MINUTE (60ull * 1000000000ull)

/* A Place as the agent sends it: gw = gateway MAC hash (with a gateway address), bssid = on
 * Wi-Fi with that access point; NULL = none. neigh: the neighbour hashes, NULL-terminated. */
static Ghostwatch__V1__Place place(const char *gw, const char *bssid, char **neigh)
{
	Ghostwatch__V1__Place p;

	ghostwatch__v1__place__init(&p);
	p.gateway_address = gw ? "192.168.1.1" : "";
	p.gateway_mac_hash = (char *)(gw ? gw : "");
	p.wifi_ssid = bssid ? "office" : "";
	p.wifi_bssid_hash = (char *)(bssid ? bssid : "");
	p.timezone = "Europe/Warsaw";
	for (char **n = neigh; n && *n; n++)
		p.n_neighbour_hashes++;
	p.neighbour_hashes = neigh;
	p.neighbours = (uint32_t)p.n_neighbour_hashes;
	return p;
}

/* The same Place in a batch header's compact form: no neighbour hashes, their count kept. */
static Ghostwatch__V1__Place compact(Ghostwatch__V1__Place p)
{
	p.n_neighbour_hashes = 0;
	p.neighbour_hashes = NULL;
	return p;
}

TEST(a_place_is_the_whole_place_but_the_compact_form_keeps_the_neighbours)
{
	char *room[] = { "aa01", "aa02", "aa03", NULL };
	struct fleet_place p = { 0 };
	struct fleet_place_history hist = { 0 };
	Ghostwatch__V1__Place pl = place("gw01", "ap01", room);
	Ghostwatch__V1__LanVendor kvm;
	Ghostwatch__V1__LanVendor *vendors[] = { &kvm };

	ghostwatch__v1__lan_vendor__init(&kvm);
	kvm.oui = "94:83:C4";
	kvm.vendor = "GL.iNet";
	kvm.count = 1;
	kvm.ipkvm = true;
	pl.neighbour_vendors = vendors;
	pl.n_neighbour_vendors = 1;
	CHECK(fleet_place_record(&p, &hist, &pl, T0));
	CHECK_STR(p.ipkvm, "GL.iNet");
	CHECK_STR(p.gateway, "gw01");
	CHECK_STR(p.bssid, "ap01");
	CHECK(p.n_neighbours == 3);
	/* the header of the next batch: nothing changed, the neighbours stay */
	pl = compact(pl);
	CHECK(!fleet_place_record(&p, &hist, &pl, T0 + MINUTE));
	CHECK(p.n_neighbours == 3);
	CHECK_STR(p.ipkvm, "GL.iNet");
	/* the gateway's MAC not resolved yet (the agent just started): the last one stays */
	pl = place("gw01", "ap01", room);
	pl.gateway_mac_hash = "";
	CHECK(!fleet_place_record(&p, &hist, &pl, T0 + 2 * MINUTE));
	CHECK_STR(p.gateway, "gw01");
	/* off the Wi-Fi, on a cable: no access point any more */
	pl = compact(place("gw02", NULL, room));
	CHECK(fleet_place_record(&p, &hist, &pl, T0 + 3 * MINUTE));
	CHECK_STR(p.gateway, "gw02");
	CHECK_STR(p.bssid, "");
	/* unplugged: no gateway, no neighbours */
	pl = compact(place(NULL, NULL, NULL));
	CHECK(fleet_place_record(&p, &hist, &pl, T0 + 4 * MINUTE));
	CHECK_STR(p.gateway, "");
	CHECK(p.n_neighbours == 0);
	CHECK_STR(p.ipkvm, "");
	/* what was seen is still history (the moved finding) */
	CHECK(fleet_place_kinds(&hist, "gateway", NULL) == 2);
	CHECK(fleet_place_kinds(&hist, "bssid", NULL) == 1);
	fleet_place_free(&p);
}

static void at(struct fleet_view *v, const char *id, const char *employee,
			     const Ghostwatch__V1__Place *pl, uint64_t now)
{
	struct fleet_host *h = fleet_view_host(v, id);

	REQUIRE(h);
	fleet_set_str(&h->employee_id, employee);
	fleet_place_record(&h->place, &h->places_seen, pl, now);
	h->detect_due = true;
}

static size_t farms(struct fleet_view *v, char *touched, uint64_t now, struct fleet_alert *out,
		    size_t max)
{
	size_t n = fleet_detect(v, &touched, 1, now, out, max), farm = 0;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(out[i].f.rule_id, "GW-FLEET-LAPTOP-FARM") != 0)
			continue;
		fleet_detect_mark(fleet_view_host(v, out[i].host_id), &out[i]);
		out[farm++] = out[i];
	}
	return farm;
}

/* An employee who worked from the office Wi-Fi one morning and went home on a cable is not in
 * a room with a colleague who is at the office in the afternoon. */
TEST(a_laptop_that_left_a_wifi_is_not_in_that_room_any_more)
{
	char *office[] = { "of01", NULL }, *home[] = { "hm01", NULL };
	struct fleet_alert out[8];
	struct fleet_view v;
	Ghostwatch__V1__Place pl;

	fleet_view_init(&v);
	pl = place("gwof", "apof", office);
	at(&v, "host-a", "emp-1", &pl, T0);
	pl = compact(place("gwhm", NULL, home));
	at(&v, "host-a", "emp-1", &pl, T0 + 60 * MINUTE);
	CHECK(farms(&v, "host-a", T0 + 60 * MINUTE, out, 8) == 0);
	/* the colleague on the office Wi-Fi behind another router (a mesh's second node) */
	pl = place("gwo2", "apof", office);
	at(&v, "host-b", "emp-2", &pl, T0 + 120 * MINUTE);
	CHECK(farms(&v, "host-b", T0 + 120 * MINUTE, out, 8) == 0);

	/* a third employee really shares host-b's access point: both are named, host-a is not */
	pl = place("gwo3", "apof", NULL);
	at(&v, "host-c", "emp-3", &pl, T0 + 121 * MINUTE);
	REQUIRE(farms(&v, "host-c", T0 + 121 * MINUTE, out, 8) == 2);
	CHECK_STR(out[0].subject, "2 hosts, 2 employees");
	CHECK(strstr(out[0].matched, "host-b (employee emp-2), host-c (employee emp-3)"));
	CHECK(strstr(out[0].matched, "Wi-Fi BSSID hash apof"));
	CHECK(!strstr(out[0].matched, "host-a"));
	fleet_view_free(&v);
}

int main(void)
{
	RUN(a_place_is_the_whole_place_but_the_compact_form_keeps_the_neighbours);
	RUN(a_laptop_that_left_a_wifi_is_not_in_that_room_any_more);
	return test_summary();
}
