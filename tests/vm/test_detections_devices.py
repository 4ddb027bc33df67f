"""IP-KVM findings in the QEMU guest: TinyPilot and NanoKVM gadget identities (their vendors'
default VID:PID and strings, enumerated by the guest's real USB core through dummy_hcd + configfs)
each raise the IP-KVM identity finding and the structural one (composite boot keyboard + absolute
pointer), with the device event as evidence, within 2 s of that event; QEMU's own usb-kbd,
usb-mouse and usb-tablet raise none. The guest image carries no rules: start_agent copies
rules/ipkvm.yaml in (see test_devices.py).
"""
import time

import pytest

from test_devices import device_event, start_agent

FINDING_DEADLINE = 2.0  # seconds from the device event to its finding (issue #6)

# Default identities from the vendors' own gadget scripts (sources in rules/ipkvm.yaml).
KVMS = {
    "tinypilot": dict(vid=0x1d6b, pid=0x0104, manufacturer="tinypilot",
                      product="Multifunction USB Device", serial="6b65796d696d6570690",
                      rules=["GW-KVM-0003", "GW-KVM-0010", "GW-KVM-0013"]),
    "nanokvm": dict(vid=0x3346, pid=0x1009, manufacturer="sipeed", product="NanoKVM",
                    serial="0123456789ABCDEF",
                    rules=["GW-KVM-0005", "GW-KVM-0006", "GW-KVM-0013"]),
}


def finding_on(event_id, rule_id=None):
    def pred(e):
        if e["type"] != "finding":
            return False
        f = e["finding"]
        return ((rule_id is None or f["rule_id"] == rule_id)
                and any(ev.get("event_id") == event_id for ev in f.get("evidence", [])))
    return pred


@pytest.mark.parametrize("kvm", list(KVMS))
def test_ipkvm_gadget_identity_raises_finding(agent_guest, kvm):
    vm = agent_guest
    k = KVMS[kvm]
    start_agent(vm, "auto", rules=True)
    mark = len(vm.agent_events())
    vm.make_gadget(f"gw{kvm}", k["vid"], k["pid"], k["manufacturer"], k["product"], k["serial"],
                   functions=["keyboard", "mouse_abs"])
    vid_pid = f"{k['vid']:04x}:{k['pid']:04x}"
    ev = vm.wait_for_event(device_event("usb", "attach", vid_pid=vid_pid), timeout=30,
                           after=mark, what=f"{kvm} attach")
    assert ev["device"]["usb"]["manufacturer"] == k["manufacturer"]
    for rule in k["rules"]:
        f = vm.wait_for_event(finding_on(ev["event_id"], rule), timeout=FINDING_DEADLINE,
                              after=mark, what=f"finding {rule} for {kvm}")["finding"]
        assert f["category"] == "ipkvm" and f["technique"] == "T1200", f
        assert f["evidence"][0]["kind"] == "device"
        assert int(f["first_seen_ns"]) - int(ev["time_ns"]) <= FINDING_DEADLINE * 1e9
    assert vm.stop_agent() == 0


def test_qemu_own_input_devices_raise_none(agent_guest):
    vm = agent_guest
    start_agent(vm, "auto", rules=True)
    mark = len(vm.agent_events())
    seen = []
    for qdev, product in (("usb-kbd", "QEMU USB Keyboard"), ("usb-mouse", "QEMU USB Mouse"),
                          ("usb-tablet", "QEMU USB Tablet")):
        vm.device_add(qdev, qdev.replace("-", ""))
        seen.append(vm.wait_for_event(device_event("usb", "attach", product=product), timeout=30,
                                      after=mark, what=f"{qdev} attach"))
    # the input devices behind them too, so every event the rules could have used is in
    vm.wait_for_event(lambda e: device_event("input", "attach")(e)
                      and "Tablet" in e["device"]["input"].get("name", ""), timeout=10,
                      after=mark, what="tablet input device")
    time.sleep(FINDING_DEADLINE)
    findings = [e["finding"] for e in vm.agent_events()[mark:] if e["type"] == "finding"]
    assert not [f for f in findings if f["category"] == "ipkvm"], findings
    assert vm.stop_agent() == 0
