"""Devices on this host: the uevent fallback (this kernel refuses the BPF device hooks and has no
USB), forged uevents refused and counted, and the inventory read from a fake sysfs tree holding a
PiKVM-identity composite device, a uinput device and a monitor with PiKVM's EDID.

The real USB/HID/input paths (BPF and uevent) are tested in the QEMU guest: tests/vm/test_devices.py.
"""
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import AGENT, counter

NETLINK_KOBJECT_UEVENT = 15

BOOT_KEYBOARD = bytes.fromhex(
    "05010906a101050719e029e71500250175019508810295017508810195057501050819012905910295017503"
    "910195067508150025650507190029658100c0")
ABS_MOUSE = bytes.fromhex(
    "05010902a1010901a100050919012903150025019503750181029501750581010501093009311500"
    "26ff7f751095028102c0c0")


def pikvm_edid():
    e = bytearray(128)
    e[0:8] = bytes([0, 255, 255, 255, 255, 255, 255, 0])
    e[8:10] = bytes([0x31, 0xD8])          # "LNX"
    e[10:12] = bytes([0x70, 0x77])         # product 0x7770
    e[12:16] = bytes([1, 1, 1, 1])
    e[16], e[17] = 35, 2016 - 1990
    e[72:90] = b"\0\0\0\xfc\0PiKVM\n       "
    e[90:108] = b"\0\0\0\xff\0CAFEBABE\n    "
    e[127] = (256 - sum(e[:127]) % 256) % 256
    return bytes(e)


def build_fake_sysfs(root: Path):
    """A sysfs tree the way the kernel lays it out: devices under /devices, symlinks in /bus, /class."""
    def put(rel, data):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data if isinstance(data, bytes) else data.encode())

    def link(rel, target):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.symlink_to(root / target)

    dev = "devices/pci0000:00/0000:00:14.0/usb1/1-4"
    for k, v in {"idVendor": "1d6b", "idProduct": "0104", "bcdDevice": "0100", "bDeviceClass": "00",
                 "bDeviceSubClass": "00", "bDeviceProtocol": "00", "version": " 2.00",
                 "manufacturer": "PiKVM", "product": "PiKVM Composite Device", "serial": "CAFEBABE",
                 "busnum": "1", "devnum": "7", "devpath": "4", "speed": "480",
                 "removable": "removable"}.items():
        put(f"{dev}/{k}", v + "\n")
    ifaces = [("1-4:1.0", "00", "03", "01", "01", BOOT_KEYBOARD, "0001", "input20",
               "120013", "", "", "1000000000007 ff800000000007ff febeffdff3cfffff fffffffffffffffe"),
              ("1-4:1.1", "01", "03", "00", "00", ABS_MOUSE, "0002", "input21",
               "1f", "3", "800", "70000 0 0 0 0"),
              ("1-4:1.2", "02", "08", "06", "50", None, None, None, None, None, None, None)]
    for name, num, cls, sub, proto, rdesc, hidseq, inp, ev, absb, rel, key in ifaces:
        d = f"{dev}/{name}"
        put(f"{d}/bInterfaceNumber", num + "\n")
        put(f"{d}/bInterfaceClass", cls + "\n")
        put(f"{d}/bInterfaceSubClass", sub + "\n")
        put(f"{d}/bInterfaceProtocol", proto + "\n")
        link(f"bus/usb/devices/{name}", d)
        if rdesc is None:
            continue
        h = f"{d}/0003:1D6B:0104.{hidseq}"
        put(f"{h}/report_descriptor", rdesc)
        put(f"{h}/uevent", "HID_NAME=PiKVM PiKVM Composite Device\nHID_UNIQ=CAFEBABE\n")
        link(f"bus/hid/devices/0003:1D6B:0104.{hidseq}", h)
        i = f"{h}/input/{inp}"
        put(f"{i}/name", "PiKVM PiKVM Composite Device\n")
        put(f"{i}/uniq", "CAFEBABE\n")
        put(f"{i}/id/bustype", "0003\n")
        put(f"{i}/id/vendor", "1d6b\n")
        put(f"{i}/id/product", "0104\n")
        put(f"{i}/capabilities/ev", ev + "\n")
        put(f"{i}/capabilities/abs", (absb or "0") + "\n")
        put(f"{i}/capabilities/rel", (rel or "0") + "\n")
        put(f"{i}/capabilities/key", key + "\n")
        link(f"class/input/{inp}", i)
    link("bus/usb/devices/1-4", dev)
    link("bus/usb/devices/usb1", "devices/pci0000:00/0000:00:14.0/usb1")

    # a device whose strings are hostile: invalid UTF-8, a terminal escape, 5000 bytes
    odd = "devices/pci0000:00/0000:00:14.0/usb1/1-5"
    put(f"{odd}/idVendor", "1234\n")
    put(f"{odd}/idProduct", "5678\n")
    put(f"{odd}/product", b"Evil\xff\x1b[2J\n")
    put(f"{odd}/manufacturer", "M" * 5000 + "\n")
    link("bus/usb/devices/1-5", odd)

    # a uinput device: it claims bus USB, the path says software
    u = "devices/virtual/input/input30"
    put(f"{u}/name", "ydotoold virtual device\n")
    put(f"{u}/id/bustype", "0003\n")
    put(f"{u}/capabilities/ev", "7\n")
    put(f"{u}/capabilities/rel", "3\n")
    put(f"{u}/capabilities/key", "70000 0 0 0 fffffffffffffffe\n")
    link("class/input/input30", u)

    conn = "devices/pci0000:00/0000:00:02.0/drm/card0/card0-HDMI-A-1"
    put(f"{conn}/edid", pikvm_edid())
    put(f"{conn}/status", "connected\n")
    link("class/drm/card0-HDMI-A-1", conn)
    link("class/drm/card0", "devices/pci0000:00/0000:00:02.0/drm/card0")
    return root


def devices(agent, action=None, kind=None):
    return agent.find(lambda e: e.get("type") == "device"
                      and (action is None or e["device"]["action"] == action)
                      and (kind is None or e["device"]["kind"] == kind))


def send_forged_uevent(payload: bytes):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_KOBJECT_UEVENT)
    try:
        s.sendto(payload, (0, 1))  # multicast group 1, where the kernel's uevents go
    finally:
        s.close()


def test_device_paths_reported_at_start(agent):
    hooks = agent.hooks()
    for sig in ("device_usb", "device_hid", "device_input", "device_monitor"):
        assert sig in hooks, agent.stderr
    # this kernel refuses fentry and has no kprobes: every device signal falls back to uevents,
    # and the reason is printed
    if hooks["device_usb"] == "uevent":
        deadline = time.monotonic() + 3
        while "device_usb:" not in agent.stderr and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "device_usb:" in agent.stderr and "refused" in agent.stderr, agent.stderr
    assert hooks["device_monitor"] == "uevent"


def test_kernel_uevent_received_and_irrelevant_one_ignored(agent):
    time.sleep(0.3)
    Path("/sys/class/net/lo/uevent").write_text("add")
    Path("/sys/class/mem/full/uevent").write_text("change")
    time.sleep(0.5)
    rc, stats = agent.stop()
    assert rc == 0, agent.stderr
    # the kernel's "add@/devices/virtual/net/lo" was read and accepted as kernel-sent: network
    # interfaces go to the netif rules (netif_watch.h), not into device events
    assert counter(stats, "events", "netif_added") >= 1, stats
    # "change@/devices/virtual/mem/full": kernel-sent, a subsystem nobody asked for
    assert counter(stats, "events", "uevent_ignored") >= 1, stats
    assert not devices(agent, action="attach")


def test_forged_uevent_rejected_and_counted(agent):
    time.sleep(0.3)
    forged = (b"add@/devices/pci0000:00/0000:00:14.0/usb1/1-9\0ACTION=add\0"
              b"DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-9\0SUBSYSTEM=usb\0"
              b"DEVTYPE=usb_device\0PRODUCT=1d6b/104/100\0SEQNUM=999999\0")
    send_forged_uevent(forged)
    send_forged_uevent(forged.replace(b"add@", b"bind@", 1).replace(b"ACTION=add", b"ACTION=bind"))
    time.sleep(0.5)
    rc, stats = agent.stop()
    assert rc == 0
    # >= : anything else on this host forging uevents meanwhile is refused too
    assert counter(stats, "drops", "uevent_forged") >= 2, stats
    assert not devices(agent), "a forged uevent produced a device event"
    summary = [l for l in agent.stderr.splitlines() if l.startswith("summary:")]
    assert summary and "uevent_forged=" in summary[0], agent.stderr
    assert "uevent_forged=0 " not in summary[0] and "uevent_forged=1 " not in summary[0]


def test_inventory_from_sysfs(agent_factory, tmp_path):
    root = build_fake_sysfs(tmp_path / "sys")
    agent = agent_factory(f"--sys-root={root}")
    usb = agent.wait_for(lambda e: e.get("type") == "device" and e["device"]["kind"] == "usb"
                         and e["device"]["usb"]["sysfs_name"] == "1-4", what="PiKVM inventory")
    # the inventory ends with the monitors, then the startup stats
    agent.wait_for(lambda e: e.get("type") == "stats", what="startup stats")
    d = usb["device"]
    assert d["action"] == "inventory" and d["source"] == "sysfs"
    u = d["usb"]
    assert (u["vid_pid"], u["manufacturer"], u["product"], u["serial"]) == \
        ("1d6b:0104", "PiKVM", "PiKVM Composite Device", "CAFEBABE")
    assert (u["bcd_device"], u["busnum"], u["port_path"], u["speed"], u["removable"]) == \
        (0x100, 1, "4", "480", "removable")
    assert [i["class_name"] for i in u["interfaces"]] == \
        ["hid_boot_keyboard", "hid", "mass_storage"]
    hid = u["hid"]
    assert {"keyboard", "abs_xy"} <= set(hid["capabilities"])
    assert (hid["abs_x_min"], hid["abs_x_max"], hid["abs_y_max"]) == (0, 32767, 32767)
    assert len(d["model_fingerprint"]) == 64 and len(d["instance_fingerprint"]) == 64
    assert d["model_fingerprint"] != d["instance_fingerprint"]

    hids = {e["device"]["hid"]["sysfs_name"]: e["device"]["hid"] for e in devices(agent, kind="hid")}
    assert hids["0003:1D6B:0104.0002"]["facts"]["abs_x_max"] == 32767
    assert hids["0003:1D6B:0104.0001"]["usb_parent"] == "1-4"

    inputs = {e["device"]["input"]["sysfs_name"]: e["device"]["input"]
              for e in devices(agent, kind="input")}
    assert inputs["input20"]["capabilities"] == ["keyboard"]
    assert inputs["input21"]["capabilities"] == ["abs_pointer"]
    assert inputs["input30"]["virtual"] is True and inputs["input30"]["bus"] == "usb"
    assert not inputs["input20"]["virtual"]

    mon = devices(agent, kind="monitor")
    assert len(mon) == 1
    m = mon[0]["device"]["monitor"]
    assert (m["connector"], m["manufacturer"], m["product_code"], m["monitor_name"],
            m["monitor_serial"]) == ("card0-HDMI-A-1", "LNX", 0x7770, "PiKVM", "CAFEBABE")

    odd = next(e["device"]["usb"] for e in devices(agent, kind="usb")
               if e["device"]["usb"]["sysfs_name"] == "1-5")
    assert odd["product"] == "Evil\\xff\\x1b[2J"
    assert odd["strings_escaped"] and odd["strings_truncated"]
    assert len(odd["manufacturer"]) < 300
    # the shipped IP-KVM rules see the inventory: the device event is the finding's evidence
    findings = {e["finding"]["rule_id"]: e["finding"]
                for e in agent.find(lambda e: e.get("type") == "finding")}
    for rule, evidence in (("GW-KVM-0001", usb), ("GW-KVM-0013", usb), ("GW-KVM-0016", mon[0])):
        assert rule in findings, sorted(findings)
        assert findings[rule]["evidence"][0]["kind"] == "device"
        assert findings[rule]["evidence"][0]["event_id"] == evidence["event_id"]
    rc, stats = agent.stop()
    assert rc == 0
    assert counter(stats, "events", "device_inventory") == 2 + 2 + 3 + 1


def test_inventory_compact_line(tmp_path):
    root = build_fake_sysfs(tmp_path / "sys")
    r = subprocess.run([str(AGENT), "debug", "--color=never", f"--sys-root={root}", "--duration=1",
                        "--stats-interval=0", "--no-forks"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stdout.splitlines() if " device " in l]
    usb = next(l for l in lines if " usb 1-4 " in l)
    assert 'inventory usb 1-4 1d6b:0104 "PiKVM" "PiKVM Composite Device" serial=CAFEBABE' in usb
    assert "ifaces=hid_boot_keyboard,hid,mass_storage" in usb and "abs_xy[0..32767]" in usb
    assert "via=sysfs" in usb
    assert any('LNX:7770 "PiKVM" serial=CAFEBABE' in l for l in lines), lines
    assert any("input30" in l and "VIRTUAL" in l for l in lines), lines
    # the hostile product string never reaches the terminal raw
    assert "\x1b" not in r.stdout


def test_bad_device_hooks_flag():
    r = subprocess.run([str(AGENT), "debug", "--device-hooks=magic"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2
    assert "--device-hooks" in r.stderr
