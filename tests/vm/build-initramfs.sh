#!/usr/bin/env bash
# Builds tests/vm/cache/initramfs.cpio.gz for the QEMU guest: static busybox, tests/vm/init as
# /init, the kernel modules the USB/HID/input tests need (in dependency order, read from each
# module's .modinfo because the .deb ships no modules.dep and this host has no kmod), and the
# agent as /ghostwatch (plus its loader and libraries if it is dynamically linked).
#
# Rebuilds only when an input changed (script, init, busybox, agent, kernel release, module list).
#   GW_VM_AGENT=path   agent binary (default build/ghostwatch; run `make` first). Not GW_AGENT:
#                      that one names the e2e tests' agent (ASan build) on this host.
#   GW_VM_AGENT=none   no agent: an initramfs for working on the harness itself
#   FORCE=1            rebuild even if nothing changed
#   GW_VM_FLAVOUR=systemd  cache/initramfs-systemd.cpio.gz instead: a stage that mounts this host's
#                      root (9p, read-only) under a tmpfs overlay and hands over to systemd
#                      (init-systemd, systemd_guest.py). No agent or guest tools in it: the guest
#                      runs them from the host's root.
# Needs tests/vm/fetch-kernel.sh to have run (cache/KVER, cache/kernel-$KVER/).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${GW_VM_CACHE:-$HERE/cache}
FLAVOUR=${GW_VM_FLAVOUR:-busybox}
OUT=$CACHE/initramfs.cpio.gz
STAMP=$CACHE/initramfs.stamp
INIT=$HERE/init
AGENT=${GW_VM_AGENT:-$ROOT/build/ghostwatch}
BUSYBOX=${BUSYBOX:-/bin/busybox}

# Modules the tests need. Dependencies are added automatically; "name=params" passes parameters.
# dummy_hcd gets two UDCs so a test can plug two gadgets at once (an IP-KVM and a jiggler).
# virtio first: the command port then comes up while the USB stack loads.
REQUIRED_MODULES=(
	virtio_pci virtio_console
	usb-common usbcore xhci-hcd xhci-pci hid usbhid hid-generic evdev
	udc-core "dummy_hcd=num=2" configfs libcomposite usb_f_hid
)
# Loaded when this kernel has them: more gadget functions, the host-side drivers a laptop would
# bind to them, and the virtual input devices remote-desktop tools use.
OPTIONAL_MODULES=(
	usb_f_mass_storage usb_f_ecm usb_f_rndis usb-storage sd_mod usbnet cdc_ether rndis_host
	uinput uhid
)
case $FLAVOUR in
busybox) ;;
systemd)
	OUT=$CACHE/initramfs-systemd.cpio.gz
	STAMP=$CACHE/initramfs-systemd.stamp
	INIT=$HERE/init-systemd
	AGENT=none
	# the host's root over virtio 9p, and the overlay that makes it writable in the guest
	REQUIRED_MODULES=(virtio_pci virtio_console 9pnet_virtio 9p overlay)
	# systemd mounts its automounts with it; without it only a warning
	OPTIONAL_MODULES=(autofs4)
	;;
*)
	echo "build-initramfs: ERROR: GW_VM_FLAVOUR must be busybox or systemd, not $FLAVOUR" >&2
	exit 1
	;;
esac

say() { echo "build-initramfs: $*"; }
die() { echo "build-initramfs: ERROR: $*" >&2; exit 1; }

[[ -f $CACHE/KVER ]] || die "no kernel in $CACHE: run tests/vm/fetch-kernel.sh first"
KVER=$(cat "$CACHE/KVER")
MODROOT=$CACHE/kernel-$KVER/lib/modules/$KVER
[[ -d $MODROOT ]] || die "$MODROOT missing: run tests/vm/fetch-kernel.sh"
# ldd rather than file(1): libc-bin is always installed, file is not.
is_static() {
	local out
	out=$(ldd "$1" 2>&1 || true)
	[[ $out == *"not a dynamic executable"* || $out == *"statically linked"* ]]
}
[[ -x $BUSYBOX ]] && is_static "$BUSYBOX" ||
	die "$BUSYBOX is not a static busybox (apt-get install busybox-static)"
command -v objcopy >/dev/null || die "objcopy missing (apt-get install binutils)"
command -v cpio >/dev/null || die "cpio missing (apt-get install cpio)"
if [[ $AGENT != none ]]; then
	[[ -x $AGENT ]] || die "agent binary $AGENT missing: run \`make\` first (or GW_VM_AGENT=none for a harness-only image)"
fi

# Resolve the module list: name -> .ko path, depends from .modinfo, depth-first so every module
# comes after its dependencies. Built-in modules are skipped; a missing required module is fatal.
# Output lines: "<path relative to lib/modules/KVER> <params>".
modlist=$(/usr/bin/python3 - "$MODROOT" "${REQUIRED_MODULES[*]}" "${OPTIONAL_MODULES[*]}" <<'PY'
import os, subprocess, sys
root, required, optional = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
norm = lambda n: n.replace("-", "_")
by_name = {}
for d, _, files in os.walk(os.path.join(root, "kernel")):
    for f in files:
        if f.endswith(".ko"):
            by_name[norm(f[:-3])] = os.path.relpath(os.path.join(d, f), root)
builtin = set()
bpath = os.path.join(root, "modules.builtin")
if os.path.exists(bpath):
    builtin = {norm(os.path.basename(l.strip())[:-3]) for l in open(bpath) if l.strip()}

def depends(rel):
    info = subprocess.run(["objcopy", "-O", "binary", "--only-section=.modinfo",
                           os.path.join(root, rel), "/dev/stdout"],
                          check=True, capture_output=True).stdout
    for field in info.split(b"\0"):
        if field.startswith(b"depends="):
            return [norm(x) for x in field[8:].decode().split(",") if x]
    return []

order, params, visiting = [], {}, set()
def visit(name, chain):
    if name in builtin or name in order:
        return
    if name not in by_name:
        sys.exit(f"build-initramfs: ERROR: module {name} (needed by {' -> '.join(chain) or 'the tests'}) "
                 f"is neither in {root}/kernel nor built in")
    if name in visiting:
        sys.exit(f"build-initramfs: ERROR: module dependency cycle at {name}")
    visiting.add(name)
    for dep in depends(by_name[name]):
        visit(dep, chain + [name])
    visiting.discard(name)
    order.append(name)

for spec in required + optional:
    name, _, p = spec.partition("=")
    name = norm(name)
    if spec in optional and name not in by_name and name not in builtin:
        print(f"build-initramfs: optional module {name} not in this kernel, skipped", file=sys.stderr)
        continue
    params[name] = p.replace(",", " ") if p else ""
    visit(name, [])
for name in order:
    print(f"{by_name[name]} {params.get(name, '')}".rstrip())
PY
)

# Dynamic agent: bring its loader and libraries so it runs either way.
agent_libs=()
if [[ $AGENT != none ]] && ! is_static "$AGENT"; then
	mapfile -t agent_libs < <(ldd "$AGENT" | grep -o '/[^ ]*' | sort -u)
fi

# Guest test tools (tests/vm/guest-tools/*.c -> /usr/bin/<name> in the guest), built static.
TOOLS_SRC=$HERE/guest-tools
TOOLS_OUT=$CACHE/guest-tools
mkdir -p "$TOOLS_OUT"
tool_srcs=("$TOOLS_SRC"/*.c)
[[ $FLAVOUR == busybox ]] || tool_srcs=()
for src in "${tool_srcs[@]}"; do
	bin=$TOOLS_OUT/$(basename "$src" .c)
	if [[ ! -x $bin || $src -nt $bin ]]; then
		say "compiling guest tool $(basename "$bin")"
		${CC:-cc} -static -O2 -s -Wall -Wextra -Werror -o "$bin" "$src" ||
			die "cannot build $src (needs a C compiler and static libc: apt-get install gcc libc6-dev)"
	fi
done

# Input fingerprint: a change in any of these means rebuilding.
# Contents only, not paths: build/ghostwatch and $PWD/build/ghostwatch are the same input.
content_hashes() { sha256sum "$@" | cut -d' ' -f1; }
fingerprint=$({
	echo "kver $KVER"
	content_hashes "$0" "$INIT" "$HERE/gw-serve" "$BUSYBOX" "${tool_srcs[@]}"
	if [[ $AGENT == none ]]; then echo "agent none"; else content_hashes "$AGENT"; fi
	if ((${#agent_libs[@]})); then content_hashes "${agent_libs[@]}"; fi
	echo "$modlist"
} | sha256sum | cut -d' ' -f1)

if [[ -z ${FORCE:-} && -f $OUT && $(cat "$STAMP" 2>/dev/null) == "$fingerprint" ]]; then
	say "up to date: $OUT ($(du -h "$OUT" | cut -f1), agent: $AGENT)"
	exit 0
fi

STAGE=$CACHE/initramfs$([[ $FLAVOUR == busybox ]] || echo "-$FLAVOUR").d
rm -rf "$STAGE"
mkdir -p "$STAGE"/{bin,sbin,etc,proc,sys,dev,tmp,run,root,lib/modules,usr/bin,usr/sbin}
cp "$BUSYBOX" "$STAGE/bin/busybox"
install -m 0755 "$INIT" "$STAGE/init"
install -m 0755 "$HERE/gw-serve" "$STAGE/bin/gw-serve"
while read -r rel _; do
	mkdir -p "$STAGE/lib/modules/$(dirname "$rel")"
	cp "$MODROOT/$rel" "$STAGE/lib/modules/$rel"
done <<<"$modlist"
echo "$modlist" >"$STAGE/etc/gw-modules"
for src in "${tool_srcs[@]}"; do
	install -m 0755 "$TOOLS_OUT/$(basename "$src" .c)" "$STAGE/usr/bin/"
done
echo "$KVER" >"$STAGE/etc/gw-kver"
if [[ $AGENT != none ]]; then
	install -m 0755 "$AGENT" "$STAGE/ghostwatch"
	for lib in "${agent_libs[@]}"; do
		mkdir -p "$STAGE$(dirname "$lib")"
		cp -L "$lib" "$STAGE$lib"
	done
fi
# /lib64 -> lib loader paths only exist if we copied a dynamic agent's loader there.
(cd "$STAGE" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) |
	gzip -1 >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "$fingerprint" >"$STAMP"
say "built $OUT ($(du -h "$OUT" | cut -f1)): kernel $KVER, $(wc -l <<<"$modlist") modules, agent: $AGENT${agent_libs:+ (dynamic, ${#agent_libs[@]} libs)}"
say "module order: $(awk '{n=$1; sub(/.*\//,"",n); sub(/\.ko$/,"",n); printf "%s ", n}' <<<"$modlist")"
