/* unacked_ages.c - spool times of unacknowledged batches. See unacked_ages.h. */
#include "unacked_ages.h"

void unacked_ages_push(struct unacked_ages *u, uint64_t seq, uint64_t time_ns)
{
	size_t tail;

	if (u->len == UNACKED_AGES_MAX) {
		tail = (u->head + u->len - 1) % UNACKED_AGES_MAX;
		if (seq > u->run[tail].last_seq)
			u->run[tail].last_seq = seq;
		return;
	}
	tail = (u->head + u->len) % UNACKED_AGES_MAX;
	u->run[tail].last_seq = seq;
	u->run[tail].time_ns = time_ns;
	u->len++;
}

void unacked_ages_ack(struct unacked_ages *u, uint64_t seq)
{
	while (u->len && u->run[u->head].last_seq <= seq) {
		u->head = (u->head + 1) % UNACKED_AGES_MAX;
		u->len--;
	}
}

uint64_t unacked_ages_oldest(const struct unacked_ages *u)
{
	return u->len ? u->run[u->head].time_ns : 0;
}
