/*
 * latency_window.h - the arithmetic of remote-operation latency, free of the agent so it is tested
 * alone: a connection's RTT samples folded into a window, whether a window shows a far remote
 * operator, and the run of windows in which the graphical session works with no physical input.
 */
#ifndef GW_LATENCY_WINDOW_H
#define GW_LATENCY_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

/* A connection's samples in one window (what the walk read from its tcp_sock). */
struct latency_acc {
	uint32_t samples;   /* walks that saw an RTT estimate */
	uint64_t srtt_sum_us, mdev_sum_us;
	uint32_t srtt_min_us, srtt_max_us;
	uint64_t acked_first, acked_last;	/* tcp_sock.bytes_acked at the first and last walk */
	uint64_t received_first, received_last;
	uint64_t acked_base, received_base;	/* the previous window's last */
	bool have_base;
};

struct latency_stats {
	uint32_t samples;
	uint32_t srtt_us, srtt_min_us, srtt_max_us; /* mean, min, max of the samples */
	uint32_t rtt_var_us;			     /* mean of the kernel's mean deviation */
	uint64_t bytes_sent, bytes_received;	     /* in the window */
};

void latency_acc_add(struct latency_acc *acc, uint32_t srtt_us, uint32_t mdev_us,
		     uint64_t bytes_acked, uint64_t bytes_received);
/* The window's figures; starts the next window (the counters' base carries over). */
void latency_acc_close(struct latency_acc *acc, struct latency_stats *out);

/*
 * A far operator: the window's mean RTT is at least far_rtt_us while the operator is at work,
 * i.e. the peer sent something in the window (input, requests) or the process injected input.
 * A window without samples says nothing.
 */
bool latency_far_operator(const struct latency_stats *s, uint32_t far_rtt_us, bool injecting);

/*
 * The run of windows in which processes keep starting inside the graphical session while every
 * physical input device is silent and a remote-control flow or a virtual input device is live.
 * It needs input to be measured at all (the cadence hook live); any window with physical input,
 * without remote control or unmeasured ends the run. It holds once it has lasted min_ns and
 * processes were started in the session in at least two of its windows (one launch is not
 * someone working).
 */
struct latency_presence {
	uint64_t run_start_ns; /* 0: no run */
	uint32_t session_windows; /* windows of the run with a process started in the session */
	uint32_t session_execs;
};

struct latency_window_view {
	uint64_t end_ns;
	bool input_measured;   /* the input cadence hook is live */
	bool physical_input;   /* a physical device had input in the window */
	bool remote_live;      /* a remote-control connection carried data, or virtual input */
	uint32_t session_execs; /* processes started inside the graphical session */
};

bool latency_presence_step(struct latency_presence *p, const struct latency_window_view *w,
			   uint64_t min_ns);

#endif
