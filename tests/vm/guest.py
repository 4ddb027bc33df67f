"""The QEMU test guest: a stock Debian kernel booted under TCG with the initramfs from
build-initramfs.sh, driven from Python (stdlib only).

    with Guest() as g:                      # boots (about 4 s), always kills QEMU on exit
        rc, out = g.sh("cat /proc/version")
        g.device_add("usb-tablet", "tab0")
        g.wait_usb_device(product="QEMU USB Tablet")
        g.start_agent(["debug", "--json"])
        ev = g.wait_for_event(lambda e: e.get("type") == "exec")

Channels (all virtio-serial ports except the console):
  ttyS0         kernel messages and /init's log   -> <run_dir>/console.log
  gw.cmd        shell commands and their replies  <- unix socket, framed by /init (see tests/vm/init)
  gw.agent      the agent's stdout (NDJSON)       -> <run_dir>/agent.out
  gw.agent-err  the agent's stderr                -> <run_dir>/agent.err
  QMP           hot-plug, input injection         <- <run_dir>/qmp.sock
"""
import atexit
import base64
import ctypes
import itertools
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from collections import namedtuple
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CACHE = Path(os.environ.get("GW_VM_CACHE", HERE / "cache"))
QEMU = os.environ.get("GW_QEMU", "qemu-system-x86_64")
KEEP_RUNS = 5


class GuestError(Exception):
    """The guest or QEMU did not do what was asked; the message carries the context."""


class GuestTimeout(GuestError):
    pass


def _tail(path, lines=20):
    try:
        data = Path(path).read_bytes()
    except OSError:
        return "(no file)"
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def _die_with_parent():
    # Runs in the forked child before exec: QEMU gets SIGKILL if the test process dies, even by
    # SIGKILL, so a crashed pytest never leaves a guest running.
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    os.setsid()


_live_guests = set()


@atexit.register
def _kill_leftover_guests():
    for g in list(_live_guests):
        g.shutdown()


class QMP:
    """A minimal synchronous QMP client. Asynchronous events are kept in .events."""

    def __init__(self, path, timeout=10.0, alive=lambda: None):
        """alive() is called while waiting for the socket and should raise if QEMU died."""
        deadline = time.monotonic() + timeout
        while True:
            alive()
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(str(path))
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise GuestError(f"cannot connect to QMP at {path}")
                time.sleep(0.02)
        self.buf = b""
        self.events = []
        self.ids = itertools.count(1)
        self.lock = threading.Lock()
        self._read_msg(timeout)  # greeting
        self.execute("qmp_capabilities")

    def _read_msg(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise GuestTimeout("QMP: no reply")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError as e:
                raise GuestError(f"QMP: {e} (QEMU exited?)")
            if not chunk:
                raise GuestError("QMP: connection closed (QEMU exited?)")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, cmd, arguments=None, timeout=10.0):
        with self.lock:
            msg_id = next(self.ids)
            msg = {"execute": cmd, "id": msg_id}
            if arguments:
                msg["arguments"] = arguments
            try:
                self.sock.sendall(json.dumps(msg).encode() + b"\n")
            except OSError as e:
                raise GuestError(f"QMP {cmd}: {e} (QEMU exited?)")
            deadline = time.monotonic() + timeout
            while True:
                reply = self._read_msg(max(0.01, deadline - time.monotonic()))
                if "event" in reply:
                    self.events.append(reply)
                    continue
                if reply.get("id") != msg_id:
                    continue
                if "error" in reply:
                    err = reply["error"]
                    raise GuestError(f"QMP {cmd} {arguments or ''}: {err.get('class')}: {err.get('desc')}")
                return reply.get("return")

    def wait_event(self, name, predicate=lambda e: True, timeout=10.0):
        """Returns (and consumes) the first event `name` matching predicate(event["data"])."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for i, e in enumerate(self.events):
                    if e["event"] == name and predicate(e.get("data", {})):
                        return self.events.pop(i)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise GuestTimeout(f"QMP event {name} did not arrive in {timeout} s")
                try:
                    msg = self._read_msg(left)
                except GuestTimeout:
                    continue
                if "event" in msg:
                    self.events.append(msg)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# --- HID descriptors for gadgets (the guest plays both the device and the laptop) ------------------

# Boot keyboard: modifiers byte, reserved byte, six key codes; LED output report.
KEYBOARD_REPORT_DESC = bytes.fromhex(
    "05010906a101050719e029e71500250175019508810295017508810395057501"
    "0508190129059102950175039103950675081500256505071900296581 00c0".replace(" ", ""))
# Absolute pointer as IP-KVMs (PiKVM) present it: 5 buttons, X/Y 0..32767 (16 bit), wheel.
MOUSE_ABS_REPORT_DESC = bytes.fromhex(
    "05010902a1010901a1000509190129051500250195057501810295017503"
    "8103050109300931150026ff7f75109502810209381581257f7508950181"
    "06c0c0")
# Relative boot mouse (hardware jigglers): 5 buttons, X/Y/wheel -127..127.
MOUSE_REL_REPORT_DESC = bytes.fromhex(
    "05010902a1010901a100050919012905150025019505750181029501750381"
    "0305010930093109381581257f750895038106c0c0")

# function kind -> (configfs function type, attributes)
GADGET_FUNCTIONS = {
    "keyboard": ("hid", {"protocol": 1, "subclass": 1, "report_length": 8,
                         "report_desc": KEYBOARD_REPORT_DESC}),
    "mouse_abs": ("hid", {"protocol": 0, "subclass": 0, "report_length": 6,
                          "report_desc": MOUSE_ABS_REPORT_DESC}),
    "mouse_rel": ("hid", {"protocol": 2, "subclass": 1, "report_length": 4,
                          "report_desc": MOUSE_REL_REPORT_DESC}),
    "mass_storage": ("mass_storage", {}),
    "ecm": ("ecm", {}),
    "rndis": ("rndis", {}),
}


def keyboard_report(keys=(), modifiers=0):
    """8-byte boot keyboard report; keys are HID usage codes (0x04 = 'a')."""
    keys = list(keys)[:6]
    return bytes([modifiers, 0] + keys + [0] * (6 - len(keys)))


def mouse_abs_report(x, y, buttons=0, wheel=0):
    return struct.pack("<BHHb", buttons, x, y, wheel)


def mouse_rel_report(dx, dy, buttons=0, wheel=0):
    return struct.pack("<Bbbb", buttons, dx, dy, wheel)


def _printf_octal(data):
    return "".join(f"\\{b:03o}" for b in data)


# --- QMP input-send-event builders ----------------------------------------------------------------

def key_event(qcode, down=True):
    """A key event; qcode is QEMU's key name ("a", "shift", "ret", "spc", ...)."""
    return {"type": "key", "data": {"down": down, "key": {"type": "qcode", "data": qcode}}}


def btn_event(button="left", down=True):
    return {"type": "btn", "data": {"down": down, "button": button}}


def rel_event(axis, value):
    return {"type": "rel", "data": {"axis": axis, "value": value}}


def abs_event(axis, value):
    """Absolute axis event; QEMU scales 0..32767 to the device's range (usb-tablet: same)."""
    return {"type": "abs", "data": {"axis": axis, "value": value}}


InputEvent = namedtuple("InputEvent", "time type code value")
EV_SYN, EV_KEY, EV_REL, EV_ABS = 0, 1, 2, 3


class InputRecording:
    """Raw struct input_event records read from an evdev node in the guest (see Guest.record_input).
    Holding the node open is also what makes usbhid poll the device, like a desktop session does."""

    def __init__(self, guest, dev, pid, path):
        self.guest, self.dev, self.pid, self.path = guest, dev, pid, path

    def events(self):
        rc, out = self.guest.sh(f"base64 {self.path}", check=True)
        data = base64.b64decode(out)
        n = len(data) // 24
        return [InputEvent(s + us / 1e6, t, c, v)
                for s, us, t, c, v in (struct.unpack_from("<qqHHi", data, i * 24) for i in range(n))]

    def stop(self):
        """Stops reading and returns every event recorded."""
        self.guest.sh(f"kill {self.pid} 2>/dev/null; true")
        return self.events()


class GuestProcess:
    """A guest tool running in the background (run_uinput/run_uhid). .pid is what the agent
    should attribute the device and its input to."""

    def __init__(self, guest, pid, out_path, ready_line):
        self.guest, self.pid, self.out_path = guest, pid, out_path
        self.ready = ready_line.split()  # e.g. ["READY", "input7", "123"]

    def output(self):
        return self.guest.sh(f"cat {self.out_path}")[1]

    def wait(self, timeout=30.0):
        """Waits for the tool to finish; returns its output (raises if it did not print DONE)."""
        try:
            self.guest.wait_sh(f"grep -q '^DONE' {self.out_path} || ! kill -0 {self.pid} 2>/dev/null",
                               timeout=timeout)
        except GuestTimeout:
            self.kill()
            raise
        out = self.output()
        if "DONE" not in out:
            raise GuestError(f"guest tool {self.pid} failed:\n{out}")
        return out

    def kill(self):
        self.guest.sh(f"kill {self.pid} 2>/dev/null; true")


class Gadget:
    """A USB gadget defined through configfs in the guest and bound to a dummy_hcd UDC, so the guest
    kernel enumerates it exactly like a device plugged into a laptop."""

    def __init__(self, name, udc, vid, pid, serial, product, functions):
        self.name, self.udc, self.vid, self.pid = name, udc, vid, pid
        self.serial, self.product = serial, product
        self.functions = functions  # kind -> {"instance": "hid.usb0", "dev": "/dev/hidg0" or None}
        self.usb = None  # the enumerated device as seen by the guest's host side (usb_devices() row)

    def hidg(self, kind):
        dev = self.functions[kind].get("dev")
        if not dev:
            raise GuestError(f"gadget {self.name}: function {kind} has no /dev/hidg node")
        return dev

    def __repr__(self):
        return f"Gadget({self.name} {self.vid:04x}:{self.pid:04x} on {self.udc}, {list(self.functions)})"


class Guest:
    """One QEMU guest. boot() it once, run many scenarios, shutdown() (or use `with`)."""

    def __init__(self, kernel=None, initrd=None, run_dir=None, memory=512, cmdline="",
                 qemu_args=(), boot_timeout=90.0, quiet=True):
        self.kernel = Path(kernel or CACHE / "vmlinux")
        self.initrd = Path(initrd or CACHE / "initramfs.cpio.gz")
        self.memory, self.cmdline, self.qemu_args = memory, cmdline, list(qemu_args)
        self.boot_timeout, self.quiet = boot_timeout, quiet
        self._run_dir_arg = run_dir
        self.run_dir = None
        self.proc = None
        self.qmp_client = None
        self.cmd_sock = None
        self._buf = b""
        self._ids = itertools.count(1)
        self._token = secrets.token_hex(3)
        self._cmd_lock = threading.Lock()
        self._agent = None  # running agent: pid, argv, out/err = offsets in agent.out/.err
        self.kernel_release = None
        self.timings = {}
        self.plugged = []      # QEMU device ids from device_add, for reset()
        self.gadgets = {}      # name -> Gadget, for reset()
        self.recordings = []   # InputRecording, for reset()
        self.tools = []        # GuestProcess (uinput/uhid tools), for reset()

    # --- lifecycle --------------------------------------------------------------------------------

    def _make_run_dir(self):
        if self._run_dir_arg:
            d = Path(self._run_dir_arg)
            d.mkdir(parents=True, exist_ok=True)
            return d
        runs = CACHE / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        old = sorted(runs.iterdir(), key=lambda p: p.stat().st_mtime)
        for p in old[:max(0, len(old) - KEEP_RUNS + 1)]:
            shutil.rmtree(p, ignore_errors=True)
        d = runs / time.strftime(f"%Y%m%d-%H%M%S-{os.getpid()}-{self._token}")
        d.mkdir()
        return d

    def qemu_command(self):
        d = self.run_dir
        append = "console=ttyS0 panic=-1 rdinit=/init tsc=reliable " + \
            ("quiet " if self.quiet else "") + self.cmdline
        return [
            QEMU, "-accel", "tcg", "-cpu", "max",
            # No PS/2 controller: key events from input-send-event go to the USB keyboard, and
            # the guest skips probing it. No SATA/SMBus/vmport either: less to emulate and probe.
            "-machine", "q35,i8042=off,sata=off,smbus=off,vmport=off",
            "-m", str(self.memory), "-smp", "1", "-nodefaults", "-display", "none",
            "-no-reboot", "-pidfile", str(d / "qemu.pid"),
            "-serial", f"file:{d / 'console.log'}",
            "-qmp", f"unix:{d / 'qmp.sock'},server=on,wait=off",
            "-kernel", str(self.kernel), "-initrd", str(self.initrd), "-append", append,
            "-device", "qemu-xhci,id=xhci",
            "-device", "virtio-serial-pci,id=vser",
            "-chardev", f"socket,id=gwcmd,path={d / 'cmd.sock'},server=on,wait=off",
            "-device", "virtserialport,bus=vser.0,chardev=gwcmd,name=gw.cmd",
            "-chardev", f"file,id=gwagent,path={d / 'agent.out'}",
            "-device", "virtserialport,bus=vser.0,chardev=gwagent,name=gw.agent",
            "-chardev", f"file,id=gwagenterr,path={d / 'agent.err'}",
            "-device", "virtserialport,bus=vser.0,chardev=gwagenterr,name=gw.agent-err",
        ] + self.qemu_args

    def boot(self):
        for f, hint in ((self.kernel, "tests/vm/fetch-kernel.sh"),
                        (self.initrd, "tests/vm/build-initramfs.sh")):
            if not f.is_file():
                raise GuestError(f"{f} missing: run {hint} (or `make vm`)")
        if not shutil.which(QEMU):
            raise GuestError(f"{QEMU} not found (apt-get install qemu-system-x86)")
        self.run_dir = self._make_run_dir()
        t0 = time.monotonic()
        log = open(self.run_dir / "qemu.log", "wb")
        _live_guests.add(self)
        self.proc = subprocess.Popen(self.qemu_command(), stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        log.close()
        try:
            try:
                self.qmp_client = QMP(self.run_dir / "qmp.sock", timeout=20, alive=self._check_alive)
            except GuestError as e:
                time.sleep(0.2)  # let QEMU finish dying so the log explains why
                raise self._error(GuestError, f"QMP handshake failed: {str(e).splitlines()[0]}")
            self._connect_cmd(deadline=t0 + self.boot_timeout)
            ready = self._read_until(re.compile(rb"@@GW:READY (\S+) (\S+)@@\n"),
                                     t0 + self.boot_timeout, "guest READY")
            self.kernel_release = ready.group(1).decode()
            self.timings["guest_uptime_at_ready_s"] = float(ready.group(2))
        except BaseException:
            self.shutdown()
            raise
        self.timings["boot_s"] = time.monotonic() - t0
        return self

    def _connect_cmd(self, deadline):
        path = self.run_dir / "cmd.sock"
        while True:
            self._check_alive()
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(str(path))
                self.cmd_sock = s
                return
            except OSError:
                s.close()
                if time.monotonic() > deadline:
                    raise self._error(GuestTimeout, f"cannot connect to {path}")
                time.sleep(0.02)

    def _check_alive(self):
        if self.proc is None or self.proc.poll() is not None:
            rc = None if self.proc is None else self.proc.returncode
            raise self._error(GuestError, f"QEMU is not running (exit code {rc})")

    def _error(self, cls, msg):
        d = self.run_dir
        return cls(f"{msg}\n--- qemu.log ({d}) ---\n{_tail(d / 'qemu.log', 10)}"
                   f"\n--- console.log tail ---\n{_tail(d / 'console.log', 25)}")

    def _read_until(self, pattern, deadline, what):
        """Reads the command socket until `pattern` (compiled bytes regex) matches the buffer;
        consumes the buffer up to the end of the match and returns the match."""
        while True:
            m = pattern.search(self._buf)
            if m:
                self._buf = self._buf[m.end():]
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._error(GuestTimeout, f"timed out waiting for {what}")
            self.cmd_sock.settimeout(min(left, 0.5))
            try:
                chunk = self.cmd_sock.recv(1 << 20)
            except socket.timeout:
                self._check_alive()
                continue
            except OSError as e:
                self._check_alive()
                raise self._error(GuestError, f"command port: {e} while waiting for {what}")
            if not chunk:
                self._check_alive()
                raise self._error(GuestError, f"command port closed while waiting for {what}")
            self._buf += chunk

    def shutdown(self):
        """Stops QEMU for sure: QMP quit, then SIGKILL by pid (Popen and -pidfile). Idempotent."""
        _live_guests.discard(self)
        if self.qmp_client:
            try:
                self.qmp_client.sock.settimeout(2)
                self.qmp_client.sock.sendall(b'{"execute":"quit"}\n')
            except OSError:
                pass
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.run_dir:
            try:
                pid = int((self.run_dir / "qemu.pid").read_text().strip())
                if self.proc is None or pid != self.proc.pid:
                    os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass
        for s in (self.qmp_client, self.cmd_sock):
            if s:
                s.close()
        self.qmp_client = self.cmd_sock = None
        self._agent = None

    def reset(self):
        """Back to the state after boot: stops the agent and input recordings, unplugs what
        device_add plugged and removes gadgets made with make_gadget. Test fixtures call this."""
        if self._agent:
            self.stop_agent()
        if self.recordings:
            self.sh("kill " + " ".join(str(r.pid) for r in self.recordings) + " 2>/dev/null; "
                    "rm -f /tmp/gw-input-*.bin")
            self.recordings = []
        if self.tools:
            self.sh("kill " + " ".join(str(t.pid) for t in self.tools) + " 2>/dev/null; "
                    "rm -f /tmp/gw-tool-*.out")
            self.tools = []
        for name in list(self.gadgets):
            self.remove_gadget(self.gadgets[name])
        for id in list(self.plugged):
            self.device_del(id)

    def reboot(self):
        """A fresh guest in place of this one (new QEMU, new run dir): for recovering after a
        test wedged or killed the guest."""
        self.shutdown()
        self._buf = b""
        self.plugged, self.gadgets, self.recordings, self.tools = [], {}, [], []
        self._last_agent = {}
        return self.boot()

    def __enter__(self):
        if self.proc is None:
            self.boot()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        return False

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # --- shell ------------------------------------------------------------------------------------

    def sh_bytes(self, cmd, timeout=30):
        """Runs `cmd` with busybox sh in the guest (cwd /, stdin /dev/null, stdout+stderr merged).
        Returns (exit code, output bytes). A command still running after `timeout` s is killed in
        the guest (rc 137); GuestTimeout if the guest does not answer at all."""
        with self._cmd_lock:
            if self.cmd_sock is None:
                raise GuestError("guest is not booted")
            cid = f"{self._token}-{next(self._ids)}"
            tmo = max(1, int(timeout + 0.999))
            line = f"{cid} {tmo} {base64.b64encode(cmd.encode()).decode()}\n"
            try:
                self.cmd_sock.sendall(line.encode())
            except OSError as e:
                self._check_alive()
                raise self._error(GuestError, f"command port: {e}")
            deadline = time.monotonic() + tmo + 15  # TCG is slow; the guest kills at tmo
            self._read_until(re.compile(rb"\n@@GW:" + re.escape(cid.encode()) + rb":BEGIN@@\n"),
                             deadline, f"reply to {cmd[:80]!r}")
            end = self._read_until(re.compile(rb"\n@@GW:" + re.escape(cid.encode()) +
                                              rb":END rc=(\d+)@@\n"),
                                   deadline, f"end of reply to {cmd[:80]!r}")
            # _read_until consumed the output together with the end marker: recover it.
            out = end.string[:end.start()]
            return int(end.group(1)), out

    def sh(self, cmd, timeout=30, check=False):
        """Like sh_bytes, output decoded as UTF-8 (invalid bytes replaced). check=True raises
        GuestError on a non-zero exit code."""
        rc, out = self.sh_bytes(cmd, timeout)
        text = out.decode("utf-8", "replace")
        if check and rc != 0:
            raise GuestError(f"guest command failed (rc {rc}): {cmd}\n{text[-3000:]}")
        return rc, text

    def check(self, cmd, timeout=30):
        """Runs cmd, raises unless it exits 0, returns its output."""
        return self.sh(cmd, timeout, check=True)[1]

    def wait_sh(self, cmd, timeout=10.0, interval=0.05):
        """Polls `cmd` inside the guest until it exits 0; returns its output or raises GuestTimeout."""
        n = max(1, int(timeout / interval))
        script = (f"i=0; while [ $i -lt {n} ]; do out=$( {cmd} ) && {{ printf '%s' \"$out\"; exit 0; }}; "
                  f"i=$((i+1)); usleep {int(interval * 1e6)}; done; printf '%s' \"$out\"; exit 1")
        rc, out = self.sh(script, timeout=timeout + 10)
        if rc != 0:
            raise GuestTimeout(f"guest condition not met in {timeout} s: {cmd}\nlast output: {out[-2000:]}")
        return out

    def get_file(self, path, timeout=60):
        """The bytes of a guest file."""
        rc, out = self.sh(f"base64 {shlex.quote(path)}", timeout=timeout)
        if rc != 0:
            raise GuestError(f"cannot read {path} in the guest: {out.strip()}")
        return base64.b64decode(out)

    def put_file(self, path, data, mode=0o644):
        """Writes bytes (or str) to `path` in the guest."""
        if isinstance(data, str):
            data = data.encode()
        q = shlex.quote(path)
        self.check(f": > {q}.b64")
        b64 = base64.b64encode(data).decode()
        for i in range(0, len(b64), 48000):
            self.check(f"printf '%s' '{b64[i:i + 48000]}' >> {q}.b64")
        self.check(f"base64 -d {q}.b64 > {q} && rm {q}.b64 && chmod {mode:o} {q}")

    # --- QMP, hot-plug, input ---------------------------------------------------------------------

    def qmp(self, execute, timeout=10.0, **arguments):
        """One QMP command; returns its "return" value, raises GuestError on a QMP error."""
        if self.qmp_client is None:
            raise GuestError("guest is not booted")
        return self.qmp_client.execute(execute, arguments or None, timeout=timeout)

    def device_add(self, driver, id, **props):
        """Hot-plugs a QEMU device. USB devices go on the xHCI bus unless bus= is given."""
        if driver.startswith("usb-") and "bus" not in props:
            props["bus"] = "xhci.0"
        ret = self.qmp("device_add", driver=driver, id=id, **props)
        self.plugged.append(id)
        return ret

    def device_del(self, id, timeout=10.0):
        """Unplugs a device and waits for QEMU's DEVICE_DELETED."""
        self.qmp("device_del", id=id)
        if id in self.plugged:
            self.plugged.remove(id)
        self.qmp_client.wait_event("DEVICE_DELETED", lambda d: d.get("device") == id, timeout)

    def input_send_event(self, events, device=None, head=None):
        """QMP input-send-event. Events are dicts (key_event/btn_event/rel_event/abs_event). QEMU
        routes each event to the most recently active device that handles its kind: key ->
        usb-kbd, rel -> usb-mouse, abs -> usb-tablet; `device`/`head` bind to a display console."""
        args = {"events": list(events)}
        if device is not None:
            args["device"] = device
        if head is not None:
            args["head"] = head
        return self.qmp("input-send-event", **args)

    def play_input(self, steps, interval, device=None):
        """Sends steps[i] (a list of events) at t0 + i*interval, scheduled on absolute times so
        QMP round trips do not accumulate drift. Returns the host send times (monotonic s)."""
        t0 = time.monotonic()
        sent = []
        for i, events in enumerate(steps):
            delay = t0 + i * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent.append(time.monotonic())
            self.input_send_event(events, device=device)
        return sent

    def dmesg(self, lines=50):
        """The last lines of the guest kernel log."""
        return self.sh(f"dmesg | tail -n {int(lines)}")[1]

    # --- sysfs views ------------------------------------------------------------------------------

    USB_ATTRS = ("idVendor", "idProduct", "bcdDevice", "manufacturer", "product", "serial",
                 "busnum", "devnum", "speed", "bDeviceClass")

    def _sysfs_attrs(self, pattern, attrs):
        """{instance: {attr: value}} for sysfs files pattern/attr (pattern has one '*'), read with
        a single grep: forking a cat per file costs ~10 ms each under TCG."""
        globs = " ".join(f"{pattern}/{a}" for a in attrs)
        prefix, _, suffix = pattern.partition("*")
        rx = re.compile("^" + re.escape(prefix) + r"([^/]*)" + re.escape(suffix) + r"/(.+?):(.*)$")
        rows = {}
        rc, out = self.sh(f"grep -H '' {globs} 2>/dev/null")
        for line in out.splitlines():
            m = rx.match(line)
            if m and m.group(2) in attrs:
                rows.setdefault(m.group(1), {})[m.group(2)] = m.group(3)
        return rows

    def usb_devices(self):
        """Every USB device in /sys/bus/usb/devices as dicts (sysfs attribute names, plus "path";
        attributes a device lacks, e.g. serial, are "")."""
        rows = self._sysfs_attrs("/sys/bus/usb/devices/*", self.USB_ATTRS)
        return [dict({"path": p}, **{a: r.get(a, "") for a in self.USB_ATTRS})
                for p, r in sorted(rows.items()) if "idVendor" in r]

    INPUT_ATTRS = {"name": "name", "phys": "phys", "bustype": "id/bustype", "vendor": "id/vendor",
                   "product": "id/product", "ev": "capabilities/ev", "key": "capabilities/key",
                   "abs": "capabilities/abs", "rel": "capabilities/rel"}

    def input_devices(self):
        """Input devices with an evdev node: dicts with dev (/dev/input/eventN), name, phys,
        bustype/vendor/product (hex strings) and ev/key/abs/rel capability bitmaps (as in sysfs)."""
        rows = self._sysfs_attrs("/sys/class/input/event*/device", list(self.INPUT_ATTRS.values()))
        return [dict({"dev": f"/dev/input/event{n}"},
                     **{k: r.get(a, "") for k, a in self.INPUT_ATTRS.items()})
                for n, r in sorted(rows.items(), key=lambda kv: int(kv[0]))]

    def wait_usb_device(self, present=True, timeout=15.0, **match):
        """Waits until a USB device whose sysfs attributes equal `match` (e.g. product="QEMU USB
        Tablet", idVendor="1d6b") is present (returns its row) or gone (present=False)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [d for d in self.usb_devices() if all(d.get(k) == v for k, v in match.items())]
            if present and found:
                return found[0]
            if not present and not found:
                return None
            if time.monotonic() > deadline:
                state = "appear" if present else "go away"
                raise GuestTimeout(f"USB device {match} did not {state} in {timeout} s; devices: "
                                   + "; ".join(f"{d['path']} {d['idVendor']}:{d['idProduct']} "
                                               f"{d['product']!r}" for d in self.usb_devices()))
            time.sleep(0.05)

    def find_input_event(self, name, timeout=10.0):
        """/dev/input/eventN of the input device whose name contains `name`."""
        deadline = time.monotonic() + timeout
        while True:
            for d in self.input_devices():
                if name in d["name"]:
                    return d["dev"]
            if time.monotonic() > deadline:
                raise GuestTimeout(f"no input device named *{name}*: "
                                   f"{[d['name'] for d in self.input_devices()]}")
            time.sleep(0.05)

    def record_input(self, dev):
        """Starts reading raw input events from an evdev node in the guest (background cat)."""
        path = f"/tmp/gw-input-{next(self._ids)}.bin"
        pid = self.check(f"cat {shlex.quote(dev)} > {path} 2>/dev/null & echo $!").strip()
        rec = InputRecording(self, dev, int(pid), path)
        self.recordings.append(rec)
        return rec

    # --- virtual input devices (uinput, uhid) ---------------------------------------------------

    def _run_tool(self, argv, timeout):
        out = f"/tmp/gw-tool-{next(self._ids)}.out"
        cmd = " ".join(shlex.quote(a) for a in argv)
        pid = int(self.check(f"{cmd} > {out} 2>&1 & echo $!").strip())
        try:
            line = self.wait_sh(f"grep -m1 '^READY' {out} || {{ ! kill -0 {pid} 2>/dev/null && "
                                f"cat {out} && exit 1; }}", timeout=timeout)
        except GuestTimeout as e:
            self.sh(f"kill {pid} 2>/dev/null")
            raise GuestError(f"{argv[0]} did not create its device: {e}")
        if not line.startswith("READY"):
            raise GuestError(f"{argv[0]} failed:\n{line}")
        proc = GuestProcess(self, pid, out, line.strip())
        self.tools.append(proc)
        return proc

    def run_uinput(self, kind, steps=(), name="gw-uinput test device", vid=0x1234, pid=0x5678,
                   bus=0x06, hold=0.5, timeout=10.0):
        """Runs gw-uinput in the background: creates a uinput device (kind keyboard, mouse_rel or
        mouse_abs; bus 0x06 = BUS_VIRTUAL), plays steps ("rel:0:5", "key:30:1", "syn",
        "sleep:100"), keeps it `hold` s, destroys it. Returns once the device exists; .ready is
        ["READY", "<inputN>", "<pid>"]."""
        argv = ["gw-uinput", "--kind", kind, "--name", name, "--vid", str(vid), "--pid", str(pid),
                "--bus", str(bus), "--hold", str(int(hold * 1000)), *steps]
        return self._run_tool(argv, timeout)

    def run_uhid(self, report_desc, steps=(), name="gw-uhid test device", vid=0x1234, pid=0x5678,
                 bus=0x05, uniq="", hold=0.5, timeout=10.0):
        """Runs gw-uhid in the background: a HID device with any bus (0x05 = Bluetooth, 0x03 =
        USB), IDs and report descriptor (e.g. MOUSE_REL_REPORT_DESC); steps are input reports
        (bytes) or sleeps in seconds (float)."""
        args = [f"r:{s.hex()}" if isinstance(s, bytes) else f"sleep:{int(s * 1000)}" for s in steps]
        argv = ["gw-uhid", "--rdesc", report_desc.hex(), "--name", name, "--vid", str(vid),
                "--pid", str(pid), "--bus", str(bus), "--uniq", uniq,
                "--hold", str(int(hold * 1000)), *args]
        return self._run_tool(argv, timeout)

    # --- gadgets ----------------------------------------------------------------------------------

    def make_gadget(self, name, vid, pid, manufacturer, product, serial,
                    functions=("keyboard", "mouse_abs"), udc=None, bcd_device=0x0100,
                    bcd_usb=0x0200, device_class=None, max_power=250, wait=True, timeout=15.0):
        """Defines a USB gadget in configfs and binds it to a free dummy_hcd UDC (or `udc`).
        functions: any of keyboard, mouse_abs (0..32767, PiKVM style), mouse_rel, mass_storage,
        ecm, rndis; order decides interface numbers. With wait=True returns once the guest's USB
        core has enumerated it (Gadget.usb = its usb_devices() row)."""
        q = shlex.quote
        g = f"/sys/kernel/config/usb_gadget/{name}"
        lines = [
            "set -e", f"G={q(g)}", "mkdir $G", "cd $G",
            f"echo 0x{vid:04x} > idVendor", f"echo 0x{pid:04x} > idProduct",
            f"echo 0x{bcd_device:04x} > bcdDevice", f"echo 0x{bcd_usb:04x} > bcdUSB",
        ]
        if device_class is not None:
            cls, sub, proto = device_class
            lines += [f"echo {cls} > bDeviceClass", f"echo {sub} > bDeviceSubClass",
                      f"echo {proto} > bDeviceProtocol"]
        lines += [
            "mkdir -p strings/0x409",
            f"printf '%s' {q(manufacturer)} > strings/0x409/manufacturer",
            f"printf '%s' {q(product)} > strings/0x409/product",
            f"printf '%s' {q(serial)} > strings/0x409/serialnumber",
            "mkdir -p configs/c.1/strings/0x409",
            "echo 'Config 1' > configs/c.1/strings/0x409/configuration",
            f"echo {max_power} > configs/c.1/MaxPower",
        ]
        instances, counters = {}, {}
        for kind in functions:
            if kind not in GADGET_FUNCTIONS:
                raise ValueError(f"unknown gadget function {kind!r}; known: {list(GADGET_FUNCTIONS)}")
            ftype, attrs = GADGET_FUNCTIONS[kind]
            inst = f"{ftype}.usb{counters.get(ftype, 0)}"
            counters[ftype] = counters.get(ftype, 0) + 1
            instances[kind] = inst
            lines.append(f"mkdir functions/{inst}")
            for attr, value in attrs.items():
                if isinstance(value, bytes):
                    lines.append(f"printf '{_printf_octal(value)}' > functions/{inst}/{attr}")
                else:
                    lines.append(f"echo {value} > functions/{inst}/{attr}")
            if ftype == "mass_storage":
                img = f"/tmp/gw-gadget-{name}-{inst}.img"
                lines += [f"dd if=/dev/zero of={img} bs=64k count=16 2>/dev/null",
                          f"echo 1 > functions/{inst}/lun.0/removable",
                          f"echo {img} > functions/{inst}/lun.0/file"]
            lines.append(f"ln -s functions/{inst} configs/c.1/")
        if udc:
            lines.append(f"U={q(udc)}")
        else:
            lines.append("U=; for u in $(ls /sys/class/udc); do "
                         "grep -qx \"$u\" /sys/kernel/config/usb_gadget/*/UDC 2>/dev/null || "
                         "{ U=$u; break; }; done; [ -n \"$U\" ] || { echo 'no free UDC'; exit 1; }")
        lines += ["echo $U > UDC", "echo UDC=$U",
                  "for f in functions/hid.*; do [ -e $f/dev ] || continue; "
                  "for c in /sys/class/hidg/*; do [ \"$(cat $c/dev)\" = \"$(cat $f/dev)\" ] && "
                  "echo HIDG=${f#functions/}=/dev/${c##*/}; done; done"]
        rc, out = self.sh("\n".join(lines), timeout=timeout)
        if rc != 0:
            self.sh(self._remove_gadget_script(name))
            raise GuestError(f"make_gadget {name} failed (rc {rc}):\n{out}")
        bound = re.search(r"^UDC=(\S+)$", out, re.M).group(1)
        devs = dict(re.findall(r"^HIDG=(\S+)=(\S+)$", out, re.M))
        gadget = Gadget(name, bound, vid, pid, serial, product,
                        {k: {"instance": i, "dev": devs.get(i)} for k, i in instances.items()})
        self.gadgets[name] = gadget
        if wait:
            gadget.usb = self.wait_usb_device(timeout=timeout, idVendor=f"{vid:04x}",
                                              idProduct=f"{pid:04x}", serial=serial)
        return gadget

    @staticmethod
    def _remove_gadget_script(name):
        g = shlex.quote(f"/sys/kernel/config/usb_gadget/{name}")
        return (f"G={g}; [ -d $G ] || exit 0; echo '' > $G/UDC 2>/dev/null; "
                "for l in $G/configs/*/*; do [ -L \"$l\" ] && rm \"$l\"; done; "
                "rmdir $G/configs/*/strings/* $G/configs/* $G/functions/* $G/strings/* 2>/dev/null; "
                "rmdir $G; rm -f /tmp/gw-gadget-$(basename $G)-*.img")

    def remove_gadget(self, gadget, timeout=15.0):
        """Unbinds and deletes a gadget (a Gadget or its name); with a Gadget, waits until the
        guest's USB core has dropped the device."""
        name = gadget.name if isinstance(gadget, Gadget) else gadget
        self.check(self._remove_gadget_script(name), timeout=timeout)
        self.gadgets.pop(name, None)
        if isinstance(gadget, Gadget):
            self.wait_usb_device(present=False, timeout=timeout, idVendor=f"{gadget.vid:04x}",
                                 idProduct=f"{gadget.pid:04x}", serial=gadget.serial)

    def gadget_send_reports(self, gadget, kind, reports, interval=0.0, timeout=30.0):
        """Writes HID input reports to a gadget function's /dev/hidgN from inside the guest
        (gw-hidg-play): `interval` seconds apart, and/or with explicit pauses given as floats
        (seconds) among the reports. Timed on absolute deadlines in the guest, so neither host
        round trips nor write time add drift. Someone must hold the matching /dev/input/eventN
        open (record_input, or the agent's reader) or usbhid does not poll and writes block."""
        steps = []
        for item in reports:
            if isinstance(item, (int, float)):
                steps.append(f"sleep:{int(item * 1000)}")
                continue
            if steps and interval > 0 and not steps[-1].startswith("sleep:"):
                steps.append(f"sleep:{int(interval * 1000)}")
            steps.append(f"r:{bytes(item).hex()}")
        rc, out = self.sh(" ".join(shlex.quote(a) for a in ["gw-hidg-play", gadget.hidg(kind), *steps]),
                          timeout=timeout)
        if rc != 0 or "DONE" not in out:
            hint = " (killed at the timeout: is the matching input node held open?)" if rc == 137 else ""
            raise GuestError(f"gw-hidg-play on {gadget.hidg(kind)} failed, rc {rc}{hint}:\n{out}")
        return int(out.split("DONE")[1].split()[0])

    # --- the agent --------------------------------------------------------------------------------

    def start_agent(self, args=("debug", "--json"), env=None, binary="/ghostwatch"):
        """Starts the agent in the background in the guest. Its stdout streams to
        <run_dir>/agent.out (read it with agent_events/agent_lines), its stderr to agent.err."""
        if self._agent:
            raise GuestError("an agent is already running in the guest: stop_agent() first")
        envs = " ".join(f"{k}={shlex.quote(str(v))}" for k, v in (env or {}).items())
        argv = " ".join(shlex.quote(a) for a in [binary, *args])
        inner = (f"{envs} {argv} </dev/null >/run/gw/gw.agent 2>/run/gw/gw.agent-err & "
                 "echo $! > /run/gw/agent.pid; wait $!; echo $? > /run/gw/agent.rc")
        out_off = self._file_size("agent.out")
        err_off = self._file_size("agent.err")
        pid = self.check(
            "rm -f /run/gw/agent.pid /run/gw/agent.rc; "
            f"setsid sh -c {shlex.quote(inner)} >/dev/null 2>&1 & "
            "i=0; while [ ! -s /run/gw/agent.pid ] && [ $i -lt 100 ]; do usleep 20000; i=$((i+1)); done; "
            "cat /run/gw/agent.pid").strip()
        self._agent = {"pid": int(pid), "out": out_off, "err": err_off, "argv": argv}
        return self._agent["pid"]

    def _file_size(self, name):
        try:
            return (self.run_dir / name).stat().st_size
        except OSError:
            return 0

    def _read_stream(self, name, key):
        offset = self._agent[key] if self._agent else self._last_agent.get(key, 0)
        try:
            with open(self.run_dir / name, "rb") as f:
                f.seek(offset)
                return f.read()
        except OSError:
            return b""

    _last_agent = {}

    def agent_lines(self):
        """Complete lines the current (or last) agent run wrote to stdout so far."""
        data = self._read_stream("agent.out", "out")
        return data.decode("utf-8", "replace").splitlines()[:data.count(b"\n")]

    def agent_stderr(self):
        return self._read_stream("agent.err", "err").decode("utf-8", "replace")

    def agent_events(self):
        """The JSON objects (NDJSON lines) the agent printed so far; other lines are skipped."""
        events = []
        for line in self.agent_lines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    events.append(json.loads(line))
                except ValueError:
                    pass
        return events

    def agent_exit_code(self):
        """None while the agent runs, else its exit code."""
        rc, out = self.sh("cat /run/gw/agent.rc 2>/dev/null")
        return int(out) if rc == 0 and out.strip() else None

    def wait_for_event(self, predicate, timeout=20.0, after=0, what="event"):
        """Returns the first agent event (index >= after) for which predicate(event) is true.
        Raises GuestTimeout with the agent's last output, or GuestError if the agent exited."""
        deadline = time.monotonic() + timeout
        next_alive_check = time.monotonic() + 1.0
        seen = after
        while True:
            events = self.agent_events()
            for ev in events[seen:]:
                try:
                    if predicate(ev):
                        return ev
                except (KeyError, TypeError, IndexError, AttributeError):
                    pass
            seen = max(seen, len(events))
            now = time.monotonic()
            if now > deadline:
                raise GuestTimeout(f"agent {what} not seen in {timeout} s" + self._agent_context())
            if self._agent and now > next_alive_check:
                rc = self.agent_exit_code()
                if rc is not None:
                    time.sleep(0.2)  # let the last output land, then look once more
                    for ev in self.agent_events()[seen:]:
                        try:
                            if predicate(ev):
                                return ev
                        except (KeyError, TypeError, IndexError, AttributeError):
                            pass
                    raise GuestError(f"agent exited with {rc} before the {what}" +
                                     self._agent_context())
                next_alive_check = now + 1.0
            time.sleep(0.05)

    def _agent_context(self):
        out = "\n".join(self.agent_lines()[-15:])
        err = "\n".join(self.agent_stderr().splitlines()[-15:])
        return f"\n--- agent stdout (last lines) ---\n{out}\n--- agent stderr ---\n{err}"

    def stop_agent(self, sig="INT", timeout=15.0):
        """Signals the agent and waits for it to exit; SIGKILL after `timeout`. Returns its exit
        code (128+n when killed by signal n)."""
        if not self._agent:
            return None
        pid = self._agent["pid"]
        script = (f"kill -{sig} {pid} 2>/dev/null; i=0; "
                  f"while [ ! -e /run/gw/agent.rc ] && [ $i -lt {int(timeout * 20)} ]; do "
                  "usleep 50000; i=$((i+1)); done; "
                  f"[ -e /run/gw/agent.rc ] || {{ kill -KILL {pid}; sleep 0.5; }}; cat /run/gw/agent.rc")
        rc, out = self.sh(script, timeout=timeout + 10)
        self._last_agent = dict(self._agent)
        self._agent = None
        try:
            return int(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise GuestError(f"agent {pid} did not report an exit code: {out}" + self._agent_context())


def _main():
    """Command line for poking at the guest by hand:
        /usr/bin/python3 tests/vm/guest.py                     interactive: lines run in the guest,
                                                                "qmp CMD {json args}" goes to QMP
        /usr/bin/python3 tests/vm/guest.py -c 'dmesg | tail'   run commands, print, shut down
        ... --plug usb-tablet                                   hot-plug devices first
    Needs `make vm` (kernel + initramfs) first."""
    import argparse
    ap = argparse.ArgumentParser(description=_main.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-c", dest="commands", action="append", default=[], help="guest command")
    ap.add_argument("--plug", action="append", default=[], help="QEMU USB device to hot-plug")
    ap.add_argument("--verbose-kernel", action="store_true", help="boot without 'quiet'")
    ap.add_argument("--systemd", action="store_true",
                    help="the systemd flavour (systemd_guest.py)")
    opts = ap.parse_args()
    cls = Guest
    if opts.systemd:
        from systemd_guest import SystemdGuest as cls
    with cls(quiet=not opts.verbose_kernel) as g:
        print(f"guest up in {g.timings['boot_s']:.1f} s, kernel {g.kernel_release}, logs in {g.run_dir}")
        for i, driver in enumerate(opts.plug):
            g.device_add(driver, f"plug{i}")
        rc = 0
        for cmd in opts.commands:
            rc, out = g.sh(cmd, timeout=120)
            print(out, end="")
        if opts.commands:
            return rc
        while True:
            try:
                line = input("guest# ")
            except EOFError:
                print()
                return 0
            try:
                if line.startswith("qmp "):
                    name, _, args = line[4:].strip().partition(" ")
                    print(json.dumps(g.qmp(name, **(json.loads(args) if args else {})), indent=1))
                elif line.strip():
                    rc, out = g.sh(line, timeout=300)
                    print(out + (f"[rc {rc}]" if rc else ""), end="" if rc == 0 else "\n")
            except GuestError as e:
                print(f"error: {e}")


if __name__ == "__main__":
    raise SystemExit(_main())
