#include "latency_window.h"

#include <string.h>

void latency_acc_add(struct latency_acc *acc, uint32_t srtt_us, uint32_t mdev_us,
		     uint64_t bytes_acked, uint64_t bytes_received)
{
	if (!acc->samples && !acc->acked_last && !acc->received_last) {
		acc->acked_first = bytes_acked;
		acc->received_first = bytes_received;
	}
	acc->acked_last = bytes_acked;
	acc->received_last = bytes_received;
	if (!srtt_us)
		return; /* no RTT measured yet (nothing acked) */
	if (!acc->samples || srtt_us < acc->srtt_min_us)
		acc->srtt_min_us = srtt_us;
	if (srtt_us > acc->srtt_max_us)
		acc->srtt_max_us = srtt_us;
	acc->srtt_sum_us += srtt_us;
	acc->mdev_sum_us += mdev_us;
	acc->samples++;
}

static uint64_t grown(uint64_t last, uint64_t base)
{
	return last > base ? last - base : 0;
}

void latency_acc_close(struct latency_acc *acc, struct latency_stats *out)
{
	uint64_t acked_base = acc->have_base ? acc->acked_base : acc->acked_first;
	uint64_t received_base = acc->have_base ? acc->received_base : acc->received_first;
	bool seen = acc->samples || acc->acked_last || acc->received_last;

	memset(out, 0, sizeof(*out));
	out->samples = acc->samples;
	if (acc->samples) {
		out->srtt_us = (uint32_t)(acc->srtt_sum_us / acc->samples);
		out->rtt_var_us = (uint32_t)(acc->mdev_sum_us / acc->samples);
		out->srtt_min_us = acc->srtt_min_us;
		out->srtt_max_us = acc->srtt_max_us;
	}
	if (seen) {
		out->bytes_sent = grown(acc->acked_last, acked_base);
		out->bytes_received = grown(acc->received_last, received_base);
		acc->acked_base = acc->acked_last;
		acc->received_base = acc->received_last;
		acc->have_base = true;
	}
	acc->samples = 0;
	acc->srtt_sum_us = acc->mdev_sum_us = 0;
	acc->srtt_min_us = acc->srtt_max_us = 0;
	acc->acked_first = acc->acked_last = 0;
	acc->received_first = acc->received_last = 0;
}

bool latency_far_operator(const struct latency_stats *s, uint32_t far_rtt_us, bool injecting)
{
	if (!s->samples || !far_rtt_us || s->srtt_us < far_rtt_us)
		return false;
	return injecting || s->bytes_received > 0;
}

bool latency_presence_step(struct latency_presence *p, const struct latency_window_view *w,
			   uint64_t min_ns)
{
	if (!w->input_measured || w->physical_input || !w->remote_live) {
		memset(p, 0, sizeof(*p));
		return false;
	}
	if (!p->run_start_ns)
		p->run_start_ns = w->end_ns;
	if (w->session_execs) {
		p->session_windows++;
		p->session_execs += w->session_execs;
	}
	return w->end_ns - p->run_start_ns >= min_ns && p->session_windows >= 2;
}
