/*
 * place_internal.h - the place domain's state, shared by its files: the domain (place.c), the
 * Place message (place_emit.c) and the LAN IP-KVM finding (place_lan.c).
 */
#ifndef GW_PLACE_INTERNAL_H
#define GW_PLACE_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "place.h"
#include "place_ipkvm.h"
#include "place_key.h"
#include "place_mdns.h"
#include "place_net.h"
#include "place_oui.h"
#include "place_settings.h"
#include "place_wifi.h"

#define PLACE_MAX_MDNS 32
#define PLACE_MDNS_KEEP 128 /* a kept name is cut to this */

/* Everything a Place message says; compared field group by field group to name a change. */
struct place_view {
	struct place_net net;
	struct place_wifi wifi;
	struct place_settings set;
	char mdns[PLACE_MAX_MDNS][PLACE_MDNS_KEEP]; /* in the order first heard */
	size_t n_mdns;
};

struct place_counters {
	uint64_t places, reads, read_errors, wifi_errors;
	uint64_t mdns_frames, mdns_malformed, mdns_names_dropped;
	uint64_t inotify_overflows, findings;
};

struct place_state {
	struct place_options opt;
	char root[PATH_MAX];
	char ipkvm_path[PATH_MAX];
	struct place_key key;
	struct place_oui *oui;
	struct place_ipkvm ipkvm;
	struct place_netlink nl;
	struct place_wifi_sock wifi;
	int inotify_fd, mdns_fd;
	bool netlink_ok, wifi_present;

	struct place_view cur, sent; /* now, and as last emitted */
	bool started;
	bool net_dirty;
	uint32_t settings_dirty; /* PLACE_SET_* */
	uint64_t last_emit_ns;	 /* CLOCK_BOOTTIME */
	uint64_t last_wifi_ns;
	uint64_t last_place_event_id, last_place_time_ns;

	bool im_running[PLACE_IM_COUNT];
	uint64_t im_process_id[PLACE_IM_COUNT]; /* Process.process_id of the running daemon */
	uint32_t changer_pid; /* the last settings tool exec'd, and when (CLOCK_BOOTTIME) */
	uint64_t changer_ns;

	bool kvm_device; /* an absolute-pointer USB device or an IP-KVM EDID attached */
	char kvm_device_what[160];
	bool kvm_device_new;
	/* neighbours and names already raised, low and high */
	uint8_t raised_low[PLACE_MAX_NEIGH][6], raised_high[PLACE_MAX_NEIGH][6];
	size_t n_raised_low, n_raised_high;
	bool mdns_raised_low[PLACE_MAX_MDNS], mdns_raised_high[PLACE_MAX_MDNS];

	struct place_counters c;
};

/* place_emit.c: emits the Place for s->cur with this change text; returns its event id. */
uint64_t place_emit(struct gw_agent *a, struct place_state *s, const char *change);

/* place_lan.c: raises the LAN IP-KVM findings s->cur shows and has not raised yet, citing the
 * last Place event. */
void place_lan_evaluate(struct gw_agent *a, struct place_state *s);
/* Whether s->cur holds an IP-KVM neighbour or name not yet raised (low, or high once a KVM device
 * is attached). */
bool place_lan_unraised(const struct place_state *s);

#endif
