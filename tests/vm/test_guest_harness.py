"""Tests of the QEMU guest harness itself: if these pass, the device (issue 4) and input cadence
(issue 7) tests can trust what the guest shows them. One guest is booted for the whole session."""
import hashlib
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from guest import (EV_ABS, EV_KEY, EV_REL, EV_SYN, MOUSE_REL_REPORT_DESC, GuestError, abs_event,
                   btn_event, key_event, mouse_abs_report, mouse_rel_report)

ABS_X, ABS_Y, REL_X, BTN_LEFT, KEY_A = 0, 1, 0, 0x110, 30


def test_command_round_trip(vm):
    rc, out = vm.sh("echo to-stdout; echo to-stderr >&2; exit 7")
    assert rc == 7
    assert out.splitlines() == ["to-stdout", "to-stderr"]
    assert vm.sh("uname -r") == (0, vm.kernel_release + "\n")
    # Output without a trailing newline, binary bytes and our own marker text come back intact.
    assert vm.sh_bytes("printf 'a\\000\\377@@GW:x:END rc=0@@'") == (0, b"a\x00\xff@@GW:x:END rc=0@@")
    rc, out = vm.sh("head -c 300000 /dev/zero | tr '\\000' x")
    assert rc == 0 and out == "x" * 300000


def test_command_timeout_kills_the_command_not_the_guest(vm):
    t0 = time.monotonic()
    rc, _ = vm.sh("sleep 30", timeout=1)
    assert rc == 137  # SIGKILL from the guest-side timeout
    assert time.monotonic() - t0 < 10
    assert vm.sh("echo alive") == (0, "alive\n")
    with pytest.raises(GuestError, match="rc 3"):
        vm.check("exit 3")


def test_guest_environment(vm):
    mounts = vm.check("cat /proc/mounts")
    for fs in ("proc", "sysfs", "devtmpfs", "configfs", "bpf", "tracefs", "debugfs", "cgroup2"):
        assert f" {fs} " in mounts, f"{fs} not mounted:\n{mounts}"
    btf = vm.check("ls /sys/kernel/btf").split()
    for mod in ("vmlinux", "usbcore", "hid", "usbhid", "dummy_hcd", "usb_f_hid", "evdev"):
        assert mod in btf, f"no BTF for {mod}: {btf}"
    assert vm.check("ls /sys/class/udc").split() == ["dummy_udc.0", "dummy_udc.1"]
    # Virtual input devices, as remote-desktop tools create them.
    assert vm.sh("test -c /dev/uinput && test -c /dev/uhid")[0] == 0, vm.check("ls /dev")


HID_DEVICES = [("usb-kbd", "QEMU USB Keyboard"), ("usb-mouse", "QEMU USB Mouse"),
               ("usb-tablet", "QEMU USB Tablet")]


@pytest.mark.parametrize("driver,product", HID_DEVICES, ids=[d for d, _ in HID_DEVICES])
def test_qmp_hotplug_and_unplug(vm, driver, product):
    t0 = time.monotonic()
    vm.device_add(driver, "hp0")
    dev = vm.wait_usb_device(product=product)
    vm.timings[f"hotplug_{driver}_s"] = time.monotonic() - t0
    # All three QEMU HID devices are 0627:0001 from "QEMU"; only the product tells them apart.
    assert (dev["idVendor"], dev["idProduct"], dev["manufacturer"]) == ("0627", "0001", "QEMU")
    assert vm.find_input_event(f"QEMU {product}")
    t0 = time.monotonic()
    vm.device_del("hp0")
    vm.wait_usb_device(present=False, product=product)
    vm.timings[f"unplug_{driver}_s"] = time.monotonic() - t0
    assert not [d for d in vm.input_devices() if product in d["name"]]


def test_pikvm_identity_gadget(vm):
    t0 = time.monotonic()
    g = vm.make_gadget("kvmd", 0x1D6B, 0x0104, "PiKVM", "PiKVM Composite Device", "CAFEBABE",
                       functions=["keyboard", "mouse_abs"])
    vm.timings["gadget_bind_to_enumerated_s"] = time.monotonic() - t0
    assert g.usb["manufacturer"] == "PiKVM"
    assert g.usb["product"] == "PiKVM Composite Device"
    assert g.usb["serial"] == "CAFEBABE"
    assert g.udc.startswith("dummy_udc.")
    # The guest kernel bound usbhid to both interfaces; the HID report descriptors are readable.
    hid = vm.check("ls -d /sys/bus/hid/devices/0003:1D6B:0104.*").split()
    assert len(hid) == 2, hid
    descs = [bytes.fromhex(vm.check(f"od -An -v -tx1 {h}/report_descriptor").replace("\n", " ")
                           .replace(" ", "")) for h in hid]
    assert any(d.startswith(bytes.fromhex("05010906")) for d in descs), "no keyboard descriptor"
    # Absolute pointer: Logical Maximum 32767 (26 ff 7f) on X/Y, as PiKVM presents it.
    assert any(bytes.fromhex("09300931150026ff7f") in d for d in descs), "no absolute X/Y 0..32767"
    inputs = [d for d in vm.input_devices() if d["vendor"] == "1d6b" and d["product"] == "0104"]
    assert len(inputs) == 2 and all(d["name"] == "PiKVM PiKVM Composite Device" for d in inputs)
    assert any(d["abs"] not in ("", "0") for d in inputs), "no device with absolute axes"
    vm.remove_gadget(g)
    assert not vm.check("ls /sys/bus/hid/devices/ | grep -i 1d6b:0104 || true").strip()


def test_gadget_extra_functions(vm):
    g = vm.make_gadget("kvm2", 0x1D6B, 0x0104, "PiKVM", "PiKVM Composite Device", "DEADBEEF",
                       functions=["keyboard", "mouse_abs", "mass_storage", "ecm"])
    classes = vm.check(f"cat /sys/bus/usb/devices/{g.usb['path']}:1.*/bInterfaceClass").split()
    # HID, HID, mass storage, CDC (control) + CDC data
    assert classes[:3] == ["03", "03", "08"] and "02" in classes and "0a" in classes, classes


def test_tablet_input_send_event_reaches_evdev(vm):
    vm.device_add("usb-tablet", "tab0")
    dev = vm.find_input_event("QEMU USB Tablet")
    rec = vm.record_input(dev)  # opening the node makes usbhid poll the tablet
    time.sleep(0.3)
    for x, y in ((100, 200), (16000, 8000), (32767, 0)):
        vm.input_send_event([abs_event("x", x), abs_event("y", y)])
        time.sleep(0.05)
    vm.input_send_event([btn_event("left", True)])
    vm.input_send_event([btn_event("left", False)])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        events = rec.events()
        if [e for e in events if e.type == EV_KEY and e.code == BTN_LEFT and e.value == 0]:
            break
        time.sleep(0.1)
    events = rec.stop()
    xs = [e.value for e in events if e.type == EV_ABS and e.code == ABS_X]
    ys = [e.value for e in events if e.type == EV_ABS and e.code == ABS_Y]
    assert xs == [100, 16000, 32767], events
    assert ys == [200, 8000, 0], events
    assert [e.value for e in events if e.type == EV_KEY and e.code == BTN_LEFT] == [1, 0]
    assert any(e.type == EV_SYN for e in events)


def test_keyboard_input_send_event_reaches_evdev(vm):
    vm.device_add("usb-kbd", "kbd0")
    rec = vm.record_input(vm.find_input_event("QEMU USB Keyboard"))
    time.sleep(0.3)
    sent = vm.play_input([[key_event("a", True)], [key_event("a", False)]] * 3, interval=0.15)
    assert 0.25 < sent[-1] - sent[0] < 1.0
    time.sleep(0.5)
    keys = [e for e in rec.stop() if e.type == EV_KEY]
    assert [(e.code, e.value) for e in keys] == [(KEY_A, 1), (KEY_A, 0)] * 3
    # Guest-side arrival times keep the injected cadence (usbhid polls every 8 ms here).
    gaps = [b.time - a.time for a, b in zip(keys, keys[1:])]
    assert all(0.08 < gap < 0.3 for gap in gaps), gaps


def test_gadget_hid_reports_reach_evdev_with_guest_timing(vm):
    g = vm.make_gadget("jig", 0x1D6B, 0x0104, "PiKVM", "PiKVM Composite Device", "CAFEBABE",
                       functions=["mouse_abs"])
    rec = vm.record_input(vm.find_input_event("PiKVM Composite Device"))
    time.sleep(0.3)
    points = [(16000 + 100 * (i % 2), 16000) for i in range(8)]
    sent = vm.gadget_send_reports(g, "mouse_abs", [mouse_abs_report(x, y) for x, y in points],
                                  interval=0.1)
    assert sent == 8
    time.sleep(0.3)
    events = rec.stop()
    xs = [e for e in events if e.type == EV_ABS and e.code == ABS_X]
    # evdev drops repeated values, so we see every change of X, 100 ms apart (timed in the guest
    # on absolute deadlines: no drift from the writes themselves).
    assert [e.value for e in xs] == [16000, 16100] * 4, events
    gaps = sorted(b.time - a.time for a, b in zip(xs, xs[1:]))
    assert 0.09 < gaps[len(gaps) // 2] < 0.115 and all(0.05 < gap < 0.2 for gap in gaps), gaps


def test_uinput_virtual_device(vm):
    dev = vm.run_uinput("mouse_rel", name="gw test jiggler", vid=0x1234, pid=0xabcd, hold=0.3,
                        steps=["sleep:1500"] + ["rel:0:1", "syn", "sleep:50", "rel:0:-1", "syn"] * 3)
    sysname, pid = dev.ready[1], int(dev.ready[2])
    assert sysname.startswith("input") and pid == dev.pid
    info = [d for d in vm.input_devices() if d["name"] == "gw test jiggler"]
    assert info and info[0]["bustype"] == "0006" and info[0]["product"] == "abcd", info
    assert re.search(r"^event\d+$", vm.check(f"ls /sys/class/input/{sysname}/"), re.M)
    rec = vm.record_input(info[0]["dev"])
    out = dev.wait(timeout=15)
    assert "DONE 12" in out
    xs = [e.value for e in rec.stop() if e.type == EV_REL and e.code == REL_X]
    assert xs == [1, -1] * 3
    assert not [d for d in vm.input_devices() if d["name"] == "gw test jiggler"]


def test_uhid_bluetooth_mouse(vm):
    dev = vm.run_uhid(MOUSE_REL_REPORT_DESC, name="gw BT mouse", vid=0x046D, pid=0xB016,
                      bus=0x05, uniq="aa:bb:cc:dd:ee:ff", hold=1,
                      steps=[0.3] + [mouse_rel_report(5, 0), 0.05, mouse_rel_report(-5, 0)] * 2)
    hid = vm.check("ls /sys/bus/hid/devices/").split()
    assert any(h.upper().startswith("0005:046D:B016.") for h in hid), hid
    info = [d for d in vm.input_devices() if d["name"] == "gw BT mouse"]
    assert info and info[0]["bustype"] == "0005", info
    assert "DONE 4" in dev.wait(timeout=15)


def test_agent_stream_plumbing(vm):
    # Any program can stand in for the agent: stdout and stderr stream to separate host files.
    vm.start_agent(["-c", "echo '{\"type\":\"hello\",\"n\":1}'; echo not-json; echo oops >&2; "
                          "sleep 0.5; echo '{\"type\":\"bye\"}'; exit 5"], binary="/bin/sh")
    ev = vm.wait_for_event(lambda e: e["type"] == "bye", timeout=10)
    assert ev == {"type": "bye"}
    assert [e["type"] for e in vm.agent_events()] == ["hello", "bye"]
    assert "not-json" in vm.agent_lines()
    assert vm.agent_stderr().strip() == "oops"
    assert vm.stop_agent() == 5
    # A second run only sees its own output.
    vm.start_agent(["-c", "echo '{\"type\":\"second\"}'; sleep 30"], binary="/bin/sh")
    vm.wait_for_event(lambda e: e["type"] == "second", timeout=10)
    assert [e["type"] for e in vm.agent_events()] == ["second"]
    with pytest.raises(GuestError, match="never"):
        vm.wait_for_event(lambda e: e["type"] == "never", timeout=0.5, what="never-event")
    assert vm.stop_agent(sig="TERM") == 128 + signal.SIGTERM


# Every process hook flavour of the agent's fallback chain, on a real distro kernel.
HOOK_FLAVOURS = ["auto", "tp_btf", "raw_tp"]


@pytest.mark.parametrize("flavour", HOOK_FLAVOURS)
def test_agent_traces_exec_in_stock_debian_kernel(agent_guest, flavour):
    """The agent's process BPF hooks load and fire on the stock Debian 6.1 kernel."""
    vm = agent_guest
    t0 = time.monotonic()
    vm.start_agent(["debug", "--json", f"--hooks={flavour}"])
    stats = vm.wait_for_event(lambda e: e["type"] == "stats", timeout=30, what="startup stats")
    vm.timings[f"agent_start_{flavour}_s"] = time.monotonic() - t0
    hooks = {h["signal"]: h for h in stats["stats"]["hooks"]}
    want = "tp_btf" if flavour == "auto" else flavour
    assert hooks["exec"]["hook"] == f"{want}/sched_process_exec", hooks
    assert not hooks["exec"]["error"], hooks
    marker = f"gw-vm-probe-{os.getpid()}-{time.monotonic_ns()}"
    # A real binary under a unique name (busybox would refuse an unknown applet name).
    vm.check(f"mkdir -p /tmp/p && cp /ghostwatch /tmp/p/{marker} && /tmp/p/{marker} version")
    ev = vm.wait_for_event(lambda e: e["type"] == "exec" and
                           e["exec"]["process"]["argv"] == [f"/tmp/p/{marker}", "version"],
                           timeout=20, what=f"exec event for {marker}")
    proc = ev["exec"]["process"]
    assert proc["exe"] == f"/tmp/p/{marker}"
    assert proc["pid"] > 1
    assert vm.stop_agent() == 0, vm.agent_stderr()
    if flavour == "auto":
        vm.timings["agent_hooks"] = " ".join(f"{s}={h['hook']}" for s, h in sorted(hooks.items()))


def test_file_transfer(vm):
    blob = bytes(range(256)) * 300
    vm.put_file("/tmp/blob.bin", blob)
    assert vm.check("md5sum /tmp/blob.bin").split()[0] == hashlib.md5(blob).hexdigest()
    assert vm.get_file("/tmp/blob.bin") == blob
    with pytest.raises(GuestError, match="cannot read"):
        vm.get_file("/nonexistent")


def test_dead_guest_fails_fast_and_reboots(vm):
    old_pid, old_dir = vm.proc.pid, vm.run_dir
    vm.proc.kill()
    vm.proc.wait(10)
    t0 = time.monotonic()
    with pytest.raises(GuestError, match="QEMU is not running|command port closed"):
        vm.sh("true")
    assert time.monotonic() - t0 < 5
    vm.reboot()
    assert vm.running and vm.proc.pid != old_pid and vm.run_dir != old_dir
    assert vm.sh("echo back") == (0, "back\n")


def test_qemu_never_outlives_its_test_process(guest, tmp_path):
    """A test process that dies without cleaning up (SIGKILL) takes its QEMU with it."""
    child = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(os.path.dirname(__file__))!r})
        from guest import Guest
        g = Guest(run_dir={str(tmp_path)!r})
        g.boot()
        print(g.proc.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    r = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120)
    assert r.returncode == -signal.SIGKILL, r.stderr
    pid = int(r.stdout.split()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(") ")[1].startswith("Z"):
                    break
        except (ProcessLookupError, FileNotFoundError):
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        pytest.fail(f"QEMU {pid} outlived its killed parent")
