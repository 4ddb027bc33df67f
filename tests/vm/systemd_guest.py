"""The systemd flavour of the QEMU test guest: the same Debian kernel and harness as guest.py, but
PID 1 is this host's own systemd, booted from this host's root shared read-only over virtio 9p
under a tmpfs overlay (tests/vm/init-systemd, built by `GW_VM_FLAVOUR=systemd build-initramfs.sh`).
It runs journald, dbus, systemd-logind, an sshd on loopback with PAM (so pam_systemd registers each
login with logind) and the command channel of guest.py; nothing else.

    with SystemdGuest() as g:
        g.sh("loginctl list-sessions")
        g.start_agent(["debug", "--json", "--sessions=logind"])   # the host's build/ghostwatch

Everything the guest writes stays in its overlay (RAM): the host's files are never touched.
"""
import os
from pathlib import Path

from guest import CACHE, ROOT, Guest

GUEST_UNIT = "gw-logind.target"


class SystemdGuest(Guest):
    """A Guest whose root is the host's, with systemd as PID 1. `agent` is the agent binary as a
    host path: the guest sees the host's files at the same paths, libraries included."""

    def __init__(self, agent=None, boot_timeout=180.0, **kw):
        self.agent = str(Path(agent or Path(os.environ.get("BUILD", ROOT / "build")) / "ghostwatch")
                         .resolve())
        # security_model=none: the guest reads as the owner of each file, as the host's root does;
        # multidevs=remap: the host's root spans several filesystems (/proc, /sys, /dev, /run...)
        # whose inode numbers would otherwise collide in the guest.
        virtfs = ["-virtfs", "local,path=/,mount_tag=gwroot,readonly=on,security_model=none,"
                  "multidevs=remap"]
        cmdline = f"systemd.unit={GUEST_UNIT} fstab=0 systemd.show_status=error " + \
            kw.pop("cmdline", "")
        super().__init__(initrd=kw.pop("initrd", CACHE / "initramfs-systemd.cpio.gz"),
                         boot_timeout=boot_timeout, cmdline=cmdline,
                         qemu_args=virtfs + list(kw.pop("qemu_args", ())), **kw)

    def start_agent(self, args=("debug", "--json"), env=None, binary=None):
        return super().start_agent(args, env=env, binary=binary or self.agent)
