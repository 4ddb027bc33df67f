/* fleet_finding.c - findings raised by the collector. See fleet_finding.h. */
#include "fleet_finding.h"

#include <string.h>

#include "common/json_emit.h"
#include "ghostwatch.pb-c.h"
#include "strbuf.h"

void fleet_finding_raise(FILE *out, struct fleet_view *v, const char *host_id,
			 const struct fleet_finding *f)
{
	Ghostwatch__V1__Finding fi = GHOSTWATCH__V1__FINDING__INIT;
	Ghostwatch__V1__Event ev = GHOSTWATCH__V1__EVENT__INIT;
	struct fleet_host *h = v ? fleet_view_host(v, host_id) : NULL;
	struct strbuf extra;

	fi.rule_id = (char *)f->rule_id;
	fi.title = (char *)f->title;
	fi.category = (char *)f->category;
	fi.vendor = (char *)"";
	fi.severity = (char *)f->severity;
	fi.confidence = (char *)f->confidence;
	fi.technique = (char *)(f->technique ? f->technique : "");
	fi.subject = (char *)(f->subject ? f->subject : "");
	fi.matched = (char *)(f->matched ? f->matched : "");
	fi.first_seen_ns = f->time_ns;
	fi.last_seen_ns = f->time_ns;
	fi.count = 1;
	fi.state = (char *)"new";
	ev.time_ns = f->time_ns;
	ev.kind_case = GHOSTWATCH__V1__EVENT__KIND_FINDING;
	ev.finding = &fi;

	strbuf_init(&extra, 0);
	strbuf_puts(&extra, "\"host_id\":");
	strbuf_json_string(&extra, host_id, strlen(host_id));
	strbuf_puts(&extra, ",\"source\":\"collector\"");
	gw_json_write_typed_line(out, &ev.base, extra.failed ? NULL : extra.data);
	strbuf_free(&extra);
	if (h) {
		fleet_host_add_finding(h, f->rule_id, f->severity, 1);
		fleet_host_set_matched(h, f->rule_id, f->matched, f->category);
	}
}
