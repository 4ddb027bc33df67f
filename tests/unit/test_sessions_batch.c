/* The activity profile rides in every fleet batch (Batch.activity_profile, field 11): a draft
 * with a profile encodes to a Batch that decodes with the 168 hours intact. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fleet/batch.h"
#include "testing.h"

TEST(profile_in_the_batch)
{
	Ghostwatch__V1__ActivityProfile prof = GHOSTWATCH__V1__ACTIVITY_PROFILE__INIT;
	Ghostwatch__V1__HostIdentity host = GHOSTWATCH__V1__HOST_IDENTITY__INIT;
	Ghostwatch__V1__Event ev = GHOSTWATCH__V1__EVENT__INIT;
	struct gw_batch_builder b;
	struct gw_batch_draft *d;
	Ghostwatch__V1__Batch *out;
	uint32_t minutes[168] = { 0 };
	uint8_t *z, *raw;
	size_t z_len, raw_len;
	uLongf got;

	minutes[9] = 120;
	minutes[167] = 7;
	prof.n_minutes = 168;
	prof.minutes = minutes;
	prof.total_minutes = 127;
	prof.timezone = "America/New_York";
	prof.best_fit = "UTC+9 09:00-18:00 (100% inside)";
	host.host_id = "h1";
	ev.event_id = 1;
	gw_batch_builder_init(&b, 10, 1);
	REQUIRE(gw_batch_add(&b, &ev) == 0);
	d = gw_batch_cut(&b, 2, NULL);
	REQUIRE(d);
	REQUIRE(gw_batch_draft_set_profile(d, &prof) == 0);
	REQUIRE(gw_batch_encode(d, &host, 5, NULL, 1, &z, &z_len, &raw_len) == 0);
	raw = malloc(raw_len);
	got = raw_len;
	REQUIRE(uncompress(raw, &got, z, z_len) == Z_OK && got == raw_len);
	out = ghostwatch__v1__batch__unpack(NULL, raw_len, raw);
	REQUIRE(out);
	CHECK(out->seq == 5 && out->n_events == 1);
	REQUIRE(out->activity_profile);
	CHECK(out->activity_profile->n_minutes == 168);
	CHECK(out->activity_profile->minutes[9] == 120 && out->activity_profile->minutes[167] == 7);
	CHECK_STR(out->activity_profile->best_fit, "UTC+9 09:00-18:00 (100% inside)");
	ghostwatch__v1__batch__free_unpacked(out, NULL);
	free(raw);
	free(z);
	gw_batch_draft_free(d);
	gw_batch_builder_free(&b);
}

int main(void)
{
	RUN(profile_in_the_batch);
	return test_summary();
}
