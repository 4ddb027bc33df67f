#include "uevents.h"

#include <errno.h>

#include "agent.h"

void uevents_init(struct gw_uevents *u)
{
	*u = (struct gw_uevents){ 0 };
	u->listener.fd = -1;
}

int uevents_subscribe(struct gw_agent *a, unsigned subsystems, gw_uevent_fn fn, void *ctx)
{
	struct gw_uevents *u = &a->uevents;

	if (u->n_subs == GW_UEVENT_SUBSCRIBERS_MAX)
		return -ENOSPC;
	u->subs[u->n_subs].subsystems = subsystems;
	u->subs[u->n_subs].fn = fn;
	u->subs[u->n_subs].ctx = ctx;
	u->n_subs++;
	if (u->listener.fd < 0 && !u->open_error)
		u->open_error = gw_uevent_listener_open(&u->listener, 0, GW_UEVENT_RCVBUF_BYTES);
	u->listener.subsystems |= subsystems;
	return u->open_error;
}

int uevents_fd(const struct gw_agent *a)
{
	return a->uevents.listener.fd;
}

void uevents_deliver(struct gw_agent *a, const struct gw_uevent *ev)
{
	unsigned bit = gw_uevent_subsystem_bit(ev->subsystem);

	for (int i = 0; i < a->uevents.n_subs; i++)
		if (a->uevents.subs[i].subsystems & bit)
			a->uevents.subs[i].fn(a, a->uevents.subs[i].ctx, ev);
}

void uevents_handle(struct gw_agent *a)
{
	struct gw_uevents *u = &a->uevents;
	enum gw_uevent_read_result r;

	if (u->listener.fd < 0)
		return;
	while ((r = gw_uevent_listener_read(&u->listener, &u->scratch)) != GW_UEVENT_READ_AGAIN &&
	       r != GW_UEVENT_READ_ERROR)
		if (r == GW_UEVENT_READ_EVENT)
			uevents_deliver(a, &u->scratch);
}

void uevents_close(struct gw_uevents *u)
{
	if (u->listener.fd >= 0)
		gw_uevent_listener_close(&u->listener);
	u->listener.fd = -1;
}
