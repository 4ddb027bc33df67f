#include "cadence_view.h"

#include "common/text.h"

void cadence_view_write(FILE *out, const Ghostwatch__V1__InputCadence *c)
{
	fputc(' ', out);
	gw_display_escape(out, c->device);
	fputs(" \"", out);
	gw_display_escape(out, c->device_name);
	fprintf(out, "\" %s keys=%u", c->device_kind, c->key_presses);
	if (c->key_presses > 1)
		fprintf(out, " interval=%ums coalesced=%.0f%%", c->key_interval_median_us / 1000,
			c->coalesced_fraction * 100);
	if (c->hold_median_us)
		fprintf(out, " hold=%ums", c->hold_median_us / 1000);
	if (c->rel_events || c->abs_events || c->clicks)
		fprintf(out, " motion=%u clicks=%u", c->rel_events + c->abs_events, c->clicks);
	if (c->bursts)
		fprintf(out, " bursts=%u still=%u/%u", c->bursts, c->bursts_still, c->bursts_finished);
	if (c->burst_period_mean_ms)
		fprintf(out, " period=%ums+-%.0f%%", c->burst_period_mean_ms,
			c->burst_period_jitter * 100);
	if (c->jiggler_likeness > 0)
		fprintf(out, " jiggler=%.2f", c->jiggler_likeness);
	if (c->injector) {
		fputs(" injector=", out);
		gw_display_escape(out, c->injector->comm);
		fprintf(out, "[%u]", c->injector->pid);
	}
	fprintf(out, " via=%s", c->hook);
}
