"""An idle agent sleeps: about one wakeup a second, and the first record after a quiet spell still
shows promptly (the BPF side wakes the reader, gw_bpf_common.h)."""
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import exec_of  # noqa: E402

IDLE_S = 10
QUIET_RATE = 1.5   # wakeups per second of a host with nothing to report
BUSY_WAKEUPS = 12  # a second with records: the BPF wakeup, then 100 ms drains until empty


def voluntary_switches(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches in /proc/PID/status")


def test_idle_agent_wakes_about_once_a_second(agent_factory):
    # forks printed too, so every record the agent is woken for is seen; no network records
    agent = agent_factory("--no-network", "--forks", "--stats-interval=0")
    time.sleep(2)  # past the start-up inventory and the first drains
    t0 = time.time_ns()
    v0 = voluntary_switches(agent.proc.pid)
    time.sleep(IDLE_S)
    v1 = voluntary_switches(agent.proc.pid)
    t1 = time.time_ns()
    busy = {int(e["time_ns"]) // 10**9 for e in agent.find(lambda e: e.get("type") != "stats")
            if t0 - 10**9 <= int(e["time_ns"]) <= t1}
    if len(busy) > IDLE_S // 3:
        pytest.skip(f"the host was busy in {len(busy)} of {IDLE_S} s: no idle to measure")
    wakeups = v1 - v0
    allowed = QUIET_RATE * IDLE_S + BUSY_WAKEUPS * len(busy)
    assert wakeups <= allowed, (f"{wakeups} wakeups in {IDLE_S} s with {len(busy)} busy seconds "
                                f"(at most {allowed:.0f})")

    # after a quiet spell an exec still shows within 2 s, and sooner than the idle tick would
    # drain it: the first record woke the reader
    delays = []
    for _ in range(3):
        time.sleep(1.5)
        m = "gw-" + uuid.uuid4().hex[:12]
        start = time.monotonic()
        p = subprocess.Popen(["/bin/sh", "-c", "exit 0", m])
        agent.wait_for(exec_of(p.pid, m), timeout=2.0, what="exec after idle")
        delays.append(time.monotonic() - start)
        p.wait()
    assert max(delays) < 2.0 and min(delays) < 0.5, delays
