/* place.c - the place domain: start, change tracking, facts it reads. See place.h. */
#include "place.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "place_internal.h"

#define WIFI_REFRESH_NS (30ULL * 1000000000ULL)

static const char *const settings_tools[] = { "timedatectl", "localectl",   "setxkbmap",
					      "dpkg-reconfigure", "update-locale", "tzselect",
					      "loadkeys",    "im-config",   NULL };

void place_options_defaults(struct place_options *o)
{
	memset(o, 0, sizeof(*o));
	o->enabled = true;
	o->root = "";
	o->mdns = true;
	o->neighbour_interval_s = 10;
}

static void log_err(const char *what, const char *detail)
{
	fprintf(stderr, "ghostwatch: place: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
}

/* The shipped rules directory as the detections find it: next to the build tree, else system. */
static void find_ipkvm_file(struct place_state *s)
{
	char exe[PATH_MAX];
	ssize_t n;

	if (s->opt.ipkvm_file) {
		snprintf(s->ipkvm_path, sizeof(s->ipkvm_path), "%s", s->opt.ipkvm_file);
		return;
	}
	if (s->opt.rules_dir) {
		snprintf(s->ipkvm_path, sizeof(s->ipkvm_path), "%s/%s", s->opt.rules_dir,
			 PLACE_IPKVM_FILE);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		for (int up = 0; up < 3; up++) {
			char *slash = strrchr(exe, '/');

			if (!slash)
				break;
			*slash = 0;
			if ((size_t)snprintf(s->ipkvm_path, sizeof(s->ipkvm_path), "%s/rules/%s", exe,
					     PLACE_IPKVM_FILE) < sizeof(s->ipkvm_path) &&
			    access(s->ipkvm_path, R_OK) == 0)
				return;
		}
	}
	snprintf(s->ipkvm_path, sizeof(s->ipkvm_path), "/usr/share/ghostwatch/rules/%s",
		 PLACE_IPKVM_FILE);
}

static void load_inputs(struct place_state *s)
{
	char err[512];

	if (s->opt.mac_key_file && s->opt.mac_key_file[0]) {
		if (place_key_load(&s->key, s->opt.mac_key_file, err, sizeof(err)))
			log_err("no fleet key, MAC hashes are not sent", err);
	} else {
		log_err("no fleet key configured (place.mac_key_file): MAC hashes are not sent", NULL);
	}
	s->oui = place_oui_load(s->opt.oui_dir ? s->opt.oui_dir : PLACE_OUI_DIR, err, sizeof(err));
	if (!s->oui)
		log_err("IEEE registry not loaded, vendors stay empty (install ieee-data)", err);
	find_ipkvm_file(s);
	if (place_ipkvm_load(&s->ipkvm, s->ipkvm_path, err, sizeof(err)))
		log_err("LAN IP-KVM indicators not loaded", err);
}

static void open_sources(struct place_state *s)
{
	int rc = place_netlink_open(&s->nl);
	char why[64];

	s->netlink_ok = rc == 0;
	if (rc)
		log_err("rtnetlink", strerror(-rc));
	rc = place_wifi_open(&s->wifi);
	s->wifi_present = rc == 0;
	if (rc)
		log_err("no Wi-Fi place", rc == -ENOENT ? "no nl80211 in this kernel" : strerror(-rc));
	s->inotify_fd = place_settings_watch(s->root);
	if (s->inotify_fd < 0)
		log_err("settings changes are not watched", strerror(-s->inotify_fd));
	s->mdns_fd = -1;
	if (s->opt.mdns) {
		s->mdns_fd = place_mdns_open();
		if (s->mdns_fd < 0) {
			snprintf(why, sizeof(why), "%s", strerror(-s->mdns_fd));
			log_err("mDNS not heard", why);
		}
	}
}

static void read_net(struct place_state *s, uint64_t now)
{
	s->c.reads++;
	if (s->netlink_ok && place_net_read(&s->nl, &s->cur.net))
		s->c.read_errors++;
	if (s->wifi_present) {
		if (place_wifi_read(&s->wifi, &s->cur.wifi))
			s->c.wifi_errors++;
		s->last_wifi_ns = now;
	}
}

static void on_mdns_name(const char *name, void *ctx)
{
	struct place_state *s = ctx;

	for (size_t i = 0; i < s->cur.n_mdns; i++)
		if (!strncmp(s->cur.mdns[i], name, PLACE_MDNS_KEEP - 1))
			return;
	if (s->cur.n_mdns == PLACE_MAX_MDNS) {
		s->c.mdns_names_dropped++;
		return;
	}
	snprintf(s->cur.mdns[s->cur.n_mdns++], PLACE_MDNS_KEEP, "%s", name);
}

static void drain_mdns(struct place_state *s)
{
	uint8_t buf[9000];

	if (s->mdns_fd < 0)
		return;
	for (;;) {
		ssize_t n = recv(s->mdns_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0)
			return;
		s->c.mdns_frames++;
		if ((size_t)n > sizeof(buf) || place_mdns_parse(buf, (size_t)n, on_mdns_name, s) < 0)
			s->c.mdns_malformed++;
	}
}

static void add_change(char *out, size_t len, bool changed, const char *name)
{
	if (changed)
		snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? "," : "", name);
}

/* What differs between the current view and the last emitted one; neighbours_only says whether
 * only the neighbour table and mDNS names did. */
static void describe(const struct place_state *s, char *out, size_t len, bool *neighbours_only)
{
	const struct place_view *c = &s->cur, *p = &s->sent;
	bool gw = strcmp(c->net.gateway, p->net.gateway) || strcmp(c->net.ifname, p->net.ifname) ||
		  c->net.has_gateway_mac != p->net.has_gateway_mac ||
		  memcmp(c->net.gateway_mac, p->net.gateway_mac, 6);
	bool neigh = c->net.n_neigh != p->net.n_neigh ||
		     memcmp(c->net.neigh, p->net.neigh, c->net.n_neigh * 6) ||
		     c->net.neigh_dropped != p->net.neigh_dropped;
	bool mdns = c->n_mdns != p->n_mdns;

	out[0] = 0;
	add_change(out, len, gw, "gateway");
	add_change(out, len, c->net.n_addrs != p->net.n_addrs ||
				     memcmp(c->net.addrs, p->net.addrs, sizeof(c->net.addrs)),
		   "addresses");
	add_change(out, len, memcmp(&c->wifi, &p->wifi, sizeof(c->wifi)) != 0, "wifi");
	add_change(out, len, memcmp(&c->set.dns, &p->set.dns, sizeof(c->set.dns)) != 0, "dns");
	add_change(out, len, strcmp(c->set.timezone, p->set.timezone) != 0, "timezone");
	add_change(out, len, memcmp(&c->set.locales, &p->set.locales, sizeof(c->set.locales)) != 0,
		   "locale");
	add_change(out, len,
		   memcmp(&c->set.keyboards, &p->set.keyboards, sizeof(c->set.keyboards)) != 0,
		   "keyboard");
	add_change(out, len,
		   memcmp(&c->set.input_methods, &p->set.input_methods,
			  sizeof(c->set.input_methods)) != 0,
		   "input_methods");
	*neighbours_only = !out[0];
	add_change(out, len, neigh, "neighbours");
	add_change(out, len, mdns, "mdns");
}

static void refresh(struct gw_agent *a, struct place_state *s, uint64_t now)
{
	char change[160];
	bool neighbours_only, hold;
	uint32_t nl = s->netlink_ok ? place_netlink_changed(&s->nl) : 0;

	if (nl)
		s->net_dirty = true;
	/* a new network usually brings new DNS servers, in a file not always watched
	 * (NetworkManager's, dhclient's) */
	if (nl & PLACE_NL_ROUTE)
		s->settings_dirty |= PLACE_SET_DNS;
	s->settings_dirty |= place_settings_drain(s->inotify_fd, &s->c.inotify_overflows);
	drain_mdns(s);
	if (s->wifi_present && now - s->last_wifi_ns >= WIFI_REFRESH_NS)
		s->net_dirty = true;
	if (s->net_dirty) {
		read_net(s, now);
		s->net_dirty = false;
		if (s->mdns_fd >= 0 && memcmp(s->cur.net.addrs, s->sent.net.addrs,
					      sizeof(s->cur.net.addrs)))
			place_mdns_join(s->mdns_fd);
	}
	if (s->settings_dirty) {
		place_settings_read(s->root, s->im_running, &s->cur.set);
		s->settings_dirty = 0;
	}
	describe(s, change, sizeof(change), &neighbours_only);
	if (change[0]) {
		/* a busy LAN's neighbour table churns: those changes wait for the interval, unless
		 * they show an IP-KVM not reported yet */
		hold = neighbours_only && !place_lan_unraised(s) &&
		       now - s->last_emit_ns < (uint64_t)s->opt.neighbour_interval_s * 1000000000ULL;
		if (!hold)
			place_emit(a, s, change);
	}
	if (s->kvm_device_new || place_lan_unraised(s)) {
		s->kvm_device_new = false;
		place_lan_evaluate(a, s);
	}
}

static int place_start(struct gw_agent *a, void *state)
{
	struct place_state *s = state;
	uint64_t now = gw_now_boottime_ns();

	load_inputs(s);
	open_sources(s);
	read_net(s, now);
	place_settings_read(s->root, s->im_running, &s->cur.set);
	place_emit(a, s, "start");
	s->started = true;
	place_lan_evaluate(a, s);
	return 0;
}

static void place_tick(struct gw_agent *a, void *state, uint64_t now)
{
	struct place_state *s = state;

	if (s->started)
		refresh(a, s, now);
}

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

static void on_exec(struct place_state *s, const struct proc_entry *e)
{
	const char *names[2] = { e->comm, base_name(e->exe) };

	for (int n = 0; n < 2; n++) {
		int im = place_im_of_program(names[n]);

		if (im >= 0 && !s->im_running[im]) {
			s->im_running[im] = true;
			s->im_process_id[im] = e->id;
			s->settings_dirty |= PLACE_SET_LOCALE;
		}
		for (size_t i = 0; names[n] && settings_tools[i]; i++) {
			/* comm holds 15 bytes: "dpkg-reconfigure" runs as "dpkg-reconfigur" */
			if (!strncmp(names[n], settings_tools[i], GW_PROC_COMM_LEN - 1) &&
			    (strlen(names[n]) == GW_PROC_COMM_LEN - 1 ||
			     !strcmp(names[n], settings_tools[i]))) {
				s->changer_pid = e->pid;
				s->changer_ns = gw_now_boottime_ns();
			}
		}
	}
}

static void on_device(struct place_state *s, const struct gw_device_input *d)
{
	const char *kvm = place_ipkvm_match_edid(&s->ipkvm, d->edid_monitor_name);

	if (d->kind == GW_DEVICE_USB && d->has_absolute_pointer)
		snprintf(s->kvm_device_what, sizeof(s->kvm_device_what),
			 "an absolute-pointer USB device (%04x:%04x %s %s)", d->vid, d->pid,
			 d->manufacturer ? d->manufacturer : "", d->product ? d->product : "");
	else if (d->kind == GW_DEVICE_MONITOR && kvm)
		snprintf(s->kvm_device_what, sizeof(s->kvm_device_what),
			 "a display with %s's EDID (%s)", kvm, d->edid_monitor_name);
	else
		return;
	s->kvm_device_new = !s->kvm_device;
	s->kvm_device = true;
}

static void place_observe(struct gw_agent *a, void *state, const struct gw_fact *f)
{
	struct place_state *s = state;

	(void)a;
	if (f->kind == GW_FACT_EXEC && f->proc) {
		on_exec(s, f->proc);
	} else if (f->kind == GW_FACT_EXIT) {
		for (int i = 0; i < PLACE_IM_COUNT; i++) {
			if (s->im_running[i] && s->im_process_id[i] == f->process_id) {
				s->im_running[i] = false;
				s->settings_dirty |= PLACE_SET_LOCALE;
			}
		}
	} else if (f->kind == GW_FACT_DEVICE && f->device) {
		on_device(s, f->device);
	}
}

static void place_counters(const struct gw_agent *a, void *state, struct gw_stats_parts *p)
{
	struct place_state *s = state;

	(void)a;
	agent_stats_add(&p->events, "place", s->c.places);
	agent_stats_add(&p->events, "place_mdns_frames", s->c.mdns_frames);
	agent_stats_add(&p->events, "place_findings", s->c.findings);
	agent_stats_add(&p->drops, "place_read_errors", s->c.read_errors);
	agent_stats_add(&p->drops, "place_wifi_errors", s->c.wifi_errors);
	agent_stats_add(&p->drops, "place_netlink_overruns", s->nl.overruns);
	agent_stats_add(&p->drops, "place_neighbours_unlisted", s->cur.net.neigh_dropped);
	agent_stats_add(&p->drops, "place_mdns_malformed", s->c.mdns_malformed);
	agent_stats_add(&p->drops, "place_mdns_names_dropped", s->c.mdns_names_dropped);
	agent_stats_add(&p->drops, "place_inotify_overflows", s->c.inotify_overflows);
}

static void place_destroy(struct gw_agent *a, void *state)
{
	struct place_state *s = state;

	(void)a;
	place_netlink_close(&s->nl);
	place_wifi_close(&s->wifi);
	if (s->inotify_fd >= 0)
		close(s->inotify_fd);
	if (s->mdns_fd >= 0)
		close(s->mdns_fd);
	place_oui_free(s->oui);
	place_ipkvm_free(&s->ipkvm);
	memset(&s->key, 0, sizeof(s->key));
	free(s);
}

int place_register(struct gw_agent *a, const struct place_options *o)
{
	struct place_state *s;
	int err;

	if (!o->enabled)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->opt = *o;
	s->inotify_fd = s->mdns_fd = -1;
	s->nl.events_fd = -1;
	snprintf(s->root, sizeof(s->root), "%s", o->root ? o->root : "");
	/* "/" and "" are the same root; a trailing slash would double in every path */
	while (s->root[0] && s->root[strlen(s->root) - 1] == '/')
		s->root[strlen(s->root) - 1] = 0;
	err = agent_register(a, &(struct gw_domain){
					.name = "place",
					.state = s,
					.start = place_start,
					.observe = place_observe,
					.tick = place_tick,
					.counters = place_counters,
					.destroy = place_destroy,
				});
	if (err)
		free(s);
	return err;
}
