#!/usr/bin/env bash
# Fetches the stock Debian 12 kernel that the QEMU guest tests boot, without installing it on this
# host: `apt-get download` the linux-image package that `linux-image-amd64` points to, unpack it
# with dpkg-deb into tests/vm/cache/, and extract the uncompressed vmlinux from the bzImage so QEMU
# can boot it through the PVH entry point (no real mode, no in-guest xz: about twice as fast under
# TCG) and `make vmlinux-h` can dump its BTF.
#
# Idempotent: every step is skipped when its result is already there.
#   KVER=6.1.0-56-amd64 tests/vm/fetch-kernel.sh    pin an ABI (default: what linux-image-amd64 depends on)
# Leaves: cache/kernel-$KVER/ (unpacked .deb), cache/vmlinux (+ cache/vmlinux.kver), cache/KVER.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${GW_VM_CACHE:-$HERE/cache}
mkdir -p "$CACHE/debs"

say() { echo "fetch-kernel: $*"; }
die() { echo "fetch-kernel: ERROR: $*" >&2; exit 1; }

# When the archive cannot give us KVER (offline, or the ABI was superseded and removed), keep
# testing with the kernel already unpacked here, if any, rather than failing.
fall_back_or_die() {
	local have
	have=$(cat "$CACHE/KVER" 2>/dev/null || true)
	if [[ -z ${KVER_PINNED:-} && -n $have && -f $CACHE/kernel-$have/.unpacked && -f $CACHE/vmlinux &&
		$(cat "$CACHE/vmlinux.kver" 2>/dev/null) == "$have" ]]; then
		echo "fetch-kernel: WARNING: $* -- using the cached kernel $have instead" >&2
		exit 0
	fi
	die "$*"
}

for tool in apt-get apt-cache dpkg-deb /usr/bin/python3; do
	command -v "$tool" >/dev/null || die "$tool is missing (this needs a Debian/Ubuntu host)"
done

KVER_PINNED=${KVER:-}
if [[ -z ${KVER:-} ]]; then
	# linux-image-amd64 is a metapackage; its one Depends is the real, versioned image package.
	dep=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: linux-image-\(.*\)$/\1/p' | head -n1)
	if [[ -z $dep ]]; then
		say "linux-image-amd64 unknown to apt; running apt-get update"
		apt-get update -q >/dev/null || fall_back_or_die "apt-get update failed (no access to the Debian archive?)"
		dep=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: linux-image-\(.*\)$/\1/p' | head -n1)
	fi
	[[ -n $dep ]] || fall_back_or_die "cannot resolve linux-image-amd64 to a versioned kernel package; set KVER"
	KVER=$dep
fi
PKG=linux-image-$KVER
KDIR=$CACHE/kernel-$KVER
say "guest kernel $KVER"

# 1. the .deb
deb=$(ls "$CACHE"/debs/"${PKG}"_*.deb 2>/dev/null | head -n1 || true)
if [[ -n $deb ]]; then
	say "have $(basename "$deb")"
else
	say "apt-get download $PKG"
	(cd "$CACHE/debs" && apt-get download -q -o APT::Sandbox::User=root "$PKG") ||
		fall_back_or_die "apt-get download $PKG failed (package gone from the archive? try: apt-get update, or KVER=...)"
	deb=$(ls "$CACHE"/debs/"${PKG}"_*.deb | head -n1)
fi

# 2. unpacked tree (the marker is written last, so an interrupted unpack is redone)
if [[ -f $KDIR/.unpacked ]]; then
	say "have $KDIR"
else
	say "dpkg-deb -x $(basename "$deb") -> $KDIR"
	rm -rf "$KDIR"
	dpkg-deb -x "$deb" "$KDIR"
	[[ -f $KDIR/boot/vmlinuz-$KVER ]] || die "$deb has no boot/vmlinuz-$KVER"
	touch "$KDIR/.unpacked"
fi

# 3. uncompressed vmlinux: the bzImage payload is one xz stream; cut at its magic and decompress.
if [[ -f $CACHE/vmlinux && $(cat "$CACHE/vmlinux.kver" 2>/dev/null) == "$KVER" ]]; then
	say "have $CACHE/vmlinux"
else
	say "extracting vmlinux from boot/vmlinuz-$KVER"
	/usr/bin/python3 - "$KDIR/boot/vmlinuz-$KVER" "$CACHE/vmlinux.tmp" <<'PY'
import lzma, sys
data = open(sys.argv[1], "rb").read()
magic = b"\xfd7zXZ\x00"
start = data.find(magic)
while start >= 0:
    try:
        dec = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        out = dec.decompress(data[start:])
        if out[:4] == b"\x7fELF":
            open(sys.argv[2], "wb").write(out)
            print(f"fetch-kernel: vmlinux is {len(out) >> 20} MiB (xz stream at offset {start})")
            sys.exit(0)
    except lzma.LZMAError:
        pass
    start = data.find(magic, start + 1)
sys.exit("fetch-kernel: ERROR: no xz-compressed ELF found in the bzImage (kernel not KERNEL_XZ?)")
PY
	mv "$CACHE/vmlinux.tmp" "$CACHE/vmlinux"
	echo "$KVER" >"$CACHE/vmlinux.kver"
fi
echo "$KVER" >"$CACHE/KVER.tmp" && mv "$CACHE/KVER.tmp" "$CACHE/KVER"
say "ready: $CACHE/vmlinux, modules in $KDIR/lib/modules/$KVER"
