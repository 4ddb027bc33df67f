"""Devices in the QEMU guest (stock Debian 6.1 kernel, where the BPF device hooks load): QEMU's USB
keyboard/mouse/tablet hot-plugged over QMP, a PiKVM-identity composite gadget, uinput and uhid
devices, and devices plugged in before the agent started. Every scenario runs through each path
(fentry, kprobe, and the uevent fallback with BPF device hooks disabled), and the events must carry
the full identity and say which path produced them.
"""
import time
from pathlib import Path

import pytest

from guest import MOUSE_REL_REPORT_DESC

ROOT = Path(__file__).resolve().parents[2]
GUEST_RULES = "/tmp/gw-rules"

MODES = ["fentry", "kprobe", "uevent"]
USB_HOOK = {"fentry": "fexit/usb_new_device", "kprobe": "kretprobe/usb_new_device",
            "uevent": "uevent"}

# QEMU's three HID devices share 0627:0001 and manufacturer "QEMU": the product tells them apart.
QEMU_DEVICES = [
    ("usb-kbd", "QEMU USB Keyboard", "hid_boot_keyboard", "keyboard"),
    ("usb-mouse", "QEMU USB Mouse", "hid_boot_mouse", "rel_pointer"),
    ("usb-tablet", "QEMU USB Tablet", "hid", "abs_pointer"),
]


def start_agent(vm, mode="auto", rules=False):
    """Starts the agent with the device hooks forced to `mode` (and, with rules, the shipped
    IP-KVM rules copied into the guest); returns {signal: hook}."""
    extra = []
    if rules:
        vm.check(f"mkdir -p {GUEST_RULES} {GUEST_RULES}.d")
        vm.put_file(f"{GUEST_RULES}/ipkvm.yaml", (ROOT / "rules" / "ipkvm.yaml").read_bytes())
        extra = [f"--rules={GUEST_RULES}", f"--rules-d={GUEST_RULES}.d"]
    vm.start_agent(["debug", "--json", "--no-forks", "--stats-interval=0",
                    f"--device-hooks={mode}", *extra])
    stats = vm.wait_for_event(lambda e: e["type"] == "stats", timeout=60, what="startup stats")
    return {h["signal"]: h for h in stats["stats"]["hooks"]}


def device_event(kind, action, **match):
    """Predicate: a device event of this kind and action whose kind-specific message matches."""
    def pred(e):
        if e["type"] != "device":
            return False
        d = e["device"]
        if d["kind"] != kind or d["action"] != action:
            return False
        msg = d[kind]
        return all(msg.get(k) == v for k, v in match.items())
    return pred


def check_paths(hooks, mode):
    assert hooks["device_usb"]["hook"] == USB_HOOK[mode], hooks
    expect = {"fentry": "fexit/", "kprobe": "kretprobe/", "uevent": "uevent"}[mode]
    assert hooks["device_hid"]["hook"].startswith(expect), hooks
    assert hooks["device_input"]["hook"].startswith(expect), hooks
    assert hooks["device_monitor"]["hook"] == "uevent"


def test_auto_mode_prefers_fentry_on_debian(agent_guest):
    hooks = start_agent(agent_guest)
    check_paths(hooks, "fentry")
    assert all(not hooks[s]["error"] for s in ("device_usb", "device_hid", "device_input")), hooks


@pytest.mark.parametrize("mode", MODES)
def test_qemu_hid_devices_hotplug(agent_guest, mode):
    vm = agent_guest
    check_paths(start_agent(vm, mode), mode)
    attached = {}
    for i, (driver, product, iface, caps) in enumerate(QEMU_DEVICES):
        mark = len(vm.agent_events())
        t0 = time.monotonic()
        vm.device_add(driver, f"{mode}{i}")
        ev = vm.wait_for_event(device_event("usb", "attach", product=product), timeout=30,
                               after=mark, what=f"usb attach of {product}")
        # device_add -> the agent's event on the host (includes the harness's output polling)
        vm.timings[f"device_event_{mode}_{driver}_s"] = time.monotonic() - t0
        d = ev["device"]
        u = d["usb"]
        assert d["source"] == mode
        assert (u["vid_pid"], u["manufacturer"]) == ("0627:0001", "QEMU")
        assert u["serial"] and u["busnum"] >= 1 and u["port_path"] and u["speed"]
        assert u["sysfs_name"] == f"{u['busnum']}-{u['port_path']}"
        assert [x["class_name"] for x in u["interfaces"]] == [iface]
        assert u["interfaces"][0]["driver"] == "usbhid"
        assert len(d["model_fingerprint"]) == 64 and len(d["instance_fingerprint"]) == 64
        hid = vm.wait_for_event(device_event("hid", "attach", name="QEMU " + product),
                                timeout=10, after=mark, what=f"hid attach of {product}")
        assert hid["device"]["source"] == mode
        assert hid["device"]["hid"]["usb_parent"] == u["sysfs_name"]
        inp = vm.wait_for_event(device_event("input", "attach", name="QEMU " + product),
                                timeout=10, after=mark, what=f"input attach of {product}")
        i = inp["device"]["input"]
        assert inp["device"]["source"] == mode
        assert caps in i["capabilities"], i
        assert i["bus"] == "usb" and not i["virtual"]
        assert i["usb_parent"] == u["sysfs_name"]
        attached[driver] = ev

    tablet = attached["usb-tablet"]["device"]["usb"]
    assert {"abs_xy", "mouse"} <= set(tablet["hid"]["capabilities"])
    assert (tablet["hid"]["abs_x_min"], tablet["hid"]["abs_x_max"],
            tablet["hid"]["abs_y_max"]) == (0, 32767, 32767)
    kbd = attached["usb-kbd"]["device"]["usb"]
    assert "keyboard" in kbd["hid"]["capabilities"]
    assert "abs_xy" not in attached["usb-mouse"]["device"]["usb"]["hid"]["capabilities"]
    # BPF: the input device's absinfo; uevent: the parent HID's report descriptor
    tab_in = vm.wait_for_event(device_event("input", "attach", name="QEMU QEMU USB Tablet"))
    assert (tab_in["device"]["input"]["abs_x_max"], tab_in["device"]["input"]["abs_y_max"]) == \
        (32767, 32767)

    # unplug: the detach carries the identity and fingerprint it had at attach
    mark = len(vm.agent_events())
    vm.device_del(f"{mode}2")
    det = vm.wait_for_event(device_event("usb", "detach", sysfs_name=tablet["sysfs_name"]),
                            timeout=20, after=mark, what="usb detach of the tablet")
    assert det["device"]["source"] == mode
    assert det["device"]["usb"]["product"] == "QEMU USB Tablet"
    assert det["device"]["instance_fingerprint"] == \
        attached["usb-tablet"]["device"]["instance_fingerprint"]
    vm.wait_for_event(device_event("input", "detach", name="QEMU QEMU USB Tablet"), timeout=10,
                      after=mark, what="input detach of the tablet")
    assert vm.stop_agent() == 0


PIKVM = dict(vid=0x1d6b, pid=0x0104, manufacturer="PiKVM", product="PiKVM Composite Device",
             serial="CAFEBABE")


def make_pikvm(vm, name):
    return vm.make_gadget(name, PIKVM["vid"], PIKVM["pid"], PIKVM["manufacturer"],
                          PIKVM["product"], PIKVM["serial"], functions=["keyboard", "mouse_abs"])


def test_pikvm_gadget_through_every_path(agent_guest):
    """The PiKVM identity (1d6b:0104, PiKVM / PiKVM Composite Device / CAFEBABE, boot keyboard +
    absolute mouse) seen by fentry, kprobe and the uevent fallback, with the same fingerprints,
    and the IP-KVM rules firing on the device event."""
    vm = agent_guest
    fingerprints = {}
    for mode in MODES:
        check_paths(start_agent(vm, mode, rules=True), mode)
        mark = len(vm.agent_events())
        gadget = make_pikvm(vm, f"kvmd{mode}")
        ev = vm.wait_for_event(device_event("usb", "attach", vid_pid="1d6b:0104"), timeout=30,
                               after=mark, what=f"PiKVM attach via {mode}")
        d = ev["device"]
        u = d["usb"]
        assert d["source"] == mode
        assert (u["manufacturer"], u["product"], u["serial"]) == \
            ("PiKVM", "PiKVM Composite Device", "CAFEBABE")
        assert u["bcd_device"] == 0x0100 and u["usb_version"] == "2.00"
        assert [x["class_name"] for x in u["interfaces"]] == ["hid_boot_keyboard", "hid"]
        h = u["hid"]
        assert {"keyboard", "abs_xy"} <= set(h["capabilities"]), h
        assert (h["abs_x_min"], h["abs_x_max"], h["abs_y_min"], h["abs_y_max"]) == \
            (0, 32767, 0, 32767)
        inputs = []
        for _ in range(2):
            inputs.append(vm.wait_for_event(
                lambda e: device_event("input", "attach", usb_parent=u["sysfs_name"])(e)
                and e not in inputs, timeout=10, after=mark, what="PiKVM input devices"))
        caps = sorted(c for e in inputs for c in e["device"]["input"]["capabilities"])
        assert caps == ["abs_pointer", "keyboard"], caps
        fingerprints[mode] = (d["model_fingerprint"], d["instance_fingerprint"])
        # the detections see the device: identity rule and the structural (IP-KVM shape) rule,
        # with this device event as evidence
        for rule in ("GW-KVM-0001", "GW-KVM-0013"):
            f = vm.wait_for_event(lambda e: e["type"] == "finding"
                                  and e["finding"]["rule_id"] == rule, timeout=10, after=mark,
                                  what=f"finding {rule} via {mode}")["finding"]
            assert f["evidence"][0]["kind"] == "device"
            assert f["evidence"][0]["event_id"] == ev["event_id"]
        vm.remove_gadget(gadget)
        vm.wait_for_event(device_event("usb", "detach", vid_pid="1d6b:0104"), timeout=20,
                          after=mark, what=f"PiKVM detach via {mode}")
        assert vm.stop_agent() == 0
    # a fleet sees the same box whichever path saw it
    assert len(set(fingerprints.values())) == 1, fingerprints


def test_preplugged_devices_in_inventory(agent_guest):
    vm = agent_guest
    vm.device_add("usb-tablet", "pretab")
    vm.wait_usb_device(product="QEMU USB Tablet")
    make_pikvm(vm, "kvmdpre")
    start_agent(vm)
    ev = vm.wait_for_event(device_event("usb", "inventory", product="QEMU USB Tablet"),
                           timeout=20, what="tablet in the inventory")
    assert ev["device"]["source"] == "sysfs"
    assert "abs_xy" in ev["device"]["usb"]["hid"]["capabilities"]
    kvm = vm.wait_for_event(device_event("usb", "inventory", vid_pid="1d6b:0104"), timeout=5,
                            what="PiKVM in the inventory")["device"]
    assert (kvm["usb"]["manufacturer"], kvm["usb"]["product"], kvm["usb"]["serial"]) == \
        ("PiKVM", "PiKVM Composite Device", "CAFEBABE")
    assert {"keyboard", "abs_xy"} <= set(kvm["usb"]["hid"]["capabilities"])
    vm.wait_for_event(device_event("hid", "inventory", name="QEMU QEMU USB Tablet"), timeout=5)
    inp = vm.wait_for_event(device_event("input", "inventory", name="QEMU QEMU USB Tablet"),
                            timeout=5)
    assert "abs_pointer" in inp["device"]["input"]["capabilities"]
    # inventory comes before the startup stats, i.e. before live events
    events = vm.agent_events()
    first_stats = next(i for i, e in enumerate(events) if e["type"] == "stats")
    assert events.index(ev) < first_stats


@pytest.mark.parametrize("mode", MODES)
def test_uinput_device_virtual_with_creator(agent_guest, mode):
    vm = agent_guest
    check_paths(start_agent(vm, mode), mode)
    mark = len(vm.agent_events())
    tool = vm.run_uinput("mouse_rel", name=f"gw jiggler {mode}", vid=0x1234, pid=0x5678,
                         bus=0x03, hold=3.0)
    ev = vm.wait_for_event(device_event("input", "attach", name=f"gw jiggler {mode}"),
                           timeout=20, after=mark, what="uinput device attach")
    d = ev["device"]
    i = d["input"]
    assert d["source"] == mode
    # it claims to be a USB device; the kernel knows it is software
    assert i["virtual"] is True and i["bus"] == "usb"
    assert "rel_pointer" in i["capabilities"]
    assert (i["vendor_id"], i["product_id"]) == (0x1234, 0x5678)
    creator = d.get("process")
    assert creator, d
    assert creator["pid"] == tool.pid, (creator, tool.ready)
    if mode == "uevent":
        assert creator["source"] == "uinput_holder"
    tool.wait()
    vm.wait_for_event(device_event("input", "detach", name=f"gw jiggler {mode}"), timeout=20,
                      after=mark, what="uinput device detach")


def test_uhid_bluetooth_device_virtual(agent_guest):
    vm = agent_guest
    start_agent(vm)
    mark = len(vm.agent_events())
    tool = vm.run_uhid(MOUSE_REL_REPORT_DESC, name="gw bt mouse", bus=0x05, vid=0x046d,
                       pid=0xb016, hold=3.0)
    ev = vm.wait_for_event(device_event("hid", "attach", name="gw bt mouse"), timeout=20,
                           after=mark, what="uhid device attach")
    h = ev["device"]["hid"]
    assert h["bus"] == "bluetooth" and h["virtual"] is True
    assert {"mouse", "rel_xy"} <= set(h["facts"]["capabilities"])
    assert ev["device"]["process"]["pid"] == tool.pid
    assert ev["device"]["process"]["source"] == "uhid_holder"
    inp = vm.wait_for_event(device_event("input", "attach", name="gw bt mouse"), timeout=10,
                            after=mark, what="uhid input attach")
    assert inp["device"]["input"]["bus"] == "bluetooth" and inp["device"]["input"]["virtual"]
    tool.wait()


def test_kvm_composite_with_storage_and_network(agent_guest):
    """A PiKVM/TinyPilot-style composite: keyboard, absolute mouse, mass storage and a CDC ECM
    network function, with the interface classes named."""
    vm = agent_guest
    start_agent(vm)
    mark = len(vm.agent_events())
    vm.make_gadget("kvmfull", 0x1d6b, 0x0104, "PiKVM", "PiKVM Composite Device", "CAFEBABE",
                   functions=["keyboard", "mouse_abs", "mass_storage", "ecm"])
    ev = vm.wait_for_event(device_event("usb", "attach", vid_pid="1d6b:0104"), timeout=30,
                           after=mark, what="composite attach")
    names = [i["class_name"] for i in ev["device"]["usb"]["interfaces"]]
    assert names[:2] == ["hid_boot_keyboard", "hid"], names
    assert "mass_storage" in names and "cdc_ethernet" in names and "cdc_data" in names, names
    assert {"keyboard", "abs_xy"} <= set(ev["device"]["usb"]["hid"]["capabilities"])


@pytest.mark.parametrize("mode", ["fentry", "uevent"])
def test_blocked_device_reported(agent_guest, mode):
    """A device that policy blocks (authorized_default=0, what USBGuard sets) is never configured
    and never bound; it is still reported, as not authorized."""
    vm = agent_guest
    check_paths(start_agent(vm, mode), mode)
    mark = len(vm.agent_events())
    vm.check("for h in /sys/bus/usb/devices/usb*; do echo 0 > $h/authorized_default; done")
    try:
        vm.device_add("usb-kbd", f"blocked{mode}")
        ev = vm.wait_for_event(device_event("usb", "attach", product="QEMU USB Keyboard"),
                               timeout=30, after=mark, what="blocked keyboard attach")
        u = ev["device"]["usb"]
        assert ev["device"]["source"] == mode
        assert u["authorized"] is False and not u.get("interfaces"), u
    finally:
        vm.check("for h in /sys/bus/usb/devices/usb*; do echo 1 > $h/authorized_default; done")
