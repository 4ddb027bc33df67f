#include "session_view.h"

#include <inttypes.h>

#include "common/text.h"

static void field(FILE *out, const char *name, const char *value)
{
	if (!value || !value[0])
		return;
	fprintf(out, " %s=", name);
	gw_display_escape(out, value);
}

void session_view_write(FILE *out, const Ghostwatch__V1__Session *s)
{
	fprintf(out, " %s %s ", s->state, s->type);
	gw_display_escape(out, s->user);
	if (s->remote_address && s->remote_address[0]) {
		fputs(" from ", out);
		gw_display_escape(out, s->remote_address);
	} else if (s->remote_host && s->remote_host[0]) {
		fputs(" from ", out);
		gw_display_escape(out, s->remote_host);
	}
	field(out, "tty", s->tty);
	field(out, "display", s->display);
	field(out, "seat", s->seat);
	field(out, "service", s->service);
	fputs(" id=", out);
	gw_display_escape(out, s->id);
	if (s->locked)
		fputs(" locked", out);
	if (s->idle)
		fputs(" idle", out);
	fprintf(out, " via %s", s->source);
}

void session_view_write_profile(FILE *out, const Ghostwatch__V1__ActivityProfile *p)
{
	fprintf(out, " %" PRIu64 " active min over %u days", p->total_minutes, p->days);
	if (p->hours && p->hours[0]) {
		fprintf(out, ", %u%% outside ", p->outside_pct);
		gw_display_escape(out, p->days_declared);
		fputc(' ', out);
		gw_display_escape(out, p->hours);
		fputc(' ', out);
		gw_display_escape(out, p->timezone && p->timezone[0] ? p->timezone : "UTC");
	}
	if (p->best_fit && p->best_fit[0]) {
		fputs(", fits ", out);
		gw_display_escape(out, p->best_fit);
	}
}
