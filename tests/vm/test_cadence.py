"""Input cadence in the QEMU guest: jiggles injected over QMP are flagged, human-like input is not,
coalesced typing shows in the summary, uinput injection is attributed to its process, and no key
code or coordinate appears in the agent's output.

The agent runs with a 2 s window and a 0.5 s idle threshold (production: 60 s, 1 s) so that a
jiggler period shortened to 2-2.5 s gives enough bursts in ~12 s. usbhid polls a device only while
its evdev node is open, so each test holds the pointer's node open (as a desktop session would).
"""
import collections
import json
import random
import re
import time

from guest import (GuestTimeout, abs_event, btn_event, key_event, keyboard_report, mouse_abs_report,
                   rel_event)

AGENT_ARGS = ["debug", "--json", "--stats-interval=0", "--cadence-window=2", "--cadence-idle=500"]

# Values injected to prove they never leave the kernel: a pointer position and uinput key codes
# (KEY_F23, KEY_F24, KEY_RFKILL) that no count or timing in a short test can equal.
SECRET_POSITION = (23457, 17321)
SECRET_KEYS = (193, 194, 247)


def _input_name(vm, product):
    """inputN (the sysfs name the agent reports) and /dev/input/eventM of a device by name."""
    dev = vm.find_input_event(product)
    name = vm.check(f"basename $(readlink -f /sys/class/input/{dev.rsplit('/', 1)[1]}/device)").strip()
    return name, dev


def _plug(vm, driver, qid, product):
    vm.device_add(driver, qid)
    vm.wait_usb_device(product=product)
    name, dev = _input_name(vm, product)
    vm.record_input(dev)  # an open node: usbhid polls the device
    return name


def _input_received(vm):
    """Event types (1 key, 3 abs, ...) and counts each evdev reader of this test got, for a
    failure message: whether the input reached the guest at all."""
    return {r.dev: dict(collections.Counter(e.type for e in r.events())) for r in vm.recordings}


def _cadence(vm, device, after=0):
    return [e["cadence"] for e in vm.agent_events()[after:]
            if e.get("type") == "cadence" and e["cadence"].get("device") == device]


def _findings(vm, rule, device=None):
    """Findings of a cadence rule; `device` (inputN) is named in the subject."""
    return [e["finding"] for e in vm.agent_events()
            if e.get("type") == "finding" and e["finding"].get("rule_id") == rule
            and (device is None or re.search(rf"\b{device}\b", e["finding"].get("subject", "")))]


def _wait_finding(vm, rule, device, timeout=20):
    return vm.wait_for_event(lambda e: e["type"] == "finding" and e["finding"]["rule_id"] == rule
                             and re.search(rf"\b{device}\b", e["finding"]["subject"]),
                             timeout=timeout, what=f"{rule} finding for {device}")["finding"]


# Fields that are identity or bookkeeping, not measured input: a test tool's argv names what it
# injects, and small pids and event ids can equal a key code by chance.
NOT_INPUT = {"argv", "event_id", "pid", "ppid", "tid"}


def _without_identity(obj):
    if isinstance(obj, dict):
        return {k: _without_identity(v) for k, v in obj.items() if k not in NOT_INPUT}
    if isinstance(obj, list):
        return [_without_identity(v) for v in obj]
    return obj


def _assert_private(vm, numbers):
    text = "\n".join(json.dumps(_without_identity(e)) for e in vm.agent_events()
                     if e.get("type") != "stats")  # stats: the agent's own counters
    for n in numbers:
        assert not re.search(rf"(?<![\d.]){n}(?![\d.])", text), \
            f"injected value {n} appears in the agent's output"
    for e in vm.agent_events():
        if e.get("type") in ("cadence", "finding"):
            keys = set(e[e["type"]])
            assert not keys & {"code", "codes", "key_code", "x", "y", "position", "value"}, keys


def _start(vm):
    vm.start_agent(AGENT_ARGS)
    vm.wait_for_event(lambda e: e["type"] == "stats", timeout=30, what="start stats")
    err = vm.agent_stderr()
    assert "input_cadence=fentry/input_handle_event" in err, err


def _periodic(vm, burst, period, repeats):
    """Plays `burst` (a list of steps, 100 ms apart) every `period` seconds, drift-free."""
    t0 = time.monotonic()
    for i in range(repeats):
        delay = t0 + i * period - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        vm.play_input(burst, interval=0.1)


def test_pikvm_style_relative_jiggle_is_flagged(agent_guest):
    vm = agent_guest
    mouse = _plug(vm, "usb-mouse", "cad-mouse0", "QEMU USB Mouse")
    _start(vm)
    # PiKVM relative mode: (+10,+10),(-10,-10) x5, 100 ms apart, net zero; period 60 s -> 2.5 s
    burst = [[rel_event("x", 10 * s), rel_event("y", 10 * s)] for s in (1, -1) * 5]
    _periodic(vm, burst, period=2.5, repeats=5)
    f = _wait_finding(vm, "GW-CADENCE-JIGGLER", mouse)
    assert f["category"] == "jiggler" and f["title"] == "periodic synthetic pointer motion", f
    assert "QEMU USB Mouse" in f["subject"] and "0627:0001" in f["subject"], f
    period = int(re.search(r"period (\d+) ms", f["matched"]).group(1))
    assert 2300 <= period <= 2700, f
    assert f["evidence"][0]["kind"] == "cadence", f
    windows = _cadence(vm, mouse)
    assert sum(w["rel_events"] for w in windows) >= 40
    assert sum(w["clicks"] for w in windows) == 0
    assert any(w["jiggler_likeness"] == 1 for w in windows)
    still = sum(w["bursts_still"] for w in windows)
    assert still >= 2 and still == sum(w["bursts_finished"] for w in windows), windows


def test_pikvm_gadget_absolute_jiggle_is_flagged_as_ip_kvm(agent_guest):
    """PiKVM's own absolute jiggle (+-100 units on 0..32767, 11 moves 100 ms apart, ends where it
    started) from a PiKVM-identity gadget: the finding names the IP-KVM."""
    vm = agent_guest
    g = vm.make_gadget("cadjig", 0x1D6B, 0x0104, "PiKVM", "PiKVM Composite Device", "CAFEBABE",
                       functions=["mouse_abs"])
    kvm, dev = _input_name(vm, "PiKVM Composite Device")
    vm.record_input(dev)
    _start(vm)
    p = 16000
    burst = [mouse_abs_report(p + d, p + d) for d in (100, -100) * 5] + [mouse_abs_report(p, p)]
    reports = [mouse_abs_report(p, p), 1.5]
    for _ in range(5):
        reports += burst + [1.5]
    vm.gadget_send_reports(g, "mouse_abs", reports, interval=0.1, timeout=40)
    f = _wait_finding(vm, "GW-CADENCE-JIGGLER", kvm)
    assert "(ip_kvm: 1d6b:0104 PiKVM / PiKVM Composite Device)" in f["subject"], f
    windows = _cadence(vm, kvm)
    assert all(w["device_kind"] == "ip_kvm" for w in windows), windows
    assert sum(w["bursts_still"] for w in windows) >= 3, windows


def test_jetkvm_style_absolute_hop_is_flagged_and_position_stays_private(agent_guest):
    vm = agent_guest
    tablet = _plug(vm, "usb-tablet", "cad-tab0", "QEMU USB Tablet")
    _start(vm)
    # where the user left the pointer: must never show up in the output
    vm.input_send_event([abs_event("x", SECRET_POSITION[0]), abs_event("y", SECRET_POSITION[1])])
    time.sleep(1.0)
    # JetKVM: absolute (1,1) then (0,0), every 20 s -> 2 s
    hop = [[abs_event("x", 1), abs_event("y", 1)], [abs_event("x", 0), abs_event("y", 0)]]
    _periodic(vm, hop, period=2.0, repeats=6)
    f = _wait_finding(vm, "GW-CADENCE-JIGGLER", tablet)
    assert "QEMU USB Tablet" in f["subject"], f
    windows = _cadence(vm, tablet)
    assert sum(w["bursts_same_target"] for w in windows) >= 3, windows
    assert sum(w["abs_events"] for w in windows) >= 20
    vm.stop_agent()
    _assert_private(vm, SECRET_POSITION)


def test_human_like_motion_with_clicks_is_not_flagged(agent_guest):
    vm = agent_guest
    mouse = _plug(vm, "usb-mouse", "cad-mouse1", "QEMU USB Mouse")
    _start(vm)
    rng = random.Random(7)
    t_end = time.monotonic() + 11
    while time.monotonic() < t_end:
        # a stroke: a few moves ~16 ms apart in a direction, sometimes a click, then a pause
        dx, dy = rng.randint(-20, 20), rng.randint(-20, 20)
        for _ in range(rng.randint(2, 8)):
            vm.input_send_event([rel_event("x", dx + rng.randint(-3, 3)),
                                 rel_event("y", dy + rng.randint(-3, 3))])
            time.sleep(0.016)
        if rng.random() < 0.5:
            vm.input_send_event([btn_event("left", True)])
            time.sleep(0.08)
            vm.input_send_event([btn_event("left", False)])
        time.sleep(rng.uniform(0.05, 1.6))
    time.sleep(2.5)
    windows = _cadence(vm, mouse)
    assert sum(w["rel_events"] for w in windows) >= 20, windows
    assert sum(w["clicks"] for w in windows) >= 2
    vm.stop_agent()
    assert not _findings(vm, "GW-CADENCE-JIGGLER", mouse), _findings(vm, "GW-CADENCE-JIGGLER")
    assert all(w["jiggler_likeness"] < 1 for w in _cadence(vm, mouse))


def test_coalesced_keys_differ_from_human_typing(agent_guest):
    """Human typing on QEMU's usb-kbd vs keys batched by a remote path on a PiKVM-identity gadget.

    The batched side cannot go through usb-kbd: QEMU puts one key change in each interrupt report
    (measured: batched QMP keys arrive 4-8 ms apart), whereas an IP-KVM that replays a network
    packet writes several keys in one boot-keyboard report, which the kernel delivers back to back.
    """
    vm = agent_guest
    kbd = _plug(vm, "usb-kbd", "cad-kbd0", "QEMU USB Keyboard")
    g = vm.make_gadget("cadkvm", 0x1D6B, 0x0104, "PiKVM", "PiKVM Composite Device", "CAFEBABE",
                       functions=["keyboard"])
    kvm, kvm_dev = _input_name(vm, "PiKVM Composite Device")
    vm.record_input(kvm_dev)
    _start(vm)
    rng = random.Random(11)
    # a human: one key at a time, 120-280 ms apart, held 50-110 ms
    for ch in "qwertyuiopas":
        vm.input_send_event([key_event(ch, True)])
        time.sleep(rng.uniform(0.05, 0.11))
        vm.input_send_event([key_event(ch, False)])
        time.sleep(rng.uniform(0.07, 0.17))
    # a remote path that batches: five keys per report (HID usages 0x04.. = a..), three times
    reports = []
    for i in range(3):
        reports += [keyboard_report(range(4 + 5 * i, 9 + 5 * i)), keyboard_report()]
    vm.gadget_send_reports(g, "keyboard", reports, interval=0.3)
    vm.wait_for_event(lambda e: sum(w["key_presses"] for w in _cadence(vm, kbd)) >= 12 and
                      sum(w["key_presses"] for w in _cadence(vm, kvm)) >= 15,
                      timeout=15, what="typing windows of both keyboards")
    human, batched = _cadence(vm, kbd), _cadence(vm, kvm)

    def fraction(ws):
        return sum(w["keys_coalesced"] for w in ws) / max(1, sum(w["key_presses"] for w in ws))

    assert fraction(human) < 0.1, human
    assert fraction(batched) >= 0.6, batched
    assert any(w.get("coalesced_fraction", 0) >= 0.6 for w in batched), batched
    assert all(w["device_kind"] == "ip_kvm" for w in batched), batched
    assert all(w["device_kind"] == "usb" for w in human), human
    assert all(100000 <= w["key_interval_median_us"] <= 400000 for w in human
               if w.get("key_interval_median_us")), human
    assert any(w.get("hold_median_us", 0) >= 30000 for w in human), human
    assert not _findings(vm, "GW-CADENCE-JIGGLER")


def test_uinput_injection_is_attributed_to_its_process(agent_guest):
    vm = agent_guest
    _start(vm)
    steps = []
    for code in SECRET_KEYS * 2:
        steps += [f"key:{code}:1", "syn", "sleep:60", f"key:{code}:0", "syn", "sleep:150"]
    tool = vm.run_uinput("keyboard", name="gw cadence injector", steps=steps, hold=3.0)
    name, pid = tool.ready[1], int(tool.ready[2])
    f = _wait_finding(vm, "GW-CADENCE-VIRTUAL-INPUT", name)
    assert f["category"] == "rmm" and f["title"] == "input injected through a virtual device", f
    assert f["subject"].startswith(f"/usr/bin/gw-uinput (pid {pid}) via {name}"), f
    w = next(c for c in _cadence(vm, name) if c["key_presses"])
    assert w["device_kind"] == "uinput", w
    assert w["creator"]["pid"] == pid and w["injector"]["pid"] == pid, w
    assert f["process_id"] == w["injector"]["process_id"], (f, w)
    tool.wait()
    vm.stop_agent()
    _assert_private(vm, SECRET_KEYS)


def test_kprobe_fallback_measures_the_same_input(agent_guest):
    """The fallback flavour on the same kernel: kprobe/input_handle_event (what a kernel that
    refuses fentry gets) counts the same keys and motion."""
    vm = agent_guest
    kbd = _plug(vm, "usb-kbd", "cad-kbd1", "QEMU USB Keyboard")
    tablet = _plug(vm, "usb-tablet", "cad-tab1", "QEMU USB Tablet")
    vm.start_agent(AGENT_ARGS + ["--cadence-hooks=kprobe"])
    vm.wait_for_event(lambda e: e["type"] == "stats", timeout=30, what="start stats")
    assert "input_cadence=kprobe/input_handle_event" in vm.agent_stderr(), vm.agent_stderr()
    for ch in "abcdef":
        vm.input_send_event([key_event(ch, True)])
        time.sleep(0.05)
        vm.input_send_event([key_event(ch, False)])
        time.sleep(0.1)
    vm.play_input([[abs_event("x", 100 * i), abs_event("y", 200)] for i in range(1, 6)], interval=0.05)
    try:
        vm.wait_for_event(lambda e: sum(w["key_presses"] for w in _cadence(vm, kbd)) >= 6 and
                          sum(w["abs_events"] for w in _cadence(vm, tablet)) >= 5,
                          timeout=15, what="windows measured through the kprobe")
    except GuestTimeout as e:
        # failed once in CI with no cadence record at all: say whether the input got in
        raise GuestTimeout(f"{e}\n--- evdev readers, event type: count ---\n"
                           f"{_input_received(vm)}") from e
    windows = _cadence(vm, kbd) + _cadence(vm, tablet)
    assert all(w["hook"] == "kprobe/input_handle_event" for w in windows), windows
    assert sum(w["key_presses"] for w in _cadence(vm, kbd)) == 6
    assert any(w.get("hold_median_us", 0) >= 20000 for w in _cadence(vm, kbd))
