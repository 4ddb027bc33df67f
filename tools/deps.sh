#!/usr/bin/env bash
# Installs the Debian packages that building, testing and benchmarking ghostwatch need; with the
# argument "bench", also the peer tools `make bench` compares the agent with.
# Idempotent: asks dpkg first and only runs apt-get when something is missing.
set -euo pipefail

PKGS=(
	# build
	make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev protobuf-c-compiler libprotobuf-c-dev
	libyaml-dev libssl-dev libnats-dev uthash-dev pkg-config libmicrohttpd-dev
	# sessions: systemd-logind through sd-login and sd-bus
	libsystemd-dev
	# place: rtnetlink and nl80211 through libnl, the IEEE OUI registry
	libnl-3-dev libnl-route-3-dev libnl-genl-3-dev ieee-data
	# sanitizers and fuzzing
	libclang-rt-14-dev
	# tests
	python3 python3-pytest iproute2 procps util-linux openssl nats-server
	# netns rooms behind a masquerading router (tests/e2e/netns_rooms.py)
	nftables
	# make deb, make rpm and their test: dpkg-buildpackage with debhelper, lintian, rpmbuild,
	# systemd-analyze for the packaged units
	dpkg-dev debhelper lintian rpm systemd
	# real remote-desktop servers and the benign programs beside them (test_detections_linux_tools)
	x11vnc xvfb xrdp curl git openssh-client
	# a real sshd: the ssh session test (test_sessions), the banner the first-bytes capture
	# names (test_proto_id)
	openssh-server
	# bench/profile.sh (callgrind)
	valgrind
	# QEMU guest for the USB/HID tests
	qemu-system-x86 busybox-static cpio xz-utils
	# the systemd guest of the logind tests (tests/vm/test_sessions_logind.py) boots this host's
	# root: its systemd runs this dbus, and this pam_systemd registers the sshd logins with logind
	# (both only recommended by systemd, which --no-install-recommends leaves out)
	dbus libpam-systemd
	# the collector's HTML fleet report rendered in a real browser (test_collector_fleet)
	chromium
	# a real sshd for an SSH login over a delayed path (test_latency)
	openssh-server
	# a real stub resolver under its own account (test_dns_uid: whose DNS answers the agent sees)
	dnsmasq-base
	# the capability drop once the programs are attached (agent/core/privs.c); capsh for its test
	libcap-dev libcap2-bin
)
# make bench: execsnoop, tcplife, tcpstates, and auditd with its auditctl
[[ ${1:-} != bench ]] || PKGS+=(libbpf-tools auditd)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "deps: missing packages (${missing[*]}); run as root: sudo make deps" >&2
		exit 1
	fi
	echo "deps: installing ${missing[*]}"
	# Installing auditd or xrdp starts them: once the kernel's audit is enabled every new task pays
	# for it until reboot (the bench starts auditd itself when it measures it), and xrdp would
	# listen on every address (the tests start it on loopback). A policy-rc.d that refuses every
	# start (unless the machine has one already) keeps the install inert; sshd and dbus likewise
	# (only the systemd guest runs dbus).
	policy=
	if [[ " ${missing[*]} " =~ " "(auditd|xrdp|openssh-server|dbus)" " && ! -e /usr/sbin/policy-rc.d ]]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		trap 'rm -f "$policy"' EXIT
	fi
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
