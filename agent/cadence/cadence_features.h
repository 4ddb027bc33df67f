/*
 * cadence_features.h - what the kernel's per-window input aggregates mean: typing-rhythm statistics
 * from the log2 histograms, and jiggler-likeness of a device's pointer motion over its recent
 * windows. Pure functions over struct gw_cadence_window (bpf/gw_events.h), no clock, no agent: the
 * unit tests drive them with synthetic aggregates.
 *
 * A jiggler (PiKVM, JetKVM, NanoKVM, xdotool loops, hardware dongles) moves the pointer in short
 * bursts that (1) come with no key, click or wheel on that device, (2) end where they started or on
 * the same absolute point, (3) repeat with a stable period (coefficient of variation <= 25 %: PiKVM
 * randomises its 60 s interval by +-25 %, a uniform spread with CV 0.14), (4) start after the device
 * was idle. Enough bursts for a period (3) must have been seen. All five: a jiggler.
 */
#ifndef GW_CADENCE_FEATURES_H
#define GW_CADENCE_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_events.h"

/* Quartiles of a log2-microsecond histogram, as bucket geometric midpoints. */
struct cadence_quantiles {
	uint64_t n;
	uint32_t p25_us, median_us, p75_us;
	double spread;		/* log2(p75 / p25): octaves between the quartiles */
};

void cadence_hist_quantiles(const uint32_t *hist, size_t buckets, struct cadence_quantiles *q);

/* Typing rhythm of one window. */
struct cadence_typing {
	struct cadence_quantiles interval, hold;
	uint32_t presses, coalesced;
	double coalesced_fraction;	/* coalesced / intervals measured */
};

void cadence_typing_of(const struct gw_cadence_window *w, struct cadence_typing *t);

/* Burst period statistics from the kernel's sums. */
struct cadence_period {
	uint64_t n;
	uint32_t mean_ms, min_ms, max_ms;
	double jitter;		/* coefficient of variation; 0 when n < 2 */
};

/* What the jiggler assessment needs, summed over windows. */
struct cadence_motion {
	uint64_t keys, clicks, wheel, motion;
	uint64_t bursts, after_idle, finished, still, with_buttons;
	uint64_t period_n, period_sum_ms, period_sumsq_ms;
	uint32_t period_min_ms, period_max_ms;
};

void cadence_motion_add(struct cadence_motion *m, const struct gw_cadence_window *w);
void cadence_motion_merge(struct cadence_motion *into, const struct cadence_motion *m);
void cadence_period_of(const struct cadence_motion *m, struct cadence_period *p);

/* A device's recent windows, newest last; the assessment looks back `horizon` from now. */
#define CADENCE_HISTORY 32
struct cadence_history {
	struct cadence_motion win[CADENCE_HISTORY];
	uint64_t end_ns[CADENCE_HISTORY];
	unsigned head, n;
};

void cadence_history_push(struct cadence_history *h, const struct cadence_motion *m,
			  uint64_t end_ns);
void cadence_history_sum(const struct cadence_history *h, uint64_t now_ns, uint64_t horizon_ns,
			 struct cadence_motion *out);

enum cadence_criterion {
	CADENCE_ENOUGH_BURSTS = 1u << 0,
	CADENCE_MOTION_ONLY = 1u << 1,	/* no key, click or wheel on the device */
	CADENCE_STILL = 1u << 2,	/* bursts move back, or to one absolute point */
	CADENCE_PERIODIC = 1u << 3,
	CADENCE_AFTER_IDLE = 1u << 4,
	CADENCE_ALL = (1u << 5) - 1,
};

struct cadence_jiggler_params {
	uint32_t min_bursts;	  /* 3 */
	double max_jitter;	  /* 0.25 */
	double min_still_share;	  /* 0.8 of finished bursts */
	double min_idle_share;	  /* 0.8 of bursts */
};

void cadence_jiggler_defaults(struct cadence_jiggler_params *p);

struct cadence_jiggler {
	uint32_t criteria;	/* enum cadence_criterion bits that hold */
	double likeness;	/* share of the criteria that hold, 0..1 */
	bool jiggler;		/* all of them */
	struct cadence_period period;
};

void cadence_jiggler_assess(const struct cadence_motion *m, const struct cadence_jiggler_params *p,
			    struct cadence_jiggler *out);

/* "enough_bursts", "motion_only", "still", "periodic", "after_idle" */
const char *cadence_criterion_name(enum cadence_criterion c);
/* Comma-separated names of the criteria in `bits`. */
size_t cadence_criteria_text(uint32_t bits, char *out, size_t size);

#endif
