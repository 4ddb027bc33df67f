/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * cadence.h - the input cadence machine: per input device, the timing of keys and the shape of
 * pointer-motion bursts, counted into the window the agent drains.
 *
 * cadence_kind() says whether an event is looked at; cadence_count() folds one event, at a time the
 * caller gives, into its device's state and window. The hooks (bpf/cadence.bpf.c) pass the boot
 * clock; the unit tests (tests/bpf/) pass a synthetic one.
 *
 * Privacy: the key code and the coordinates are used here, transiently, to pair a key's press with
 * its release and to sum a burst's displacement. They are stored only in `cadence_state`, which the
 * agent never reads (created BPF_F_WRONLY: the agent's own handle cannot) and never in
 * `cadence_windows`, the map the agent reads: that one holds counts, timing histograms and the
 * class of |net displacement| of a burst. No record with a code or a coordinate is ever written.
 *
 * Per event: one hash lookup (the state), one array lookup (the window slot), two cheap helpers.
 */
#ifndef GW_BPF_CADENCE_H
#define GW_BPF_CADENCE_H

#include "gw_bpf_common.h"

#define EV_KEY 0x01
#define EV_REL 0x02
#define EV_ABS 0x03
#define REL_X 0x00
#define REL_Y 0x01
#define REL_HWHEEL 0x06
#define REL_WHEEL 0x08
#define REL_WHEEL_HI_RES 0x0b
#define REL_HWHEEL_HI_RES 0x0c
#define ABS_X 0x00
#define ABS_Y 0x01
#define BTN_MISC 0x100
#define BTN_END 0x160	/* 0x100..0x15f: mouse, joystick, digitizer buttons */

#define HELD_SLOTS 8

/* Per-device state between events: kernel only (it holds key codes and positions). */
struct cadence_state {
	__u64 last_key_ns;	/* last key down */
	__u64 last_input_ns;	/* last counted event of any kind */
	__u64 last_motion_ns;
	__u64 burst_start_ns;	/* 0: no burst yet */
	__s64 burst_dx, burst_dy;
	__s32 abs_x, abs_y;	/* last absolute position */
	__s32 start_x, start_y;	/* absolute position when the burst started */
	__s32 end_x, end_y;	/* where the previous burst ended */
	__u32 burst_steps;
	__u32 flags;
	__u32 slot;		/* this device's slot in cadence_windows */
	__u32 pad;
	__u32 held_code[HELD_SLOTS];
	__u64 held_ns[HELD_SLOTS];
};

#define ST_ABS_KNOWN	(1u << 0) /* abs_x/abs_y were set by an event */
#define ST_START_KNOWN	(1u << 1) /* the burst started from a known absolute position */
#define ST_END_KNOWN	(1u << 2) /* end_x/end_y hold a finished burst's end */
#define ST_BURST_REL	(1u << 3)
#define ST_BURST_ABS	(1u << 4)
#define ST_BURST_BTN	(1u << 5) /* a key or click inside the burst */
#define ST_SLOT_SET	(1u << 6)

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_WRONLY);
	__type(key, __u64);
	__type(value, struct cadence_state);
} cadence_state SEC(".maps");

/* An array, so that the per-event window lookup is an address computation rather than a second
 * hash lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * GW_CADENCE_SLOTS);
	__type(key, __u32);
	__type(value, struct gw_cadence_window);
} cadence_windows SEC(".maps");

/* Set by the agent: the window generation being filled; it bumps this, then drains the old half. */
__u32 cadence_gen;
/* Next slot to hand out (wraps: past GW_CADENCE_SLOTS devices seen, a shared slot is refused). */
__u32 cadence_next_slot;
/* Set by the agent before load: quiet needed before a burst for it to count as "after idle". */
const volatile __u64 cadence_idle_ns = 1000000000ULL;

/* Initial value for state inserts (never written). */
static struct cadence_state zero_state;

static __always_inline __u32 cadence_log2_bucket(__u64 ns)
{
	__u64 us = ns / 1000;
	__u32 b = 0;

	/* binary search for the top bit: BPF has no count-leading-zeros instruction */
	if (us >> 16) {
		us >>= 16;
		b += 16;
	}
	if (us >> 8) {
		us >>= 8;
		b += 8;
	}
	if (us >> 4) {
		us >>= 4;
		b += 4;
	}
	if (us >> 2) {
		us >>= 2;
		b += 2;
	}
	if (us >> 1)
		b += 1;
	return b < GW_CADENCE_HIST_BUCKETS ? b : GW_CADENCE_HIST_BUCKETS - 1;
}

static __always_inline __u32 cadence_net_class(__u64 net)
{
	if (net == 0)
		return 0;
	if (net <= 2)
		return 1;
	if (net <= 16)
		return 2;
	if (net <= 128)
		return 3;
	return 4;
}

static __always_inline __s64 cadence_abs64(__s64 v)
{
	return v < 0 ? -v : v;
}

static __always_inline struct gw_cadence_window *cadence_window_of(struct input_dev *dev,
								   struct cadence_state *s,
								   __u64 now)
{
	__u32 idx = s->slot * 2 + (cadence_gen & 1);
	struct gw_cadence_window *w = bpf_map_lookup_elem(&cadence_windows, &idx);

	if (!w)
		return NULL;
	if (!w->first_ns) {
		w->first_ns = now;
		w->dev = (__u64)dev;
		bpf_probe_read_kernel_str(w->name, sizeof(w->name),
					  BPF_CORE_READ(dev, dev.kobj.name));
	} else if (w->dev != (__u64)dev) {
		gw_count_drop(GW_DROP_CADENCE_WINDOW); /* more devices than slots: not mixed in */
		return NULL;
	}
	return w;
}

static __always_inline struct cadence_state *cadence_state_of(struct input_dev *dev)
{
	__u64 key = (__u64)dev;
	struct cadence_state *s = bpf_map_lookup_elem(&cadence_state, &key);

	if (s)
		return s;
	if (bpf_map_update_elem(&cadence_state, &key, &zero_state, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&cadence_state, &key)) {
		gw_count_drop(GW_DROP_CADENCE_STATE);
		return NULL;
	}
	s = bpf_map_lookup_elem(&cadence_state, &key);
	if (s && !(s->flags & ST_SLOT_SET)) {
		/* not atomic (a fetch-add result needs BPF v3): two devices first seen at the
		 * same instant on two CPUs may get one slot, and the second is then refused and
		 * counted */
		s->slot = cadence_next_slot++ % GW_CADENCE_SLOTS;
		s->flags |= ST_SLOT_SET;
	}
	return s;
}

/* The previous burst is over (motion resumed after the gap): its shape goes into the window. */
static __always_inline void cadence_finish_burst(struct cadence_state *s,
						 struct gw_cadence_window *w)
{
	__u64 net = 0;
	bool same = false;
	__u32 cls;

	if (s->flags & ST_BURST_ABS) {
		bool known = s->flags & (ST_START_KNOWN | ST_END_KNOWN);

		same = (s->flags & ST_END_KNOWN) && s->end_x == s->abs_x && s->end_y == s->abs_y;
		if (s->flags & ST_START_KNOWN)
			net += cadence_abs64((__s64)s->abs_x - s->start_x) +
			       cadence_abs64((__s64)s->abs_y - s->start_y);
		s->end_x = s->abs_x;
		s->end_y = s->abs_y;
		s->flags |= ST_END_KNOWN;
		/* the first absolute burst ever seen started nowhere known: its shape is unknown */
		if (!known)
			return;
		if (same)
			w->bursts_same_target++;
	}
	w->bursts_done++;
	w->burst_steps += s->burst_steps;
	if (s->flags & ST_BURST_BTN)
		w->bursts_with_buttons++;
	if (s->flags & ST_BURST_REL)
		net += cadence_abs64(s->burst_dx) + cadence_abs64(s->burst_dy);
	if (net <= 2 || same)
		w->bursts_still++;
	cls = cadence_net_class(net);
	if (cls < GW_CADENCE_NET_CLASSES)
		w->net_class[cls]++;
}

static __always_inline void cadence_start_burst(struct cadence_state *s,
						struct gw_cadence_window *w, __u64 now)
{
	__u64 idle = s->last_input_ns ? now - s->last_input_ns : ~0ULL;
	__u32 idle_ms = idle > 0xffffffffULL * 1000000ULL ? 0xffffffff : idle / 1000000;

	if (s->burst_start_ns) {
		__u64 period_ms = (now - s->burst_start_ns) / 1000000;

		cadence_finish_burst(s, w);
		if (period_ms < 0xffffffff) {
			if (!w->period_n || period_ms < w->period_min_ms)
				w->period_min_ms = period_ms;
			if (period_ms > w->period_max_ms)
				w->period_max_ms = period_ms;
			w->period_n++;
			w->period_sum_ms += period_ms;
			w->period_sumsq_ms += period_ms * period_ms;
		}
	}
	w->bursts++;
	if (idle >= cadence_idle_ns)
		w->bursts_after_idle++;
	if (w->bursts == 1 || idle_ms < w->idle_min_ms)
		w->idle_min_ms = idle_ms;
	s->burst_start_ns = now;
	s->burst_dx = s->burst_dy = 0;
	s->burst_steps = 0;
	s->flags &= ST_ABS_KNOWN | ST_END_KNOWN | ST_SLOT_SET;
	if (s->flags & ST_ABS_KNOWN) {
		s->start_x = s->abs_x;
		s->start_y = s->abs_y;
		s->flags |= ST_START_KNOWN;
	}
}

static __always_inline void cadence_on_motion(struct cadence_state *s,
					      struct gw_cadence_window *w, __u32 type, __u32 code,
					      int value, __u64 now)
{
	if (!s->burst_start_ns || now - s->last_motion_ns > GW_CADENCE_BURST_GAP_NS)
		cadence_start_burst(s, w, now);
	s->last_motion_ns = now;
	s->burst_steps++;
	if (type == EV_REL) {
		w->rel_events++;
		s->flags |= ST_BURST_REL;
		if (code == REL_X)
			s->burst_dx += value;
		else
			s->burst_dy += value;
		return;
	}
	w->abs_events++;
	s->flags |= ST_BURST_ABS;
	if (!(s->flags & ST_ABS_KNOWN)) {
		/* first position ever seen: both axes start here */
		s->abs_x = s->abs_y = value;
		s->flags |= ST_ABS_KNOWN;
	}
	if (code == ABS_X)
		s->abs_x = value;
	else
		s->abs_y = value;
}

static __always_inline void cadence_on_key(struct cadence_state *s, struct gw_cadence_window *w,
					   __u32 code, int value, __u64 now)
{
	int i;

	if (value == 2) {
		w->key_repeat++;
		return;
	}
	if (value == 1) {
		w->key_down++;
		if (s->last_key_ns) {
			__u64 gap = now - s->last_key_ns;

			w->key_interval_hist[cadence_log2_bucket(gap)]++;
			if (gap < GW_CADENCE_COALESCE_NS)
				w->keys_coalesced++;
		}
		s->last_key_ns = now;
		for (i = 0; i < HELD_SLOTS; i++) {
			if (!s->held_ns[i]) {
				s->held_code[i] = code;
				s->held_ns[i] = now;
				break;
			}
		}
		return;
	}
	w->key_up++;
	for (i = 0; i < HELD_SLOTS; i++) {
		if (s->held_ns[i] && s->held_code[i] == code) {
			w->hold_hist[cadence_log2_bucket(now - s->held_ns[i])]++;
			s->held_ns[i] = 0;
			s->held_code[i] = 0;
			break;
		}
	}
}

enum cadence_kind {
	CADENCE_IGNORED,
	CADENCE_MOTION,
	CADENCE_KEY,
	CADENCE_BUTTON,
	CADENCE_WHEEL,
};

/* EV_SYN, EV_MSC (scan codes), LEDs, ... are not counted and not looked at */
static __always_inline enum cadence_kind cadence_kind(__u32 type, __u32 code)
{
	if (type == EV_KEY)
		return code >= BTN_MISC && code < BTN_END ? CADENCE_BUTTON : CADENCE_KEY;
	if (type == EV_REL) {
		if (code == REL_X || code == REL_Y)
			return CADENCE_MOTION;
		if (code == REL_WHEEL || code == REL_HWHEEL || code == REL_WHEEL_HI_RES ||
		    code == REL_HWHEEL_HI_RES)
			return CADENCE_WHEEL;
		return CADENCE_IGNORED;
	}
	if (type == EV_ABS && (code == ABS_X || code == ABS_Y))
		return CADENCE_MOTION;
	return CADENCE_IGNORED;
}

/* One counted event of `dev` at boot time `now` into its state and its window. */
static __always_inline void cadence_count(struct input_dev *dev, enum cadence_kind kind,
					  __u32 type, __u32 code, int value, __u64 now)
{
	struct gw_cadence_window *w;
	struct cadence_state *s;

	s = cadence_state_of(dev);
	if (!s)
		return;
	w = cadence_window_of(dev, s, now);
	if (!w)
		return;
	w->events++;
	w->last_ns = now;
	w->writer_pid = bpf_get_current_pid_tgid() >> 32;
	if (kind == CADENCE_MOTION) {
		cadence_on_motion(s, w, type, code, value, now);
	} else {
		if (s->burst_start_ns && now - s->last_motion_ns <= GW_CADENCE_BURST_GAP_NS)
			s->flags |= ST_BURST_BTN;
		if (kind == CADENCE_KEY)
			cadence_on_key(s, w, code, value, now);
		else if (kind == CADENCE_BUTTON && value == 1)
			w->clicks++;
		else if (kind == CADENCE_WHEEL)
			w->wheel++;
	}
	s->last_input_ns = now;
}

/* The hooks' entry: the clock is read only for an event that is counted. */
static __always_inline void cadence_on_input(struct input_dev *dev, __u32 type, __u32 code,
					     int value)
{
	enum cadence_kind kind = cadence_kind(type, code);

	if (kind != CADENCE_IGNORED)
		cadence_count(dev, kind, type, code, value, bpf_ktime_get_boot_ns());
}

#endif /* GW_BPF_CADENCE_H */
