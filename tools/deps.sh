#!/usr/bin/env bash
# Installs the Debian packages that building, testing and benchmarking ghostwatch need.
# Idempotent: asks dpkg first and only runs apt-get when something is missing.
set -euo pipefail

PKGS=(
	# build
	make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev protobuf-c-compiler libprotobuf-c-dev
	libyaml-dev libssl-dev libnats-dev uthash-dev pkg-config
	# sanitizers and fuzzing
	libclang-rt-14-dev
	# tests
	python3 python3-pytest iproute2 procps util-linux openssl nats-server
	# real remote-desktop servers and the benign programs beside them (test_detections_linux_tools)
	x11vnc xvfb xrdp curl git openssh-client
	# make deb (dpkg-shlibdeps)
	dpkg-dev
	# bench/profile.sh (callgrind)
	valgrind
	# QEMU guest for the USB/HID tests
	qemu-system-x86 busybox-static cpio xz-utils
)

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
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
