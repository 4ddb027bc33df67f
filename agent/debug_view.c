#include "debug_view.h"

#include <signal.h>
#include <string.h>
#include <time.h>

#include "cadence_view.h"
#include "device_view.h"
#include "json_emit.h"
#include "text.h"

#define C_RESET "\033[0m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_RED "\033[1;31m"
#define C_CYAN "\033[36m"
#define C_DIM "\033[2m"
#define C_ALERT "\033[1;37;41m" /* findings stand out of the event stream */
#define C_WARN "\033[1;30;43m"

static void color(struct debug_view *v, const char *c)
{
	if (v->color)
		fputs(c, v->out);
}

static void write_time(struct debug_view *v, uint64_t time_ns)
{
	time_t sec = (time_t)(time_ns / 1000000000ULL);
	struct tm tm;

	localtime_r(&sec, &tm);
	fprintf(v->out, "%02d:%02d:%02d.%03u ", tm.tm_hour, tm.tm_min, tm.tm_sec,
		(unsigned)(time_ns / 1000000ULL % 1000));
}

static void write_tag(struct debug_view *v, const char *c, const char *tag)
{
	color(v, c);
	fprintf(v->out, "%-6s", tag);
	color(v, C_RESET);
}

static void write_process_head(struct debug_view *v, const Ghostwatch__V1__Process *p)
{
	fprintf(v->out, " %7u %7u ", p->pid, p->ppid);
	gw_display_escape(v->out, p->comm);
	if (p->auid != (uint32_t)-1)
		fprintf(v->out, " uid=%u auid=%u", p->uid, p->auid);
	else
		fprintf(v->out, " uid=%u", p->uid);
	if (p->tty && *p->tty)
		fprintf(v->out, " tty=%s", p->tty);
}

static void write_exec(struct debug_view *v, const Ghostwatch__V1__ProcessExec *e)
{
	const Ghostwatch__V1__Process *p = e->process;

	write_tag(v, C_GREEN, "exec");
	write_process_head(v, p);
	fputs("  ", v->out);
	gw_display_escape(v->out, p->exe);
	for (size_t i = 1; i < p->n_argv; i++) {
		fputc(' ', v->out);
		gw_display_escape(v->out, p->argv[i]);
	}
	if (p->argv_truncated)
		fputs(" [argv truncated]", v->out);
	if (p->cwd && *p->cwd) {
		color(v, C_DIM);
		fputs("  cwd=", v->out);
		gw_display_escape(v->out, p->cwd);
		color(v, C_RESET);
	}
	if (e->n_ancestors) {
		color(v, C_DIM);
		fputs("  <", v->out);
		for (size_t i = 0; i < e->n_ancestors && i < 3; i++) {
			fputc(' ', v->out);
			gw_display_escape(v->out, e->ancestors[i]->comm);
			fprintf(v->out, "(%u)", e->ancestors[i]->pid);
		}
		color(v, C_RESET);
	}
}

static void write_exit(struct debug_view *v, const Ghostwatch__V1__ProcessExit *e)
{
	const Ghostwatch__V1__Process *p = e->process;

	write_tag(v, e->signal ? C_RED : C_YELLOW, "exit");
	write_process_head(v, p);
	if (e->signal) {
		const char *abbrev = sigabbrev_np((int)e->signal);

		fprintf(v->out, "  signal=SIG%s%s", abbrev ? abbrev : "?",
			e->core_dumped ? " (core dumped)" : "");
	} else {
		fprintf(v->out, "  code=%u", e->exit_code);
	}
	fprintf(v->out, "  %.3fs  ", (double)e->duration_ns / 1e9);
	gw_display_escape(v->out, p->exe);
}

static void write_stats(struct debug_view *v, const Ghostwatch__V1__AgentStats *s)
{
	write_tag(v, C_DIM, "stats");
	fprintf(v->out, " procs=%llu events", (unsigned long long)s->process_table_size);
	for (size_t i = 0; i < s->n_events; i++)
		fprintf(v->out, " %s=%llu", s->events[i]->name, (unsigned long long)s->events[i]->value);
	fputs(" drops", v->out);
	for (size_t i = 0; i < s->n_drops; i++)
		if (s->drops[i]->value)
			fprintf(v->out, " %s=%llu", s->drops[i]->name,
				(unsigned long long)s->drops[i]->value);
}

static void write_finding(struct debug_view *v, const Ghostwatch__V1__Finding *f)
{
	bool loud = !strcmp(f->severity, "high") || !strcmp(f->severity, "critical");

	write_tag(v, loud ? C_ALERT : C_WARN, "FINDING");
	color(v, loud ? C_RED : C_YELLOW);
	fprintf(v->out, " %s %s ", f->severity, f->rule_id);
	gw_display_escape(v->out, f->title);
	color(v, C_RESET);
	fputs("  subject=", v->out);
	gw_display_escape(v->out, f->subject);
	if (f->matched && *f->matched) {
		fputs("  matched=", v->out);
		gw_display_escape(v->out, f->matched);
	}
	fprintf(v->out, "  %s count=%llu score=%u", f->technique, (unsigned long long)f->count,
		f->host_score);
	if (strcmp(f->state, "new"))
		fprintf(v->out, " (%s)", f->state);
	color(v, C_DIM);
	fputs("  evidence", v->out);
	for (size_t i = 0; i < f->n_evidence; i++)
		fprintf(v->out, " %s#%llu", f->evidence[i]->kind,
			(unsigned long long)f->evidence[i]->event_id);
	for (size_t i = 0; i < f->n_related_rule_ids; i++)
		fprintf(v->out, "%s%s", i ? "," : "  combines ", f->related_rule_ids[i]);
	color(v, C_RESET);
}

static void write_score(struct debug_view *v, const Ghostwatch__V1__FraudScore *s)
{
	write_tag(v, s->score >= 50 ? C_ALERT : C_WARN, "SCORE");
	fprintf(v->out, " host fraud score %u/100", s->score);
	for (size_t i = 0; i < s->n_points; i++)
		fprintf(v->out, " %s=%llu", s->points[i]->name, (unsigned long long)s->points[i]->value);
	fprintf(v->out, " pillars=%u x%u.%02u", s->pillars, s->multiplier_pct / 100,
		s->multiplier_pct % 100);
}

void debug_view_write_compact(struct debug_view *v, const gw_event_t *ev)
{
	write_time(v, ev->time_ns);
	switch (ev->kind_case) {
	case GHOSTWATCH__V1__EVENT__KIND_EXEC:
		write_exec(v, ev->exec);
		break;
	case GHOSTWATCH__V1__EVENT__KIND_EXIT:
		write_exit(v, ev->exit);
		break;
	case GHOSTWATCH__V1__EVENT__KIND_FORK:
		write_tag(v, C_CYAN, "fork");
		write_process_head(v, ev->fork->process);
		break;
	case GHOSTWATCH__V1__EVENT__KIND_STATS:
		write_stats(v, ev->stats);
		break;
	case GHOSTWATCH__V1__EVENT__KIND_DEVICE:
		write_tag(v, strcmp(ev->device->action, "detach") ? C_CYAN : C_YELLOW, "device");
		device_view_write(v->out, ev->device);
		break;
	case GHOSTWATCH__V1__EVENT__KIND_CADENCE:
		write_tag(v, C_CYAN, "cadence");
		cadence_view_write(v->out, ev->cadence);
		break;
	case GHOSTWATCH__V1__EVENT__KIND_FINDING:
		write_finding(v, ev->finding);
		break;
	case GHOSTWATCH__V1__EVENT__KIND_FRAUD_SCORE:
		write_score(v, ev->fraud_score);
		break;
	default: {
		const char *type = gw_json_oneof_name(&ev->base);

		write_tag(v, C_RESET, type ? type : "?");
		fputc(' ', v->out);
		gw_json_write_message(v->out, &ev->base);
	}
	}
	fputc('\n', v->out);
}

static void view_emit(struct gw_agent *a, const gw_event_t *ev, void *ctx)
{
	struct debug_view *v = ctx;

	(void)a;
	if (v->json)
		gw_json_write_typed_line(v->out, &ev->base, NULL);
	else
		debug_view_write_compact(v, ev);
}

static void view_flush(struct gw_agent *a, void *ctx)
{
	struct debug_view *v = ctx;

	(void)a;
	fflush(v->out);
}

struct gw_sink debug_view_sink(struct debug_view *v)
{
	return (struct gw_sink){ .emit = view_emit, .flush = view_flush, .ctx = v };
}
