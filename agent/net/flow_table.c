#include "flow_table.h"

#include <stdlib.h>
#include <string.h>

#include <utlist.h>

#include "core/lru_pool.h"

#define DEFAULT_WINDOW_NS (10ull * 1000000000ull)

struct flow_entry {
	struct flow flow;			/* flow.key is the key */
	struct lru_node node;			/* most recently updated first */
	struct flow_entry *proc_prev, *proc_next;	/* flows of the same process */
	struct proc_flows *owner;
};

/* Index of a process's flows, so an exit flushes them without scanning the table. */
struct proc_flows {
	uint64_t process_id;
	struct flow_entry *flows;
	struct lru_node node;
};

struct flow_table {
	uint64_t window_ns;
	uint64_t window_start_ns;
	flow_emit_fn emit;
	void *ctx;
	struct lru_pool flows;
	/* one index entry per live flow at most: this pool cannot run dry before flows do */
	struct lru_pool procs;
	struct flow_table_stats stats;
};

struct flow_table *flow_table_new(size_t capacity, uint64_t window_ns, flow_emit_fn emit, void *ctx,
				  uint64_t now_ns)
{
	struct flow_table *t;

	if (!emit)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (lru_pool_init(&t->flows, capacity, sizeof(struct flow_entry),
			  offsetof(struct flow_entry, node), offsetof(struct flow_entry, flow.key),
			  sizeof(struct flow_key)) ||
	    lru_pool_init(&t->procs, capacity, sizeof(struct proc_flows),
			  offsetof(struct proc_flows, node), offsetof(struct proc_flows, process_id),
			  sizeof(uint64_t))) {
		lru_pool_destroy(&t->flows);
		free(t);
		return NULL;
	}
	t->window_ns = window_ns ? window_ns : DEFAULT_WINDOW_NS;
	t->window_start_ns = now_ns;
	t->emit = emit;
	t->ctx = ctx;
	return t;
}

void flow_table_free(struct flow_table *t)
{
	if (!t)
		return;
	lru_pool_destroy(&t->flows);
	lru_pool_destroy(&t->procs);
	free(t);
}

void flow_key_init(struct flow_key *k, uint64_t process_id, uint8_t protocol,
		   enum flow_direction dir, const struct gw_ip *remote, uint16_t port)
{
	memset(k, 0, sizeof(*k));
	k->process_id = process_id;
	k->protocol = protocol;
	k->direction = (uint8_t)dir;
	k->remote = *remote;
	k->port = port;
}

/* Emit one flow and return its entry (and its process index, if now empty) to the pools. */
static void retire(struct flow_table *t, struct flow_entry *e, enum flow_flush_reason why)
{
	struct proc_flows *p = e->owner;

	t->emit(&e->flow, why, t->ctx);
	t->stats.flows_emitted++;
	DL_DELETE2(p->flows, e, proc_prev, proc_next);
	if (!p->flows)
		lru_pool_remove(&t->procs, p);
	lru_pool_remove(&t->flows, e);
}

static struct flow_entry *create(struct flow_table *t, const struct flow_key *k, uint64_t now_ns)
{
	struct flow_entry *e;
	struct proc_flows *p;

	if (lru_pool_full(&t->flows)) {
		t->stats.evictions++;
		retire(t, lru_pool_oldest(&t->flows), FLOW_FLUSH_EVICTED);
	}
	e = lru_pool_insert(&t->flows, k);
	e->flow.first_seen_ns = now_ns;
	p = lru_pool_find(&t->procs, &k->process_id);
	if (!p)
		p = lru_pool_insert(&t->procs, &k->process_id);
	e->owner = p;
	DL_APPEND2(p->flows, e, proc_prev, proc_next);
	t->stats.flows_created++;
	return e;
}

static void add_rtt(struct flow *f, uint32_t min_us, uint32_t max_us, uint64_t sum_us,
		    uint64_t samples)
{
	if (!f->rtt_samples || min_us < f->rtt_min_us)
		f->rtt_min_us = min_us;
	if (max_us > f->rtt_max_us)
		f->rtt_max_us = max_us;
	f->rtt_sum_us += sum_us;
	f->rtt_samples += samples;
}

void flow_table_add(struct flow_table *t, const struct flow_key *k, const struct flow_sample *s,
		    uint64_t now_ns)
{
	struct flow_entry *e;
	struct flow *f;

	e = lru_pool_find(&t->flows, k);
	if (e)
		lru_pool_touch(&t->flows, e);
	else
		e = create(t, k, now_ns);

	f = &e->flow;
	if (s->pid)
		f->pid = s->pid;
	if (now_ns > f->last_seen_ns)
		f->last_seen_ns = now_ns;
	f->connections += s->connections;
	if (s->failure > FLOW_FAIL_NONE && s->failure < FLOW_FAIL_MAX)
		f->failures[s->failure]++;
	for (int i = FLOW_FAIL_NONE + 1; i < FLOW_FAIL_MAX; i++)
		f->failures[i] += s->failures[i];
	f->bytes_sent += s->bytes_sent;
	f->bytes_received += s->bytes_received;
	if (s->rtt_us)
		add_rtt(f, s->rtt_us, s->rtt_us, s->rtt_us, 1);
	if (s->rtt_samples)
		add_rtt(f, s->rtt_min_us, s->rtt_max_us, s->rtt_sum_us, s->rtt_samples);
	if (s->app_protocol && !f->app_protocol)
		f->app_protocol = s->app_protocol;
	if (s->server_name && s->server_name[0] && !f->server_name[0]) {
		strncpy(f->server_name, s->server_name, DNS_NAME_MAX);
		f->server_name[DNS_NAME_MAX] = '\0';
	}
	if (s->dns_name && s->dns_name[0]) {
		strncpy(f->dns_name, s->dns_name, DNS_NAME_MAX);
		f->dns_name[DNS_NAME_MAX] = '\0';
	}
}

uint64_t flow_table_window_end(const struct flow_table *t)
{
	return t->window_start_ns + t->window_ns;
}

size_t flow_table_flush_all(struct flow_table *t, enum flow_flush_reason why, uint64_t now_ns)
{
	struct flow_entry *e;
	size_t n = 0;

	/* oldest first, so consumers see flows in the order they went quiet */
	while ((e = lru_pool_oldest(&t->flows))) {
		retire(t, e, why);
		n++;
	}
	t->window_start_ns = now_ns;
	return n;
}

size_t flow_table_tick(struct flow_table *t, uint64_t now_ns)
{
	if (now_ns - t->window_start_ns < t->window_ns)
		return 0;
	return flow_table_flush_all(t, FLOW_FLUSH_WINDOW, now_ns);
}

bool flow_table_has_process(const struct flow_table *t, uint64_t process_id)
{
	return lru_pool_find(&t->procs, &process_id) != NULL;
}

size_t flow_table_flush_process(struct flow_table *t, uint64_t process_id)
{
	struct proc_flows *p = lru_pool_find(&t->procs, &process_id);
	size_t n = 0;

	if (!p)
		return 0;
	/* retire() returns p to its pool when its last flow goes: stop there */
	for (;;) {
		struct flow_entry *e = p->flows;
		bool last = e->proc_next == NULL;

		retire(t, e, FLOW_FLUSH_PROCESS_EXIT);
		n++;
		if (last)
			break;
	}
	return n;
}

uint32_t flow_rtt_avg_us(const struct flow *f)
{
	return f->rtt_samples ? (uint32_t)(f->rtt_sum_us / f->rtt_samples) : 0;
}

const char *flow_failure_name(enum flow_failure f)
{
	switch (f) {
	case FLOW_FAIL_NONE: return "ok";
	case FLOW_FAIL_REFUSED: return "refused";
	case FLOW_FAIL_TIMEOUT: return "timeout";
	case FLOW_FAIL_RESET: return "reset";
	case FLOW_FAIL_OTHER: return "other";
	case FLOW_FAIL_MAX: break;
	}
	return "unknown";
}

const char *flow_flush_reason_name(enum flow_flush_reason r)
{
	switch (r) {
	case FLOW_FLUSH_WINDOW: return "window";
	case FLOW_FLUSH_PROCESS_EXIT: return "process_exit";
	case FLOW_FLUSH_EVICTED: return "evicted";
	case FLOW_FLUSH_SHUTDOWN: return "shutdown";
	}
	return "unknown";
}

void flow_table_get_stats(const struct flow_table *t, struct flow_table_stats *out)
{
	*out = t->stats;
	out->size = t->flows.size;
}
