/*
 * slow_nats_msg.so - LD_PRELOADed into the agent by test_fleet_agent.py to make a narrow cnats race
 * show up every time instead of once in many CI runs. cnats 3.4's read loop looks a message's
 * subscription up, lets go of the lock that keeps it alive, builds the message (natsMsg_create,
 * called through the PLT) and only then locks the subscription; natsConnection_Close() can free it
 * in between. Sleeping in natsMsg_create stands in for a read loop preempted there on a busy host.
 * Nothing else changes: a library that does not call through here is merely not slowed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <unistd.h>

#define DELAY_US 3000

typedef int (*msg_create_fn)(void **msg, const char *subject, int subject_len, const char *reply,
			     int reply_len, const char *buf, int buf_len, int hdr_len);

int natsMsg_create(void **msg, const char *subject, int subject_len, const char *reply,
		   int reply_len, const char *buf, int buf_len, int hdr_len);

int natsMsg_create(void **msg, const char *subject, int subject_len, const char *reply,
		   int reply_len, const char *buf, int buf_len, int hdr_len)
{
	msg_create_fn real = (msg_create_fn)dlsym(RTLD_NEXT, "natsMsg_create");

	usleep(DELAY_US);
	return real(msg, subject, subject_len, reply, reply_len, buf, buf_len, hdr_len);
}
