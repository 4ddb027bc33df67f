/*
 * uevents.h - the uevent service: one kernel uevent listener (uevent_listener.h) for the agent,
 * with subscribers per subsystem. The devices domain subscribes to what its BPF hooks do not
 * cover, the network interface watch to "net"; each accepted uevent goes to the subscribers of its
 * subsystem. What it received, ignored and dropped is reported in AgentStats by core.
 */
#ifndef GW_UEVENTS_H
#define GW_UEVENTS_H

#include "uevent_listener.h"

struct gw_agent;

#define GW_UEVENT_SUBSCRIBERS_MAX 4

typedef void (*gw_uevent_fn)(struct gw_agent *a, void *ctx, const struct gw_uevent *ev);

struct gw_uevents {
	struct gw_uevent_listener listener; /* fd -1 until the first subscriber */
	int open_error;			    /* -errno of the failed open, 0 */
	struct {
		unsigned subsystems; /* GW_UEVENT_SUBSYS_* */
		gw_uevent_fn fn;
		void *ctx;
	} subs[GW_UEVENT_SUBSCRIBERS_MAX];
	int n_subs;
	struct gw_uevent scratch; /* one event at a time: too big for the stack */
};

void uevents_init(struct gw_uevents *u);
/* Opens the listener on first use and widens it to `subsystems`. 0, or -errno when the listener
 * cannot be opened (then only uevents_deliver reaches the subscriber). */
int uevents_subscribe(struct gw_agent *a, unsigned subsystems, gw_uevent_fn fn, void *ctx);
/* The listener's fd for the event loop, -1 when closed. */
int uevents_fd(const struct gw_agent *a);
/* Drains the listener: call when its fd is readable. */
void uevents_handle(struct gw_agent *a);
/* One accepted uevent to its subscribers (from the listener, or a test). */
void uevents_deliver(struct gw_agent *a, const struct gw_uevent *ev);
void uevents_close(struct gw_uevents *u);

#endif
