#include "debug_view.h"

#include <signal.h>
#include <string.h>
#include <time.h>

#include "cadence_view.h"
#include "device_view.h"
#include "session_view.h"
#include "common/json_emit.h"
#include "common/text.h"

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

/* ---- network ---- */

static void write_peer(struct debug_view *v, const char *addr, uint32_t port, const char *name)
{
	fprintf(v->out, strchr(addr, ':') ? "[%s]:%u" : "%s:%u", addr, port);
	if (name && *name) {
		fputs(" (", v->out);
		gw_display_escape(v->out, name);
		fputc(')', v->out);
	}
}

static void write_net_process(struct debug_view *v, const Ghostwatch__V1__Process *p)
{
	if (p) {
		write_process_head(v, p);
		if (p->exe && *p->exe) {
			fputc(' ', v->out);
			gw_display_escape(v->out, p->exe);
		}
	} else {
		fputs("       ?       ? (owner unknown)", v->out);
	}
}

static void write_connect(struct debug_view *v, const Ghostwatch__V1__Connection *c)
{
	bool failed = strcmp(c->result, "ok") && strcmp(c->result, "sent");
	bool named = c->app_protocol && *c->app_protocol;

	write_tag(v, failed ? C_RED : C_CYAN,
		  named ? "proto" : c->direction[0] == 'i' ? "accept" : "conn");
	write_net_process(v, c->process);
	fprintf(v->out, "  %s %s ", c->protocol, c->direction[0] == 'i' ? "<-" : "->");
	write_peer(v, c->remote_address, c->remote_port, c->dns_name);
	fputs(" ", v->out);
	color(v, failed ? C_RED : C_GREEN);
	fputs(named ? c->app_protocol : c->result, v->out);
	color(v, C_RESET);
	if (named && c->server_name && *c->server_name) {
		fputs(" name=", v->out);
		gw_display_escape(v->out, c->server_name);
	}
	if (c->duration_ns)
		fprintf(v->out, " %.1fms", (double)c->duration_ns / 1e6);
	color(v, C_DIM);
	fprintf(v->out, "  local=");
	write_peer(v, c->local_address, c->local_port, NULL);
	color(v, C_RESET);
}

static void write_bytes(struct debug_view *v, const char *label, uint64_t n)
{
	if (n >= 1u << 20)
		fprintf(v->out, " %s=%.1fMiB", label, (double)n / (1u << 20));
	else if (n >= 1u << 10)
		fprintf(v->out, " %s=%.1fKiB", label, (double)n / (1u << 10));
	else
		fprintf(v->out, " %s=%lluB", label, (unsigned long long)n);
}

static void write_flow(struct debug_view *v, const Ghostwatch__V1__Flow *f)
{
	uint64_t failed = f->failed_refused + f->failed_timeout + f->failed_reset + f->failed_other;

	write_tag(v, C_DIM, "flow");
	if (f->process)
		write_process_head(v, f->process);
	else
		fputs("       ?       ? (owner unknown)", v->out);
	if (f->direction[0] == 'i') {
		fprintf(v->out, "  %s :%u <- ", f->protocol, f->local_port);
		fputs(f->remote_address, v->out);
		if (f->dns_name && *f->dns_name) {
			fputs(" (", v->out);
			gw_display_escape(v->out, f->dns_name);
			fputc(')', v->out);
		}
	} else {
		fprintf(v->out, "  %s -> ", f->protocol);
		write_peer(v, f->remote_address, f->remote_port, f->dns_name);
	}
	fprintf(v->out, " conns=%llu", (unsigned long long)f->connections);
	if (failed)
		fprintf(v->out, " failed=%llu(refused=%llu timeout=%llu reset=%llu other=%llu)",
			(unsigned long long)failed, (unsigned long long)f->failed_refused,
			(unsigned long long)f->failed_timeout, (unsigned long long)f->failed_reset,
			(unsigned long long)f->failed_other);
	write_bytes(v, "tx", f->bytes_sent);
	write_bytes(v, "rx", f->bytes_received);
	if (f->rtt_max_us)
		fprintf(v->out, " rtt=%.2f/%.2f/%.2fms", f->rtt_min_us / 1e3, f->rtt_avg_us / 1e3,
			f->rtt_max_us / 1e3);
	color(v, C_DIM);
	fprintf(v->out, "  [%s]", f->flush_reason);
	color(v, C_RESET);
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
	if (s->n_uid_drops)
		fputs(" by_uid", v->out);
	for (size_t i = 0; i < s->n_uid_drops; i++)
		fprintf(v->out, " %s:%u=%llu", s->uid_drops[i]->category, s->uid_drops[i]->uid,
			(unsigned long long)s->uid_drops[i]->value);
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

static void write_netif(struct debug_view *v, const Ghostwatch__V1__NetworkInterface *n)
{
	write_tag(v, strcmp(n->action, "removed") ? C_CYAN : C_YELLOW, "netif");
	fprintf(v->out, " %s ", n->action);
	gw_display_escape(v->out, n->name);
	if (n->ifindex)
		fprintf(v->out, " ifindex=%u", n->ifindex);
	if (n->devtype && n->devtype[0]) {
		fputs(" devtype=", v->out);
		gw_display_escape(v->out, n->devtype);
	}
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
	case GHOSTWATCH__V1__EVENT__KIND_CONNECT:
		write_connect(v, ev->connect);
		break;
	case GHOSTWATCH__V1__EVENT__KIND_FLOW:
		write_flow(v, ev->flow);
		break;
	case GHOSTWATCH__V1__EVENT__KIND_NETWORK_INTERFACE:
		write_netif(v, ev->network_interface);
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
	case GHOSTWATCH__V1__EVENT__KIND_SESSION:
		write_tag(v, ev->session->remote_address[0] ? C_YELLOW : C_CYAN, "session");
		session_view_write(v->out, ev->session);
		break;
	case GHOSTWATCH__V1__EVENT__KIND_ACTIVITY_PROFILE:
		write_tag(v, C_CYAN, "profile");
		session_view_write_profile(v->out, ev->activity_profile);
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
