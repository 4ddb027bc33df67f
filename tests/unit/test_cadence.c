/* Input cadence feature extraction and findings from synthetic kernel aggregates. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/agent.h"
#include "cadence/cadence.h"
#include "cadence/cadence_features.h"
#include "detect/detections.h"
#include "view/cadence_view.h"
#include "testing.h"

#define MS 1000000ULL
#define S 1000000000ULL

/* A window of a PiKVM-style jiggle as the kernel would count it: `bursts` bursts of 10 relative
 * steps that end where they started, `period_ms` apart, after idle, nothing else. */
static struct gw_cadence_window jiggle_window(uint32_t bursts, uint32_t period_ms, uint32_t jitter_ms)
{
	struct gw_cadence_window w;

	memset(&w, 0, sizeof(w));
	snprintf(w.name, sizeof(w.name), "input7");
	w.first_ns = 100 * S;
	w.last_ns = 160 * S;
	w.rel_events = 20 * bursts;
	w.events = w.rel_events;
	w.bursts = bursts;
	w.bursts_after_idle = bursts;
	w.bursts_done = bursts;
	w.bursts_still = bursts;
	w.net_class[0] = bursts;
	w.burst_steps = 20 * bursts;
	w.idle_min_ms = period_ms - 1000;
	for (uint32_t i = 0; i < bursts; i++) {
		uint64_t p = period_ms + (i % 2 ? jitter_ms : -jitter_ms);

		if (!w.period_n || p < w.period_min_ms)
			w.period_min_ms = p;
		if (p > w.period_max_ms)
			w.period_max_ms = p;
		w.period_n++;
		w.period_sum_ms += p;
		w.period_sumsq_ms += p * p;
	}
	return w;
}

TEST(quantiles_of_a_log2_histogram)
{
	uint32_t hist[GW_CADENCE_HIST_BUCKETS] = { 0 };
	struct cadence_quantiles q;

	cadence_hist_quantiles(hist, GW_CADENCE_HIST_BUCKETS, &q);
	CHECK(q.n == 0 && q.median_us == 0);
	/* 10 intervals of 128-255 us... no: bucket 17 = [131 ms, 262 ms) */
	hist[17] = 6;
	hist[16] = 2;
	hist[18] = 2;
	cadence_hist_quantiles(hist, GW_CADENCE_HIST_BUCKETS, &q);
	CHECK(q.n == 10);
	CHECK(q.median_us == 185364); /* 2^17 * sqrt(2) */
	CHECK(q.p25_us == 185364 || q.p25_us == 92682);
	CHECK(q.p75_us == 185364);
	CHECK(q.spread <= 1.0);
	hist[16] = 0;
	hist[17] = 1;
	hist[18] = 0;
	hist[0] = 9;
	cadence_hist_quantiles(hist, GW_CADENCE_HIST_BUCKETS, &q);
	CHECK(q.median_us == 1);
}

TEST(typing_coalesced_fraction)
{
	struct gw_cadence_window w;
	struct cadence_typing t;

	memset(&w, 0, sizeof(w));
	w.key_down = 16;
	w.key_interval_hist[17] = 5; /* ~185 ms: a human */
	w.key_interval_hist[2] = 10; /* ~5 us: batched behind a network hop */
	w.keys_coalesced = 10;
	w.hold_hist[16] = 16;
	cadence_typing_of(&w, &t);
	CHECK(t.presses == 16);
	CHECK(fabs(t.coalesced_fraction - 10.0 / 15.0) < 1e-9);
	CHECK(t.interval.median_us < 10);
	CHECK(t.hold.median_us == 92682);
	memset(&w, 0, sizeof(w));
	cadence_typing_of(&w, &t);
	CHECK(t.coalesced_fraction == 0 && t.interval.n == 0);
}

TEST(period_jitter_is_the_coefficient_of_variation)
{
	struct gw_cadence_window w = jiggle_window(4, 60000, 15000);
	struct cadence_motion m = { 0 };
	struct cadence_period p;

	cadence_motion_add(&m, &w);
	cadence_period_of(&m, &p);
	CHECK(p.n == 4 && p.mean_ms == 60000);
	CHECK(p.min_ms == 45000 && p.max_ms == 75000);
	CHECK(fabs(p.jitter - 0.25) < 1e-6);
}

TEST(pikvm_style_jiggle_meets_every_criterion)
{
	struct gw_cadence_window w = jiggle_window(5, 60000, 9000);
	struct cadence_jiggler_params params;
	struct cadence_motion m = { 0 };
	struct cadence_jiggler j;
	char text[128];

	cadence_jiggler_defaults(&params);
	cadence_motion_add(&m, &w);
	cadence_jiggler_assess(&m, &params, &j);
	CHECK(j.jiggler);
	CHECK(j.criteria == CADENCE_ALL);
	CHECK(j.likeness == 1.0);
	cadence_criteria_text(j.criteria, text, sizeof(text));
	CHECK_STR(text, "enough_bursts,motion_only,still,periodic,after_idle");
}

TEST(each_criterion_can_fail_alone)
{
	struct cadence_jiggler_params params;
	struct cadence_jiggler j;

	cadence_jiggler_defaults(&params);
	{	/* a click on the device: a person */
		struct gw_cadence_window w = jiggle_window(5, 20000, 0);
		struct cadence_motion m = { 0 };

		w.clicks = 1;
		cadence_motion_add(&m, &w);
		cadence_jiggler_assess(&m, &params, &j);
		CHECK(!j.jiggler && !(j.criteria & CADENCE_MOTION_ONLY));
		CHECK(j.likeness == 0.8);
	}
	{	/* the bursts go somewhere */
		struct gw_cadence_window w = jiggle_window(5, 20000, 0);
		struct cadence_motion m = { 0 };

		w.bursts_still = 2;
		cadence_motion_add(&m, &w);
		cadence_jiggler_assess(&m, &params, &j);
		CHECK(!j.jiggler && !(j.criteria & CADENCE_STILL));
	}
	{	/* irregular: 40 % jitter */
		struct gw_cadence_window w = jiggle_window(6, 10000, 4000);
		struct cadence_motion m = { 0 };

		cadence_motion_add(&m, &w);
		cadence_jiggler_assess(&m, &params, &j);
		CHECK(!j.jiggler && !(j.criteria & CADENCE_PERIODIC));
		CHECK(j.period.jitter > 0.39 && j.period.jitter < 0.41);
	}
	{	/* continuous motion: bursts do not start after idle */
		struct gw_cadence_window w = jiggle_window(5, 20000, 0);
		struct cadence_motion m = { 0 };

		w.bursts_after_idle = 1;
		cadence_motion_add(&m, &w);
		cadence_jiggler_assess(&m, &params, &j);
		CHECK(!j.jiggler && !(j.criteria & CADENCE_AFTER_IDLE));
	}
	{	/* two bursts: no period yet */
		struct gw_cadence_window w = jiggle_window(1, 20000, 0);
		struct cadence_motion m = { 0 };

		w.bursts = 2;
		cadence_motion_add(&m, &w);
		cadence_jiggler_assess(&m, &params, &j);
		CHECK(!j.jiggler && !(j.criteria & CADENCE_ENOUGH_BURSTS));
	}
	{	/* no motion at all */
		struct cadence_motion m = { 0 };

		cadence_jiggler_assess(&m, &params, &j);
		CHECK(!j.jiggler && j.criteria == 0 && j.likeness == 0);
	}
}

TEST(history_spans_windows_within_the_horizon)
{
	struct cadence_history h;
	struct cadence_jiggler_params params;
	struct cadence_motion sum;
	struct cadence_jiggler j;

	memset(&h, 0, sizeof(h));
	cadence_jiggler_defaults(&params);
	/* a 60 s jiggler seen through 60 s windows: one burst per window */
	for (int i = 0; i < 5; i++) {
		struct gw_cadence_window w = jiggle_window(1, 60000 + 1000 * (i % 3), 0);
		struct cadence_motion m = { 0 };

		cadence_motion_add(&m, &w);
		cadence_history_push(&h, &m, (uint64_t)(i + 1) * 60 * S);
	}
	cadence_history_sum(&h, 5 * 60 * S, 600 * S, &sum);
	CHECK(sum.bursts == 5 && sum.period_n == 5);
	cadence_jiggler_assess(&sum, &params, &j);
	CHECK(j.jiggler);
	/* an hour later the old windows no longer count */
	cadence_history_sum(&h, 65 * 60 * S, 600 * S, &sum);
	CHECK(sum.bursts == 0);
	/* the ring keeps the newest CADENCE_HISTORY windows */
	for (int i = 0; i < CADENCE_HISTORY + 3; i++) {
		struct cadence_motion m = { .bursts = 1 };

		cadence_history_push(&h, &m, 100 * S);
	}
	CHECK(h.n == CADENCE_HISTORY);
	cadence_history_sum(&h, 100 * S, 600 * S, &sum);
	CHECK(sum.bursts == CADENCE_HISTORY);
}

TEST(device_kind_from_what_the_device_reported)
{
	CHECK_STR(cadence_device_kind("virtual", 1, 0, 0, NULL), "uinput");
	CHECK_STR(cadence_device_kind("usb", 1, 0, 0, NULL), "uinput"); /* claims usb, has no parent */
	CHECK_STR(cadence_device_kind("bluetooth", 0, 0, 0, NULL), "bluetooth");
	CHECK_STR(cadence_device_kind("usb", 0, 0x1d6b, 0x0104, "PiKVM"), "ip_kvm");
	CHECK_STR(cadence_device_kind("usb", 0, 0x1d6b, 0x0104, "jetkvm"), "ip_kvm");
	CHECK_STR(cadence_device_kind("usb", 0, 0x3346, 0x1009, "x"), "ip_kvm");
	CHECK_STR(cadence_device_kind("usb", 0, 0x1d6b, 0x0104, "Acme"), "usb_gadget");
	CHECK_STR(cadence_device_kind("usb", 0, 0x1d6b, 0x0002, ""), "usb"); /* a root hub id */
	CHECK_STR(cadence_device_kind("usb", 0, 0x0627, 0x0001, "QEMU"), "usb");
	CHECK_STR(cadence_device_kind(NULL, 0, 0, 0, NULL), "unknown");
}

/* ---- the domain, fed synthetic records, with a sink that keeps what was emitted -------------- */

struct capture {
	int cadence, findings;
	char last_device_kind[32];
	char finding_rule[64], finding_subject[320], finding_matched[256];
	double likeness;
	double coalesced;
};

static void capture_emit(struct gw_agent *a, const gw_event_t *ev, void *ctx)
{
	struct capture *c = ctx;

	(void)a;
	if (ev->kind_case == GHOSTWATCH__V1__EVENT__KIND_CADENCE) {
		c->cadence++;
		snprintf(c->last_device_kind, sizeof(c->last_device_kind), "%s",
			 ev->cadence->device_kind);
		c->likeness = ev->cadence->jiggler_likeness;
		c->coalesced = ev->cadence->coalesced_fraction;
	} else if (ev->kind_case == GHOSTWATCH__V1__EVENT__KIND_FINDING) {
		c->findings++;
		snprintf(c->finding_rule, sizeof(c->finding_rule), "%s", ev->finding->rule_id);
		snprintf(c->finding_subject, sizeof(c->finding_subject), "%s", ev->finding->subject);
		snprintf(c->finding_matched, sizeof(c->finding_matched), "%s", ev->finding->matched);
	}
}

static struct gw_agent *test_agent(struct capture *cap)
{
	struct gw_agent *a = calloc(1, sizeof(*a));
	struct gw_options o;

	gw_options_defaults(&o);
	if (!a || agent_init(a, &o)) {
		free(a);
		return NULL;
	}
	agent_add_sink(a, (struct gw_sink){ .emit = capture_emit, .ctx = cap });
	if (detections_register(a, "/nonexistent-gw-rules", "/nonexistent-gw-rules.d") ||
	    cadence_register(a, 2, 1000, CADENCE_HOOKS_AUTO))
		goto fail;
	/* the domains' start without the BPF process hooks and ring agent_start would load; no
	 * ring buffer here: the cadence hook is unavailable, the domain works */
	for (int i = 0; i < a->n_domains; i++)
		if (a->domains[i].start(a, a->domains[i].state))
			goto fail;
	return a;
fail:
	agent_destroy(a);
	free(a);
	return NULL;
}

static void dispatch(struct gw_agent *a, const struct gw_cadence_window *w)
{
	struct gw_cadence_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.hdr.type = GW_EV_CADENCE_WINDOW;
	rec.hdr.size = sizeof(rec);
	rec.hdr.ktime_ns = w->last_ns;
	rec.dev = 0xffff888012345678ULL;
	rec.w = *w;
	agent_dispatch_record(a, &rec, sizeof(rec));
}

/* What the device module emits for an input device: the cadence domain learns its kind. */
static void announce_input(struct gw_agent *a, const char *name, const char *bus, bool is_virtual,
			   uint32_t creator_pid)
{
	Ghostwatch__V1__InputDevice in = GHOSTWATCH__V1__INPUT_DEVICE__INIT;
	Ghostwatch__V1__DeviceEvent d = GHOSTWATCH__V1__DEVICE_EVENT__INIT;
	Ghostwatch__V1__Process p = GHOSTWATCH__V1__PROCESS__INIT;
	gw_event_t ev = GHOSTWATCH__V1__EVENT__INIT;

	in.sysfs_name = (char *)name;
	in.name = (char *)"synthetic device";
	in.bus = (char *)bus;
	in.virtual_ = is_virtual;
	p.pid = creator_pid;
	p.comm = (char *)"injector";
	d.action = (char *)"attach";
	d.kind = (char *)"input";
	d.input = &in;
	d.process = creator_pid ? &p : NULL;
	ev.kind_case = GHOSTWATCH__V1__EVENT__KIND_DEVICE;
	ev.device = &d;
	agent_emit(a, &ev);
}

TEST(jiggler_windows_raise_one_finding_naming_the_device)
{
	struct capture cap = { 0 };
	struct gw_agent *a = test_agent(&cap);

	REQUIRE(a);
	CHECK(!cadence_hooks_live(&((struct cadence_domain *)agent_domain_state(a, "cadence"))->hooks));
	announce_input(a, "input7", "usb", false, 0);
	for (int i = 0; i < 3; i++) {
		struct gw_cadence_window w = jiggle_window(2, 2500, 20);

		w.first_ns = (uint64_t)(10 + 5 * i) * S;
		w.last_ns = w.first_ns + 4 * S;
		dispatch(a, &w);
	}
	CHECK(cap.cadence == 3);
	CHECK_STR(cap.last_device_kind, "usb");
	CHECK(cap.likeness == 1.0);
	CHECK(cap.findings == 1); /* later windows update the open finding, not a new one */
	CHECK_STR(cap.finding_rule, "GW-CADENCE-JIGGLER");
	CHECK(strstr(cap.finding_subject, "input7 \"synthetic device\" (usb)") != NULL);
	CHECK(strstr(cap.finding_matched, "period 2500 ms") != NULL);
	CHECK(a->counters.records[GW_EV_CADENCE_WINDOW] == 3);
	agent_destroy(a);
	free(a);
}

TEST(human_window_raises_nothing)
{
	struct capture cap = { 0 };
	struct gw_agent *a = test_agent(&cap);
	struct gw_cadence_window w = jiggle_window(4, 3000, 1500);

	REQUIRE(a);
	w.clicks = 3;
	w.key_down = 40;
	w.key_interval_hist[17] = 39;
	w.bursts_still = 1;
	dispatch(a, &w);
	CHECK(cap.cadence == 1 && cap.findings == 0);
	CHECK(cap.likeness < 0.5);
	CHECK_STR(cap.last_device_kind, "unknown"); /* never announced */
	agent_destroy(a);
	free(a);
}

TEST(virtual_device_input_is_attributed_to_the_writer)
{
	struct capture cap = { 0 };
	struct gw_agent *a = test_agent(&cap);
	struct gw_cadence_window w;

	REQUIRE(a);
	announce_input(a, "input9", "virtual", true, (uint32_t)getpid());
	memset(&w, 0, sizeof(w));
	snprintf(w.name, sizeof(w.name), "input9");
	w.first_ns = 5 * S;
	w.last_ns = 6 * S;
	w.events = 8;
	w.key_down = 4;
	w.key_up = 4;
	w.writer_pid = (uint32_t)getpid();
	/* unknown process: no effect */
	agent_publish(a, &(struct gw_fact){ .kind = GW_FACT_RTT });
	dispatch(a, &w);
	CHECK_STR(cap.last_device_kind, "uinput");
	CHECK(cap.findings == 1);
	CHECK_STR(cap.finding_rule, "GW-CADENCE-VIRTUAL-INPUT");
	CHECK(strstr(cap.finding_subject, "via input9") != NULL);
	CHECK(strstr(cap.finding_matched, "4 key presses") != NULL);
	agent_destroy(a);
	free(a);
}

TEST(truncated_record_is_refused)
{
	struct capture cap = { 0 };
	struct gw_agent *a = test_agent(&cap);
	struct gw_cadence_record rec;

	REQUIRE(a);
	memset(&rec, 0, sizeof(rec));
	rec.hdr.type = GW_EV_CADENCE_WINDOW;
	rec.hdr.size = 40;
	agent_dispatch_record(a, &rec, 40);
	CHECK(a->counters.bad_records == 1 && cap.cadence == 0);
	agent_destroy(a);
	free(a);
}

TEST(compact_line_for_the_debug_view)
{
	Ghostwatch__V1__InputCadence c = GHOSTWATCH__V1__INPUT_CADENCE__INIT;
	Ghostwatch__V1__Process p = GHOSTWATCH__V1__PROCESS__INIT;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	REQUIRE(out);
	c.device = (char *)"input9";
	c.device_name = (char *)"evil\x1b[2Jname";
	c.device_kind = (char *)"uinput";
	c.key_presses = 6;
	c.key_interval_median_us = 185364;
	c.coalesced_fraction = 0.5;
	c.hold_median_us = 65536;
	c.bursts = 3;
	c.bursts_still = 2;
	c.bursts_finished = 2;
	c.burst_period_mean_ms = 2000;
	c.burst_period_jitter = 0.01;
	c.jiggler_likeness = 0.8;
	p.comm = (char *)"gw-uinput";
	p.pid = 412;
	c.injector = &p;
	c.hook = (char *)"fentry/input_handle_event";
	cadence_view_write(out, &c);
	fclose(out);
	CHECK(strstr(buf, " input9 \"evil") == buf);
	CHECK(!strchr(buf, '\x1b')); /* a device-chosen name cannot drive the terminal */
	CHECK(strstr(buf, "uinput keys=6 interval=185ms coalesced=50% hold=65ms") != NULL);
	CHECK(strstr(buf, "bursts=3 still=2/2 period=2000ms+-1% jiggler=0.80") != NULL);
	CHECK(strstr(buf, "injector=gw-uinput[412] via=fentry/input_handle_event") != NULL);
	free(buf);
}

int main(void)
{
	RUN(quantiles_of_a_log2_histogram);
	RUN(typing_coalesced_fraction);
	RUN(period_jitter_is_the_coefficient_of_variation);
	RUN(pikvm_style_jiggle_meets_every_criterion);
	RUN(each_criterion_can_fail_alone);
	RUN(history_spans_windows_within_the_horizon);
	RUN(device_kind_from_what_the_device_reported);
	RUN(jiggler_windows_raise_one_finding_naming_the_device);
	RUN(human_window_raises_nothing);
	RUN(virtual_device_input_is_attributed_to_the_writer);
	RUN(truncated_record_is_refused);
	RUN(compact_line_for_the_debug_view);
	return test_summary();
}
