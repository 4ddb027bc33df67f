"""One user's flood must not hide another's events (bpf/gw_bpf_common.h: a reserve of the ring no
capture may fill, a per-uid share past a fill gate, drops by uid). A flooding uid (nobody) sends DNS
queries to a local responder and exec's /bin/true in a loop while another user runs a few marked
commands and root makes a tun interface (its /dev/net/tun open is a ring record, which names the
interface's creator). Asserts on what the agent emitted: every marked exec, the interface with its
creator, and the flooding uid charged with the drops in AgentStats.uid_drops.

The marked commands run as a uid of their own, not root: on this shared host root's exec rate is
other people's builds and benchmarks, and a share is per uid.
"""
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import ROOT, counter, exec_of  # noqa: E402
import pytest  # noqa: E402

NOBODY = 65534
VICTIM = 4243
RESOLVER = "127.53.0.1"
PY = os.path.realpath(sys.executable)
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
AS_VICTIM = ["setpriv", f"--reuid={VICTIM}", f"--regid={VICTIM}", "--clear-groups"]

# Asks RESOLVER:53 for one name as fast as answers come back, for argv[2] seconds.
DNS_FLOOD = """
import socket, struct, sys, time
q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + b"\\x05flood\\x04test\\x00" \\
    + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], 53))
s.settimeout(0.5)
n, end = 0, time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    s.send(q)
    try:
        s.recv(600)
        n += 1
    except socket.timeout:
        pass
print(n, flush=True)
"""


@pytest.fixture
def responder():
    p = subprocess.Popen([PY, str(ROOT / "tests/e2e/dns_responder.py"), RESOLVER, "192.0.2.1"],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    yield p
    p.kill()
    p.wait(10)


def flood(seconds):
    """The flooding uid's DNS loop and exec loop, started."""
    dns = subprocess.Popen(AS_NOBODY + [PY, "-c", DNS_FLOOD, RESOLVER, str(seconds)],
                           stdout=subprocess.PIPE, text=True)
    execs = subprocess.Popen(AS_NOBODY + ["timeout", str(seconds), "sh", "-c",
                                          "while :; do /bin/true; done"])
    return dns, execs


def others_activity(agent, seconds):
    """While the flood runs: marked execs by the other user, and a tun interface made by root's
    `ip`."""
    marker = "gw-share-" + uuid.uuid4().hex[:8]
    ifname = "gwfl" + uuid.uuid4().hex[:8]
    pids = []
    ip_pid = None
    end = time.monotonic() + seconds - 0.5
    try:
        while time.monotonic() < end:
            p = subprocess.Popen(AS_VICTIM + ["/bin/echo", marker], stdout=subprocess.DEVNULL)
            p.wait(10)
            pids.append(p.pid)
            if ip_pid is None and len(pids) == 3:
                p = subprocess.Popen(["ip", "tuntap", "add", "dev", ifname, "mode", "tun"])
                assert p.wait(10) == 0
                ip_pid = p.pid
            time.sleep(0.25)
        for pid in pids:
            agent.wait_for(exec_of(pid, marker), timeout=5, what=f"the other user's exec {pid}")
        nif = agent.wait_for(lambda e: e.get("type") == "network_interface"
                             and e["network_interface"]["name"] == ifname
                             and e["network_interface"]["action"] == "added",
                             timeout=5, what="the tun interface")["network_interface"]
    finally:
        subprocess.run(["ip", "link", "del", ifname], capture_output=True)
    # the creator comes from the /dev/net/tun open record: it was not lost to the flood
    assert nif["kind"] == "tun" and nif["creator_source"] == "open", nif
    assert nif["creator"]["pid"] == ip_pid, nif
    return pids


def uid_drops(stats, uid):
    return {d["category"]: int(d["value"]) for d in stats["stats"].get("uid_drops", [])
            if d["uid"] == uid}


@pytest.mark.parametrize("config", [
    # the share always on: every record past a uid's 300/s is refused
    ["--uid-limit=300,300,0"],
    # the gate, on a ring small enough for this flood to fill a quarter of: past it nobody is held
    # to its share (scaled down with the ring, as the defaults are to 4 MiB) while others' fit
    ["--ringbuf-size=131072", "--uid-limit=100,50,25"],
], ids=["always", "gate"])
def test_flood_by_one_uid_leaves_others_exec_and_device_records(agent_factory, responder, config):
    agent = agent_factory("--no-forks", "--stats-interval=0", *config)
    dns, execs = flood(4)
    try:
        pids = others_activity(agent, 4)
    finally:
        answers = int(dns.communicate(timeout=20)[0] or 0)
        execs.wait(20)
    rc, stats = agent.stop()
    assert rc == 0
    assert answers > 1000, f"the flood was too slow to test anything: {answers} answers in 4 s"
    charged = uid_drops(stats, NOBODY)
    assert charged.get("dns", 0) > 0, stats["stats"].get("uid_drops")
    # the per-category totals include what the uids were charged
    assert counter(stats, "drops", "dns") >= charged["dns"]
    # the other user lost none of its records (the flood was nobody's)
    assert not uid_drops(stats, VICTIM), stats["stats"].get("uid_drops")
    assert len(pids) >= 5
