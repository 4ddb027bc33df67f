#!/usr/bin/env bash
# tools/make-deb.sh - `make deb`: Debian packages a fleet admin installs on every endpoint
# (ghostwatch) and on the collector hosts (ghostwatch-collector), from the release binaries.
#
#   tools/make-deb.sh [BUILD_DIR]        -> BUILD_DIR/deb/ghostwatch_<ver>_<arch>.deb and
#                                           BUILD_DIR/deb/ghostwatch-collector_<ver>_<arch>.deb
#
# The agent package: /usr/sbin/ghostwatch, the shipped rules in /usr/share/ghostwatch/rules (where
# the agent looks when it does not run from a build tree), an empty /etc/ghostwatch/rules.d for
# local rules, the fleet config as a conffile (mode 0600: it names key files), the systemd unit
# (enabled, not started: it needs certificates and a collector address first) and the docs.
# Depends come from dpkg-shlibdeps: the packages of the libraries the binaries link, at the oldest
# versions that provide the symbols they use.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${1:-build}
OUT=$BUILD/deb
ARCH=$(dpkg --print-architecture)
# A Debian version must start with a digit: 0.1.0+git<commit>[.dirty]
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git diff --quiet HEAD 2>/dev/null || echo .dirty)
VERSION=${GW_DEB_VERSION:-0.1.0+git$COMMIT$DIRTY}

die() { echo "make-deb: $*" >&2; exit 1; }
for b in ghostwatch ghostwatch-collector; do
	[[ -x $BUILD/$b ]] || die "no $BUILD/$b; run make first"
done

# "libc6 (>= 2.34), libnats3.4 (>= 3.3.0), libssl3 (>= 3.0.0)" for a binary. dpkg-shlibdeps
# wants a debian/control to read, which this tree does not otherwise need: a throwaway one.
depends_of() {
	local bin tmp out
	bin=$(realpath "$1")
	tmp=$(mktemp -d)
	install -d "$tmp/debian"
	printf 'Source: ghostwatch\n\nPackage: ghostwatch\nArchitecture: any\n' >"$tmp/debian/control"
	out=$(cd "$tmp" && dpkg-shlibdeps -O -e "$bin" 2>/dev/null)
	rm -rf "$tmp"
	[[ $out == shlibs:Depends=* ]] || die "dpkg-shlibdeps found no dependencies for $bin"
	echo "${out#shlibs:Depends=}"
}

# stage NAME -> an empty staging tree with DEBIAN/
stage() {
	local dir=$OUT/$1
	rm -rf "$dir"
	install -d "$dir/DEBIAN"
	echo "$dir"
}

control() {
	local dir=$1 name=$2 bin=$3 summary=$4 description=$5
	cat >"$dir/DEBIAN/control" <<EOF
Package: $name
Version: $VERSION
Architecture: $ARCH
Maintainer: ghostwatch developers <ghostwatch@localhost>
Section: admin
Priority: optional
Depends: $(depends_of "$bin")
Installed-Size: $(du -sk --exclude=DEBIAN "$dir" | cut -f1)
Description: $summary
$description
EOF
}

build_pkg() {
	local dir=$1
	find "$dir" -type d -exec chmod 0755 {} +
	dpkg-deb --root-owner-group --build "$dir" "$OUT" >/dev/null
}

install -d "$OUT"
rm -f "$OUT"/*.deb

# --- agent -----------------------------------------------------------------------------------
A=$(stage ghostwatch)
install -D -m 0755 "$BUILD/ghostwatch" "$A/usr/sbin/ghostwatch"
install -d "$A/usr/share/ghostwatch/rules" "$A/etc/ghostwatch/rules.d"
install -m 0644 rules/*.yaml rules/README.md rules/NOTICE rules/LICENSE-LOLRMM \
	"$A/usr/share/ghostwatch/rules/"
install -D -m 0600 deploy/ghostwatch.yaml "$A/etc/ghostwatch/ghostwatch.yaml"
install -D -m 0644 deploy/ghostwatch.service "$A/lib/systemd/system/ghostwatch.service"
install -D -m 0644 README.md "$A/usr/share/doc/ghostwatch/README.md"
install -m 0644 deploy/README.md "$A/usr/share/doc/ghostwatch/FLEET-DEPLOY.md"
echo /etc/ghostwatch/ghostwatch.yaml >"$A/DEBIAN/conffiles"
cat >"$A/DEBIAN/postinst" <<'EOF'
#!/bin/sh
# Enabled, not started: the agent needs its certificates and the collector's address first
# (/etc/ghostwatch/ghostwatch.yaml), then: systemctl start ghostwatch
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null || true
	systemctl enable ghostwatch.service >/dev/null || true
fi
EOF
cat >"$A/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
	systemctl disable --now ghostwatch.service >/dev/null || true
fi
EOF
cat >"$A/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null || true
fi
if [ "$1" = purge ]; then
	rm -rf /var/lib/ghostwatch
fi
EOF
chmod 0755 "$A/DEBIAN/postinst" "$A/DEBIAN/prerm" "$A/DEBIAN/postrm"
control "$A" ghostwatch "$BUILD/ghostwatch" \
	"endpoint agent exposing remote-worker fraud with eBPF" \
" Traces processes, connections, DNS names, USB/HID/input devices and input cadence with
 eBPF, matches them against shipped rules (IP-KVMs, mouse jigglers, remote-desktop and RMM
 tools, VPNs) and forwards telemetry and findings to the fleet collector over NATS JetStream
 with mutual TLS. 'ghostwatch debug' is the live view for an incident responder."
build_pkg "$A"

# --- collector -------------------------------------------------------------------------------
C=$(stage ghostwatch-collector)
install -D -m 0755 "$BUILD/ghostwatch-collector" "$C/usr/sbin/ghostwatch-collector"
install -D -m 0644 deploy/ghostwatch-collector.service \
	"$C/lib/systemd/system/ghostwatch-collector.service"
install -D -m 0644 deploy/README.md "$C/usr/share/doc/ghostwatch-collector/FLEET-DEPLOY.md"
install -D -m 0755 deploy/pki/make-test-ca.sh \
	"$C/usr/share/ghostwatch-collector/pki/make-test-ca.sh"
install -D -m 0755 deploy/nats/gen-accounts.sh \
	"$C/usr/share/ghostwatch-collector/nats/gen-accounts.sh"
install -m 0644 deploy/nats/single.conf "$C/usr/share/ghostwatch-collector/nats/"
install -d "$C/usr/share/ghostwatch-collector/nats/cluster"
install -m 0644 deploy/nats/cluster/*.conf "$C/usr/share/ghostwatch-collector/nats/cluster/"
install -D -m 0644 deploy/nats/systemd/ghostwatch.conf \
	"$C/usr/share/ghostwatch-collector/nats/systemd/ghostwatch.conf"
control "$C" ghostwatch-collector "$BUILD/ghostwatch-collector" \
	"fleet collector for ghostwatch endpoint telemetry" \
" Consumes the agents' batches from NATS JetStream through a durable pull consumer, writes
 them as rotating NDJSON for a SIEM forwarder and keeps a per-host fleet view (gaps, repeats,
 fraud scores, devices). Ships the NATS server configurations and PKI helpers of the fleet
 deployment guide."
build_pkg "$C"

ls "$OUT"/*.deb
