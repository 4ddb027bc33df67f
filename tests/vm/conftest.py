"""Fixtures for tests that run in the QEMU guest (see tests/vm/README.md).

`guest` (session): fetches the Debian kernel, builds the initramfs around build/ghostwatch and boots
ONE guest for every VM test. `vm` (per test): the same guest, put back in a clean state after the
test (agent stopped, hot-plugged devices and gadgets removed), so tests do not leak into each other.
`logind_guest` (session): the systemd flavour (systemd_guest.py), booted once when a test first
asks for it. The host has two cores, so it shuts the busybox guest down first (a later `vm` test
would boot that one again); the logind tests sort last, so in a full run neither boots twice.

    GW_SKIP_VM=1          skip the VM tests (loudly)
    GW_VM_AGENT=path      agent binary to put in the guest (default build/ghostwatch, the static
                          release build; GW_AGENT is the e2e tests' agent on this host)
    GW_VM_AGENT=none      harness-only image: agent tests skip
"""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from guest import ROOT, Guest, GuestError  # noqa: E402
from systemd_guest import SystemdGuest  # noqa: E402

_timings = {}
_booted = {}  # flavour -> the session's Guest, so one can stop the other


def _banner(msg):
    sys.stderr.write(f"\n{'!' * 100}\n!! VM TESTS: {msg}\n{'!' * 100}\n")


def _run_step(argv, env, what):
    t0 = time.monotonic()
    try:
        r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired as e:
        r = subprocess.CompletedProcess(argv, 124, "", f"{argv[0]} timed out after 600 s")
    _timings[what] = time.monotonic() - t0
    return r


def _skip(reason):
    _banner("SKIPPED: " + reason)
    pytest.skip(reason)


def _check_qemu():
    if os.environ.get("GW_SKIP_VM"):
        _banner("SKIPPED because GW_SKIP_VM is set")
        pytest.skip("VM tests skipped: GW_SKIP_VM is set")
    if subprocess.run(["sh", "-c", "command -v qemu-system-x86_64"], capture_output=True).returncode:
        _skip("qemu-system-x86_64 is not installed (make deps installs qemu-system-x86)")


def _fetch_kernel(env):
    r = _run_step([str(HERE / "fetch-kernel.sh")], env, "fetch_kernel_s")
    if r.returncode != 0:
        _skip(f"cannot get the Debian guest kernel (fetch-kernel.sh rc {r.returncode}): " +
              (r.stderr or r.stdout).strip()[-600:])


@pytest.fixture(scope="session")
def guest():
    _check_qemu()
    agent = os.environ.get("GW_VM_AGENT", str(Path(os.environ.get("BUILD", ROOT / "build")) / "ghostwatch"))
    if agent != "none" and not os.access(agent, os.X_OK):
        pytest.fail(f"{agent} missing: build the agent first (`make`), then `make vm` or run the tests; "
                    "GW_VM_AGENT=none boots a harness-only guest", pytrace=False)
    env = dict(os.environ, GW_VM_AGENT=agent)

    _fetch_kernel(env)
    _build_initramfs(env, "build_initramfs_s", "")
    g = Guest()
    g.has_agent = agent != "none"
    yield from _session_boot(g, "busybox", "", lambda k: k not in _timings)


def _build_initramfs(env, step, what):
    r = _run_step([str(HERE / "build-initramfs.sh")], env, step)
    if r.returncode != 0:
        pytest.fail(f"build-initramfs.sh{what} failed (rc {r.returncode}):\n{r.stdout}\n"
                    f"{r.stderr}", pytrace=False)


def _session_boot(g, flavour, prefix, keep):
    """Boots g for the whole session, with the other flavour stopped first (one QEMU at a time on
    this host), and shuts it down at the end; its timings go in the summary under prefix, and
    those of its own that keep(name) admits. A guest that does not boot fails."""
    other = _booted.get("systemd" if flavour == "busybox" else "busybox")
    if other is not None and other.running:
        other.shutdown()
    try:
        g.boot()
    except GuestError as e:
        g.shutdown()
        pytest.fail(f"{'' if flavour == 'busybox' else flavour + ' '}guest did not boot: {e}",
                    pytrace=False)
    _booted[flavour] = g
    _timings[prefix + "boot_s"] = g.timings["boot_s"]
    _timings[prefix + "run_dir"] = str(g.run_dir)
    t0 = time.monotonic()
    try:
        yield g
    finally:
        _timings[f"session_with_{prefix}guest_s"] = time.monotonic() - t0 + g.timings["boot_s"]
        _timings.update({k: v for k, v in g.timings.items() if keep(k)})
        g.shutdown()


# What the systemd flavour runs from this host's root; without one of them there is no logind
# world to test (tools/deps.sh installs them all).
SYSTEMD_GUEST_NEEDS = {
    "/lib/systemd/systemd": "systemd", "/lib/systemd/systemd-logind": "systemd",
    "/usr/bin/dbus-daemon": "dbus", "/usr/sbin/sshd": "openssh-server",
    "/usr/bin/ssh": "openssh-client", "/lib/x86_64-linux-gnu/security/pam_systemd.so":
    "libpam-systemd",
}


@pytest.fixture(scope="session")
def logind_guest():
    """The systemd flavour, booted once: this host's systemd, dbus, logind and a loopback sshd with
    PAM. Missing host packages skip loudly; a guest that does not boot fails."""
    _check_qemu()
    missing = sorted({pkg for path, pkg in SYSTEMD_GUEST_NEEDS.items() if not os.path.exists(path)})
    if missing:
        _skip(f"the systemd guest runs this host's {', '.join(missing)}: not installed "
              "(tools/deps.sh installs them)")
    agent = Path(os.environ.get("BUILD", ROOT / "build")) / "ghostwatch"
    if not os.access(agent, os.X_OK):
        pytest.fail(f"{agent} missing: build the agent first (`make`)", pytrace=False)
    env = dict(os.environ, GW_VM_FLAVOUR="systemd")
    _fetch_kernel(env)
    _build_initramfs(env, "build_initramfs_systemd_s", " (systemd)")
    yield from _session_boot(SystemdGuest(agent=agent), "systemd", "systemd_",
                             lambda k: k.startswith("logind_"))


def _recover(guest, why):
    """Replaces a dead or wedged guest with a fresh boot so one bad test does not fail the rest."""
    _banner(f"{why}; logs in {guest.run_dir}; rebooting the guest")
    try:
        guest.reboot()
        _timings["reboots"] = _timings.get("reboots", 0) + 1
    except GuestError as e:
        pytest.fail(f"guest reboot failed: {e}", pytrace=False)


@pytest.fixture
def vm(guest):
    """The session guest, cleaned up after the test (agent, devices, gadgets). A guest that an
    earlier test killed or wedged is rebooted first."""
    if not guest.running:
        _recover(guest, "the guest is no longer running (an earlier test killed it, or "
                        "logind_guest stopped it to boot the systemd guest)")
    yield guest
    if not guest.running:
        _recover(guest, "the guest died during the test")
        return
    try:
        guest.reset()
    except GuestError as e:
        _recover(guest, f"cleaning up after the test failed ({str(e).splitlines()[0]})")


@pytest.fixture
def agent_guest(vm):
    """The guest, for tests that need the agent binary in it."""
    if not getattr(vm, "has_agent", False):
        _banner("agent test SKIPPED: the guest image was built with GW_VM_AGENT=none")
        pytest.skip("no agent in the guest image (GW_VM_AGENT=none)")
    return vm


def pytest_terminal_summary(terminalreporter):
    if _timings:
        parts = [f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in _timings.items()]
        terminalreporter.write_line("VM timings: " + " ".join(parts))
