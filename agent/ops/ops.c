/* ops.c - the ops endpoint's domain: counts, renders, hands over. See ops.h. */
#include "ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/agent.h"
#include "core/listen_addr.h"
#include "ops_http.h"
#include "ops_render.h"

#define OPS_RENDER_NS 1000000000ull

struct ops {
	struct listen_addr la;
	char *name;
	struct ops_http *http;
	uint64_t last_render_ns; /* CLOCK_BOOTTIME */
	uint64_t findings[OPS_CAT_COUNT];
	uint64_t emitted[OPS_EVENT_KIND_MAX];
	uint64_t render_failures; /* snapshots not handed over: arena or memory full */
};

static void ops_emit(struct gw_agent *a, const gw_event_t *ev, void *ctx)
{
	struct ops *o = ctx;

	(void)a;
	if ((unsigned)ev->kind_case < OPS_EVENT_KIND_MAX)
		o->emitted[ev->kind_case]++;
	if (ev->kind_case == GHOSTWATCH__V1__EVENT__KIND_FINDING && ev->finding)
		o->findings[ops_category_of(ev->finding->category)]++;
}

static int ops_start(struct gw_agent *a, void *state)
{
	struct ops *o = state;
	char err[256];

	(void)a;
	o->http = ops_http_start(&o->la, o->name, err, sizeof(err));
	/* the agent is worth more running without its endpoint than restarting for a port */
	if (!o->http)
		fprintf(stderr, "ghostwatch: %s; running without metrics\n", err);
	return 0;
}

static void render(struct gw_agent *a, struct ops *o)
{
	struct ops_snapshot *s = calloc(1, sizeof(*s));
	struct gw_transport_stats t;
	Ghostwatch__V1__FraudScore *score;
	char why[128], *text = NULL;
	size_t len = 0;
	gw_event_t *ev;
	FILE *out;

	if (!s) {
		o->render_failures++;
		return;
	}
	/* the arena is scratch between events, as for the periodic stats */
	gw_arena_reset(&a->arena);
	ev = agent_build_stats(a);
	s->version = GW_VERSION;
	s->now_ns = gw_now_realtime_ns();
	s->stats = ev ? ev->stats : NULL;
	s->transport = gw_transport_get(a, &a->transport, &t) ? &t : NULL;
	score = agent_fraud_score(a, s->now_ns);
	s->has_score = score != NULL;
	s->score = score ? score->score : 0;
	memcpy(s->findings, o->findings, sizeof(s->findings));
	memcpy(s->emitted, o->emitted, sizeof(s->emitted));
	out = s->stats ? open_memstream(&text, &len) : NULL;
	if (out) {
		ops_render(out, s);
		if (fclose(out)) {
			free(text);
			text = NULL;
		}
	}
	if (text) {
		ops_hooks_verdict(s->stats, why, sizeof(why));
		ops_http_publish(o->http, text, len, why);
	} else {
		o->render_failures++;
	}
	free(s);
}

static void ops_tick(struct gw_agent *a, void *state, uint64_t now_ns)
{
	struct ops *o = state;

	if (!o->http || now_ns - o->last_render_ns < OPS_RENDER_NS)
		return;
	o->last_render_ns = now_ns;
	render(a, o);
}

static uint64_t ops_next_tick(const struct gw_agent *a, void *state, uint64_t now_ns)
{
	struct ops *o = state;

	(void)a;
	(void)now_ns;
	return o->http ? o->last_render_ns + OPS_RENDER_NS : 0;
}

static void ops_counters(const struct gw_agent *a, void *state, struct gw_stats_parts *p)
{
	struct ops *o = state;

	(void)a;
	agent_stats_add(&p->drops, "ops_snapshot_failed", o->render_failures);
}

static void ops_destroy(struct gw_agent *a, void *state)
{
	struct ops *o = state;

	(void)a;
	ops_http_stop(o->http);
	free(o->name);
	free(o);
}

int ops_register(struct gw_agent *a, const struct ops_options *opt)
{
	struct ops *o;
	char err[256];
	int ret;

	if (!opt->listen || !opt->listen[0])
		return 0;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	if (listen_addr_parse(opt->listen, &o->la, err, sizeof(err))) {
		fprintf(stderr, "ghostwatch: metrics.listen: %s\n", err);
		free(o);
		return -EINVAL;
	}
	o->name = strdup(opt->listen);
	if (!o->name) {
		free(o);
		return -ENOMEM;
	}
	ret = agent_register(a, &(struct gw_domain){
		.name = "ops",
		.state = o,
		.started = ops_start,
		.tick = ops_tick,
		.next_tick = ops_next_tick,
		.counters = ops_counters,
		.destroy = ops_destroy,
	});
	if (ret) {
		free(o->name);
		free(o);
		return ret;
	}
	return agent_add_sink(a, (struct gw_sink){ .emit = ops_emit, .ctx = o });
}
