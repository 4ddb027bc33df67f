"""The agent gives up its privileges once attached (docs/PRIVILEGES.md) and still works.

Covers: `ghostwatch debug` started as root holds exactly the documented capabilities afterwards
(CapPrm = CapEff, bounding set the same, nothing inheritable or ambient, no_new_privs) and its
namespace helper CAP_SYS_ADMIN alone; with them it still hashes a binary in another user's 0700
directory and reports the bytes of a connection inside another network namespace while it is open
(the helper made the iterator there). `ghostwatch run` started as the unit's DynamicUser would be
(uid 65534, the unit's AmbientCapabilities and bounding set, root-only config and keys) keeps the
same set, ships an exec to the collector, reports and re-attaches a detached cgroup link, and
reloads its config on SIGHUP. --keep-privileges keeps everything and starts no helper.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import ROOT  # noqa: E402
from fleet_harness import (Collector, RunAgent, cgroup_links, make_pki, single_node,  # noqa: E402
                           wait_for)

NOBODY = 65534
UNIT = ROOT / "deploy" / "ghostwatch.service"
DOC = ROOT / "docs" / "PRIVILEGES.md"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="SKIPPED LOUDLY: privilege e2e needs root"),
    pytest.mark.skipif(shutil.which("capsh") is None or shutil.which("setpriv") is None,
                       reason="SKIPPED LOUDLY: capsh/setpriv missing (make deps: libcap2-bin, "
                              "util-linux)"),
]


def documented():
    """(the agent's kept set, the helper's) as named in docs/PRIVILEGES.md."""
    text = DOC.read_text()
    agent = text.split("The agent after the start", 1)[1].split("The namespace helper", 1)[0]
    helper = text.split("The namespace helper (a child", 1)[1].split("\n", 1)[0]
    names = lambda s: {m.lower() for m in re.findall(r"^\| (CAP_[A-Z_]+) \|", s, re.M)}  # noqa
    return names(agent), {m.lower() for m in re.findall(r"CAP_[A-Z_]+", helper)}


def unit_caps(key):
    m = re.search(rf"^{key}=(.*)$", UNIT.read_text(), re.M)
    return {c.lower() for c in m.group(1).split()}


def status(pid):
    return dict(l.split(":\t", 1) for l in Path(f"/proc/{pid}/status").read_text().splitlines()
                if ":\t" in l)


def decode(mask):
    """A status capability mask as a set of names (capsh --decode)."""
    out = subprocess.run(["capsh", f"--decode={mask.strip()}"], capture_output=True, text=True,
                         check=True).stdout.strip()
    names = out.split("=", 1)[1] if "=" in out else ""
    return {n for n in names.split(",") if n}


def children(pid):
    kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(k) for k in kids]


def helper_of(pid):
    found = [k for k in children(pid)
             if Path(f"/proc/{k}/comm").read_text().strip() == "gw-netns-iter"]
    assert len(found) == 1, f"namespace helper among {children(pid)}"
    return found[0]


def assert_reduced(st, kept):
    assert decode(st["CapEff"]) == kept, st["CapEff"]
    assert decode(st["CapPrm"]) == kept, st["CapPrm"]
    assert decode(st["CapInh"]) == set() and decode(st["CapAmb"]) == set(), st
    assert st["NoNewPrivs"].strip() == "1"


@pytest.fixture
def private_binary():
    """A copy of true in a 0700 directory of uid 65534: only CAP_DAC_READ_SEARCH opens it."""
    top = Path(tempfile.mkdtemp(prefix="gwpriv-", dir="/tmp"))
    top.chmod(0o755)
    d = top / "private"
    d.mkdir()
    exe = d / "gwpriv-true"
    shutil.copy("/bin/true", exe)
    os.chown(d, NOBODY, NOBODY)
    os.chown(exe, NOBODY, NOBODY)
    os.chmod(d, 0o700)
    yield exe
    shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def netns():
    name = f"gwpriv{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    yield name
    subprocess.run(["ip", "netns", "del", name])


TALKER = """
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
c = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); a, _ = s.accept()
print("open", flush=True)
for _ in range(int(sys.argv[2])):
    c.sendall(b"x" * 4096); a.recv(65536); time.sleep(0.1)
"""


def test_the_running_agent_holds_only_the_documented_capabilities(agent_factory,
                                                                   private_binary, netns):
    kept, helper_kept = documented()
    assert kept == {"cap_bpf", "cap_sys_ptrace", "cap_dac_read_search"}, kept
    a = agent_factory("--flow-window=2")
    said = re.search(r"privileges: kept (\S+)=ep, bounding set the same, no_new_privs",
                     a.stderr)
    assert said and set(said.group(1).split(",")) == kept, a.stderr
    st = status(a.proc.pid)
    assert_reduced(st, kept)
    assert decode(st["CapBnd"]) == kept, st["CapBnd"]
    hs = status(helper_of(a.proc.pid))
    assert_reduced(hs, helper_kept)
    assert decode(hs["CapBnd"]) == helper_kept

    # CAP_DAC_READ_SEARCH: the binary in uid 65534's 0700 directory is hashed
    subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                    str(private_binary)], check=True)
    ex = a.wait_for(lambda e: e.get("type") == "exec" and
                    e["exec"]["process"].get("exe") == str(private_binary), 10,
                    "the private binary's exec")["exec"]["process"]
    assert ex["uid"] == NOBODY and ex["exe_hash_state"] == "hashed", ex
    assert len(ex["exe_sha256"]) == 64

    # the helper: a connection inside another namespace is walked (bytes) while still open
    port = 45000 + os.getpid() % 1000
    talker = subprocess.Popen(["ip", "netns", "exec", netns, sys.executable, "-c", TALKER,
                               str(port), "80"], stdout=subprocess.PIPE, text=True)
    try:
        assert talker.stdout.readline().strip() == "open"
        flow = a.wait_for(lambda e: e.get("type") == "flow" and
                          port in (e["flow"].get("remote_port"), e["flow"].get("local_port")) and
                          int(e["flow"].get("bytes_sent", 0)) > 0, 7,
                          "a flow of the namespaced connection while it is open")
        assert talker.poll() is None, f"the connection closed before its flow: {flow}"
    finally:
        talker.kill()
        talker.wait(5)
    helper = helper_of(a.proc.pid)
    rc, _ = a.stop()
    assert rc == 0, a.stderr[-3000:]
    assert not Path(f"/proc/{helper}").exists(), "the helper outlived the agent"


@pytest.mark.skipif(shutil.which("nats-server") is None or shutil.which("bpftool") is None,
                    reason="SKIPPED LOUDLY: nats-server or bpftool missing (make deps)")
def test_the_units_user_runs_the_fleet_agent_with_only_what_it_keeps(tmp_path):
    kept, _ = documented()
    ambient, bounding = unit_caps("AmbientCapabilities"), unit_caps("CapabilityBoundingSet")
    assert ambient == bounding and kept <= bounding, (ambient, bounding)
    assert re.search(r"^DynamicUser=yes$", UNIT.read_text(), re.M)
    pki = make_pki(tmp_path / "pki")
    nats = single_node(tmp_path, pki)
    col = Collector(tmp_path / "col", pki, nats.url).start()
    spool = tmp_path / "state"
    spool.mkdir()
    os.chown(spool, NOBODY, NOBODY)
    spool.chmod(0o700)
    config = tmp_path / "gw.yaml"
    text = ("collector:\n"
            f"  urls: [{nats.url}]\n"
            "  publish_timeout_ms: 2000\n  reconnect_min_ms: 100\n  reconnect_max_ms: 1000\n"
            f"tls:\n  cert: {pki / 'agent-host-a.pem'}\n  key: {pki / 'agent-host-a.key'}\n"
            f"  ca: {pki / 'ca.pem'}\n"
            "host_id: host-a\n"
            f"spool:\n  dir: {spool / 'spool'}\n  max_bytes: 64MiB\n  segment_bytes: 1MiB\n"
            f"sessions:\n  state_file: {spool / 'activity.state'}\n"
            "batch:\n  window_seconds: 1\n"
            "tamper:\n  check_seconds: 1\n"
            "log_level: debug\n")
    config.write_text(text)
    # root's alone, as the packaged config and keys are: read through CAP_DAC_READ_SEARCH
    for f in (config, pki / "agent-host-a.key"):
        os.chmod(f, 0o600)
    caps = ",".join(f"+{c[4:]}" for c in sorted(ambient))
    agent = RunAgent(config, ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                                "--clear-groups", f"--inh-caps={caps}",
                                f"--ambient-caps={caps}", f"--bounding-set=-all,{caps}"])
    try:
        agent.wait_log("live hooks")
        assert "privileges: kept cap_dac_read_search,cap_sys_ptrace,cap_bpf=ep; bounding set " \
               "left as it was (no CAP_SETPCAP), no_new_privs" in agent.log, agent.log
        st = status(agent.proc.pid)
        assert st["Uid"].split()[0] == str(NOBODY)
        assert_reduced(st, kept)
        assert decode(st["CapBnd"]) == bounding

        marker = f"gwpriv-{os.getpid()}"
        subprocess.run(["/bin/sh", "-c", "exit 0", marker], check=True)
        wait_for(lambda: [l for l in col.lines(marker.encode()) if l["type"] == "exec"], 30,
                 f"the marker's exec at the collector; agent: {agent.log[-2000:]}")

        # the attach check without CAP_SYS_ADMIN: through the descriptors it holds
        links = cgroup_links(agent.proc.pid)
        victim = min(links)
        r = subprocess.run(["bpftool", "link", "detach", "id", str(victim)],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 0, r.stderr
        found = wait_for(lambda: [l for l in col.lines(b"GW-AGENT-DETACHED")
                                  if l.get("type") == "finding"], 30,
                         f"GW-AGENT-DETACHED; agent: {agent.log[-2000:]}")
        assert "detached from its cgroup; attached again as link" in \
            found[0]["finding"]["matched"], found[0]

        # SIGHUP re-reads the root-only config
        config.write_text(text.replace("log_level: debug", "log_level: info"))
        agent.proc.send_signal(signal.SIGHUP)
        agent.wait_log("reloaded ")
        assert "reload refused" not in agent.log
        agent.proc.send_signal(signal.SIGTERM)
        assert agent.proc.wait(30) == 0, agent.log[-3000:]
    finally:
        agent.kill()
        assert col.stop() != 66, col.log_text()[-3000:]
        nats.stop()


def test_keep_privileges_skips_the_drop(agent_factory):
    a = agent_factory("--keep-privileges", "--no-network", "--cadence-window=0")
    assert "privileges: every capability kept (keep_privileges)" in a.stderr, a.stderr
    st, ours = status(a.proc.pid), status(os.getpid())
    assert decode(st["CapEff"]) == decode(ours["CapEff"]) and "cap_sys_admin" in \
        decode(st["CapEff"])
    assert not [k for k in children(a.proc.pid)
                if Path(f"/proc/{k}/comm").read_text().strip() == "gw-netns-iter"]
    rc, _ = a.stop()
    assert rc == 0, a.stderr[-3000:]
