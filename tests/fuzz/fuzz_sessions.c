// fuzz: agent/sessions/tz_file.c agent/sessions/activity_profile.c agent/sessions/session_utmp.c agent/sessions/session_info.c agent/core/work_hours.c agent/core/small_file.c common/text.c
/* The sessions domain's readers of files it does not write or trust the state of: a TZif file, the
 * activity state file and a utmp image; the first byte picks which. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sessions/activity_profile.h"
#include "sessions/session_utmp.h"
#include "sessions/tz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tz_file tz;
	static struct activity_profile p;
	static struct session_info out[SESSION_MAX];
	static const struct work_hours office = { 540, 1080, 0x1f };
	struct hours_judgement j;
	uint64_t bad = 0;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		if (tz_file_parse(&tz, data + 1, size - 1) == 0) {
			for (int64_t t = -(1ll << 40); t < (1ll << 40); t += 1ll << 36)
				(void)tz_file_offset(&tz, t);
			activity_profile_init(&p, 493000);
			activity_profile_count(&p, 493000 * 60);
			activity_profile_judge(&p, &tz, &office, &j);
		}
		break;
	case 1:
		if (activity_profile_decode(&p, data + 1, size - 1, 493000) == 0) {
			memset(&tz, 0, sizeof(tz));
			activity_profile_judge(&p, &tz, &office, &j);
			(void)activity_profile_full_days(&p, 20);
		}
		break;
	default:
		session_utmp_parse(data + 1, size - 1, out, SESSION_MAX, &bad);
		break;
	}
	return 0;
}
