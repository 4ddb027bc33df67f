#include "cadence_features.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The geometric midpoint of bucket i, [2^i, 2^(i+1)) us: 2^i * sqrt(2). */
static uint32_t bucket_mid_us(size_t i)
{
	return (uint32_t)(ldexp(M_SQRT2, (int)i) + 0.5);
}

/* The bucket holding the q-quantile (q in 0..1) of n samples. */
static size_t quantile_bucket(const uint32_t *hist, size_t buckets, uint64_t n, double q)
{
	uint64_t rank = (uint64_t)(q * (double)(n - 1)) + 1, seen = 0;

	for (size_t i = 0; i < buckets; i++) {
		seen += hist[i];
		if (seen >= rank)
			return i;
	}
	return buckets - 1;
}

void cadence_hist_quantiles(const uint32_t *hist, size_t buckets, struct cadence_quantiles *q)
{
	size_t b25, b50, b75;

	memset(q, 0, sizeof(*q));
	for (size_t i = 0; i < buckets; i++)
		q->n += hist[i];
	if (!q->n)
		return;
	b25 = quantile_bucket(hist, buckets, q->n, 0.25);
	b50 = quantile_bucket(hist, buckets, q->n, 0.5);
	b75 = quantile_bucket(hist, buckets, q->n, 0.75);
	q->p25_us = bucket_mid_us(b25);
	q->median_us = bucket_mid_us(b50);
	q->p75_us = bucket_mid_us(b75);
	q->spread = (double)(b75 - b25);
}

void cadence_typing_of(const struct gw_cadence_window *w, struct cadence_typing *t)
{
	memset(t, 0, sizeof(*t));
	cadence_hist_quantiles(w->key_interval_hist, GW_CADENCE_HIST_BUCKETS, &t->interval);
	cadence_hist_quantiles(w->hold_hist, GW_CADENCE_HIST_BUCKETS, &t->hold);
	t->presses = w->key_down;
	t->coalesced = w->keys_coalesced;
	if (t->interval.n)
		t->coalesced_fraction = (double)w->keys_coalesced / (double)t->interval.n;
}

void cadence_motion_add(struct cadence_motion *m, const struct gw_cadence_window *w)
{
	m->keys += w->key_down;
	m->clicks += w->clicks;
	m->wheel += w->wheel;
	m->motion += (uint64_t)w->rel_events + w->abs_events;
	m->bursts += w->bursts;
	m->after_idle += w->bursts_after_idle;
	m->finished += w->bursts_done;
	m->still += w->bursts_still;
	m->with_buttons += w->bursts_with_buttons;
	if (w->period_n) {
		if (!m->period_n || w->period_min_ms < m->period_min_ms)
			m->period_min_ms = w->period_min_ms;
		if (w->period_max_ms > m->period_max_ms)
			m->period_max_ms = w->period_max_ms;
	}
	m->period_n += w->period_n;
	m->period_sum_ms += w->period_sum_ms;
	m->period_sumsq_ms += w->period_sumsq_ms;
}

void cadence_motion_merge(struct cadence_motion *into, const struct cadence_motion *m)
{
	if (m->period_n) {
		if (!into->period_n || m->period_min_ms < into->period_min_ms)
			into->period_min_ms = m->period_min_ms;
		if (m->period_max_ms > into->period_max_ms)
			into->period_max_ms = m->period_max_ms;
	}
	into->keys += m->keys;
	into->clicks += m->clicks;
	into->wheel += m->wheel;
	into->motion += m->motion;
	into->bursts += m->bursts;
	into->after_idle += m->after_idle;
	into->finished += m->finished;
	into->still += m->still;
	into->with_buttons += m->with_buttons;
	into->period_n += m->period_n;
	into->period_sum_ms += m->period_sum_ms;
	into->period_sumsq_ms += m->period_sumsq_ms;
}

void cadence_period_of(const struct cadence_motion *m, struct cadence_period *p)
{
	double mean, var;

	memset(p, 0, sizeof(*p));
	p->n = m->period_n;
	if (!m->period_n)
		return;
	mean = (double)m->period_sum_ms / (double)m->period_n;
	p->mean_ms = (uint32_t)(mean + 0.5);
	p->min_ms = m->period_min_ms;
	p->max_ms = m->period_max_ms;
	if (m->period_n < 2 || mean <= 0)
		return;
	var = (double)m->period_sumsq_ms / (double)m->period_n - mean * mean;
	p->jitter = var > 0 ? sqrt(var) / mean : 0;
}

void cadence_history_push(struct cadence_history *h, const struct cadence_motion *m,
			  uint64_t end_ns)
{
	unsigned slot = (h->head + h->n) % CADENCE_HISTORY;

	if (h->n == CADENCE_HISTORY) {
		slot = h->head;
		h->head = (h->head + 1) % CADENCE_HISTORY;
	} else {
		h->n++;
	}
	h->win[slot] = *m;
	h->end_ns[slot] = end_ns;
}

void cadence_history_sum(const struct cadence_history *h, uint64_t now_ns, uint64_t horizon_ns,
			 struct cadence_motion *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < h->n; i++) {
		unsigned slot = (h->head + i) % CADENCE_HISTORY;

		if (now_ns - h->end_ns[slot] <= horizon_ns || h->end_ns[slot] > now_ns)
			cadence_motion_merge(out, &h->win[slot]);
	}
}

void cadence_jiggler_defaults(struct cadence_jiggler_params *p)
{
	p->min_bursts = 3;
	p->max_jitter = 0.25;
	p->min_still_share = 0.8;
	p->min_idle_share = 0.8;
}

void cadence_jiggler_assess(const struct cadence_motion *m, const struct cadence_jiggler_params *p,
			    struct cadence_jiggler *out)
{
	unsigned met = 0;

	memset(out, 0, sizeof(*out));
	cadence_period_of(m, &out->period);
	if (!m->bursts)
		return;
	if (m->bursts >= p->min_bursts && m->finished >= p->min_bursts - 1 && m->period_n >= 2)
		out->criteria |= CADENCE_ENOUGH_BURSTS;
	if (!m->keys && !m->clicks && !m->wheel && !m->with_buttons)
		out->criteria |= CADENCE_MOTION_ONLY;
	if (m->finished && (double)m->still >= p->min_still_share * (double)m->finished)
		out->criteria |= CADENCE_STILL;
	if (out->period.n >= 2 && out->period.jitter <= p->max_jitter)
		out->criteria |= CADENCE_PERIODIC;
	if ((double)m->after_idle >= p->min_idle_share * (double)m->bursts)
		out->criteria |= CADENCE_AFTER_IDLE;
	for (uint32_t bits = out->criteria; bits; bits &= bits - 1)
		met++;
	out->likeness = met / 5.0;
	out->jiggler = out->criteria == CADENCE_ALL;
}

const char *cadence_criterion_name(enum cadence_criterion c)
{
	switch (c) {
	case CADENCE_ENOUGH_BURSTS: return "enough_bursts";
	case CADENCE_MOTION_ONLY: return "motion_only";
	case CADENCE_STILL: return "still";
	case CADENCE_PERIODIC: return "periodic";
	case CADENCE_AFTER_IDLE: return "after_idle";
	default: return "?";
	}
}

size_t cadence_criteria_text(uint32_t bits, char *out, size_t size)
{
	size_t used = 0;

	if (size)
		out[0] = 0;
	for (uint32_t c = 1; c < CADENCE_ALL; c <<= 1) {
		int n;

		if (!(bits & c))
			continue;
		n = snprintf(out + used, size > used ? size - used : 0, "%s%s", used ? "," : "",
			     cadence_criterion_name((enum cadence_criterion)c));
		if (n < 0 || (size_t)n >= size - used)
			return used;
		used += (size_t)n;
	}
	return used;
}
