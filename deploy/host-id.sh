# shellcheck shell=bash
# The host-id rule shared by nats/gen-accounts.sh and pki/make-test-ca.sh, sourced by both from
# the folder above theirs (deploy/ in the tree, /usr/share/ghostwatch-collector/ when installed).
#
# A host id is a NATS subject token and a certificate's CN: letters, digits, '-' and '_', 1..64
# characters.

# gw_check_host_id HOST_ID: exits 2, naming it, unless it is valid and not reserved.
gw_check_host_id() {
	if [[ ! $1 =~ ^[A-Za-z0-9_-]{1,64}$ ]]; then
		echo "$0: bad host id '$1' (allowed: A-Z a-z 0-9 - _, 1..64 chars)" >&2
		exit 2
	fi
	# The collector's identity and inbox (_GW_INBOX.collector), and names nats-server or an
	# operator may give meaning to: a host enrolled under one of these would receive what is
	# meant for them.
	case ${1,,} in
	collector | ghostwatch-collector | ghostwatch | sys | system | admin | nats | jetstream | _*)
		echo "$0: host id '$1' is reserved (collector, ghostwatch-collector, ghostwatch, sys," \
			"system, admin, nats, jetstream, and ids starting with _)" >&2
		exit 2
		;;
	esac
}

# gw_check_host_ids HOST_ID...: the same for each, stopping at the first refused.
gw_check_host_ids() {
	local h
	for h in "$@"; do
		gw_check_host_id "$h"
	done
}
