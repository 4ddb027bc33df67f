"""Activity without physical input, in the QEMU guest, where the input cadence hook is live (the
build host has no input hook, so there the agent rightly never claims input was silent): a uinput
device written all along (how a Linux remote-desktop tool types), processes started inside a
session, no physical device touched, and GW-LATENCY-NO-PHYSICAL-INPUT must come after the
configured minute, naming the injecting process.

The guest has no X: a shell script named `xinit` stands in for the session launcher (the agent
knows a graphical session by a launcher such as xinit among a process's ancestors) and starts a
real program every few seconds. Windows are shortened for the test: latency 5 s, cadence 2 s,
one minute of silence (production: 60 s, 60 s, 10 minutes).
"""
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

RULE = "GW-LATENCY-NO-PHYSICAL-INPUT"
MINUTES = 1
GUEST_RULES = "/tmp/gw-rules"
AGENT_ARGS = ["debug", "--json", "--stats-interval=0", "--cadence-window=2", "--latency-window=5",
              f"--latency-no-input-minutes={MINUTES}", f"--rules={GUEST_RULES}",
              f"--rules-d={GUEST_RULES}.d"]
SESSION = "#!/bin/sh\nwhile :; do /bin/busybox uname -r >/dev/null; sleep 4; done\n"


def test_session_driven_through_virtual_input_raises(agent_guest):
    vm = agent_guest
    # the image carries no rules, and detections (behaviour rules too) need a loaded rule set
    vm.check(f"mkdir -p {GUEST_RULES} {GUEST_RULES}.d")
    vm.put_file(f"{GUEST_RULES}/jigglers.yaml", (ROOT / "rules" / "jigglers.yaml").read_bytes())
    vm.start_agent(AGENT_ARGS)
    vm.wait_for_event(lambda e: e["type"] == "stats", timeout=30, what="start stats")
    err = vm.agent_stderr()
    assert "input_cadence=fentry/" in err and "remote_latency=iter/tcp" in err, err

    # a pointer nudged once a second for longer than the run needs, through uinput
    steps = ["rel:0:1", "syn", "sleep:500", "rel:0:-1", "syn", "sleep:500"] * 100
    tool = vm.run_uinput("mouse_rel", name="gw latency injector", steps=steps, hold=1.0)
    device, injector = tool.ready[1], int(tool.ready[2])
    vm.check("mkdir -p /tmp/gwsess")
    vm.put_file("/tmp/gwsess/xinit", SESSION, mode=0o755)
    session = int(vm.check("/tmp/gwsess/xinit </dev/null >/dev/null 2>&1 & echo $!").strip())
    t0 = time.monotonic()
    try:
        f = vm.wait_for_event(lambda e: e["type"] == "finding" and e["finding"]["rule_id"] == RULE,
                              timeout=60 * MINUTES + 45, what=f"{RULE} finding")["finding"]
        elapsed = time.monotonic() - t0
        # not before the run lasted the configured minute
        assert elapsed >= 60 * MINUTES - 5, (elapsed, f)
        assert f["category"] == "behaviour" and f["title"] == "activity without physical input", f
        assert f["subject"].startswith(f"graphical session driven by /usr/bin/gw-uinput (pid "
                                       f"{injector}) via {device}"), f
        assert "a virtual input device was live" in f["matched"], f
        inj = next(e["finding"] for e in vm.agent_events() if e["type"] == "finding"
                   and e["finding"]["rule_id"] == "GW-CADENCE-VIRTUAL-INPUT"
                   and f"(pid {injector})" in e["finding"]["subject"])
        assert f["process_id"] == inj["process_id"], (f, inj)
        # the session's programs were seen as execs under the stand-in launcher
        execs = [e["exec"]["process"] for e in vm.agent_events() if e["type"] == "exec"
                 and e["exec"]["process"].get("ppid") == session]
        assert len(execs) >= 2, execs
    finally:
        vm.sh(f"kill {session}")
        tool.kill()
    vm.stop_agent()
