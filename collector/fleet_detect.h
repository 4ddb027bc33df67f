/*
 * fleet_detect.h - what only the fleet shows, computed from the fleet view after a group of
 * batches is stored:
 *   GW-FLEET-LAPTOP-FARM  hosts of at least two employees behind the same gateway MAC, the same
 *                         Wi-Fi access point, or most of the same LAN neighbours (keyed hashes),
 *                         within a day: one finding on each host naming the hosts, employees and
 *                         shared evidence; critical when any of them shows an IP-KVM.
 *   GW-FLEET-MOVED        a host's gateway, access point or timezone changed to one never seen
 *                         for it, or its timezone is not the one its employee declared.
 *   GW-FLEET-SHARED-EGRESS  hosts of at least two employees connect to NATS from one address
 *                         (the server's client list, nats_monitor.h).
 * A finding is due when what it would say (its signature) differs from what was last raised on
 * that host, so a farm growing by one host updates every member once.
 */
#ifndef GWC_FLEET_DETECT_H
#define GWC_FLEET_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "fleet_finding.h"
#include "fleet_view.h"
#include "nats_monitor.h"

#define FLEET_FARM_WINDOW_NS (24ull * 3600 * 1000000000ull)
#define FLEET_FARM_MIN_SHARED_NEIGHBOURS 3
#define FLEET_MATCHED_MAX 1024

/* One finding due on one host. */
struct fleet_alert {
	char host_id[GW_HOST_ID_MAX + 1];
	struct fleet_finding f;
	char subject[160];
	char matched[FLEET_MATCHED_MAX];
	char signature[FLEET_SIGNATURE];
};

/* The findings due for the hosts named in `touched` (and the other members of their farms), at
 * most `max`, in out; returns how many. A host's farm is looked for only when its place,
 * employee or findings changed (fleet_host.detect_due, cleared here): a room changes only then,
 * and the scan is over every host. */
size_t fleet_detect(struct fleet_view *v, char *const *touched, size_t n_touched, uint64_t now_ns,
		    struct fleet_alert *out, size_t max);

/* The shared-egress findings due from the server's client list (users "CN=<host id>"). */
size_t fleet_detect_egress(struct fleet_view *v, const struct nats_client_addr *clients,
			   size_t n_clients, struct fleet_alert *out, size_t max);

/* Marks alert a as raised on h: its finding recorded and its signature kept. */
void fleet_detect_mark(struct fleet_host *h, const struct fleet_alert *a);

#endif
