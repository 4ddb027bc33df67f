/* ring_audit.c - the ring's consumer position and flood limits against the agent's own account.
 * See ring_audit.h. */
#include "ring_audit.h"

#include <errno.h>
#include <string.h>

#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>

void ring_audit_expect_limits(struct gw_ring_audit *r, int limits_fd,
			      const struct gw_limits *written)
{
	r->limits_fd = limits_fd;
	r->limits = *written;
}

int ring_audit_open(struct gw_ring_audit *r, int events_fd)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	if (page <= 0 || events_fd < 0)
		return -EINVAL;
	/* the consumer page is the ring's first; a read-only mapping needs no write permission on
	 * the map and cannot disturb the reader */
	p = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, events_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	r->consumer_pos = p;
	r->page_size = (size_t)page;
	r->start = __atomic_load_n(r->consumer_pos, __ATOMIC_ACQUIRE);
	return 0;
}

static void check_limits(struct gw_ring_audit *r, struct gw_ring_audit_result *out)
{
	uint32_t zero = 0;

	if (r->limits_fd < 0 || bpf_map_lookup_elem(r->limits_fd, &zero, &out->found))
		return;
	if (!memcmp(&out->found, &r->limits, sizeof(r->limits)))
		return;
	out->limits_changed = true;
	r->limits_rewritten++;
	out->limits_restored = !bpf_map_update_elem(r->limits_fd, &zero, &r->limits, BPF_ANY);
}

void ring_audit_check(struct gw_ring_audit *r, struct gw_ring_audit_result *out)
{
	uint64_t pos, taken;

	memset(out, 0, sizeof(*out));
	check_limits(r, out);
	if (!r->consumer_pos)
		return;
	pos = __atomic_load_n(r->consumer_pos, __ATOMIC_ACQUIRE);
	taken = pos - r->start > r->seen ? pos - r->start - r->seen : 0;
	if (taken > r->taken) {
		out->taken_bytes = taken - r->taken;
		r->taken = taken;
	}
}

void ring_audit_close(struct gw_ring_audit *r)
{
	if (r->consumer_pos)
		munmap((void *)r->consumer_pos, r->page_size);
	r->consumer_pos = NULL;
}
