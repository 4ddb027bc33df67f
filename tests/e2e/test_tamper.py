"""Tamper evidence end to end: `ghostwatch run` -> nats-server (the deploy config, mutual TLS) ->
ghostwatch-collector -> NDJSON, and the collector's own findings.

Covers: a shell's `kill -TERM` of the agent is a GW-AGENT-STOPPED finding naming the shell's pid and
uid in the final batch; the same stop from pid 1 of the agent's pid namespace (the service manager's
place) raises nothing. An agent down for a few seconds and started again on the same boot makes the
collector raise GW-FLEET-SILENCED with the gap; a run on a new boot id raises nothing. Each start
reports the digests of the binary, config and rules files; a rules.d file edited between two starts
raises GW-FLEET-CONFIG-CHANGED, and rules overridden to nothing GW-FLEET-DETECTIONS-OFF. One of the
agent's cgroup links detached with `bpftool link detach` is GW-AGENT-DETACHED within the check
interval, and the agent attaches the program again. `report` lists the employees the agents declare
and the hosts whose certificate was issued but that never reported.
"""
import hashlib
import json
import re
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import AGENT, ROOT  # noqa: E402
from fleet_harness import (Collector, RunAgent as Agent, cgroup_links, fdinfo,  # noqa: E402
                           make_pki, publish, published_counts, report, report_table,
                           single_node, wait_for)

HOST = "host-a"
NEEDS_BPFTOOL = pytest.mark.skipif(shutil.which("bpftool") is None,
                                   reason="SKIPPED LOUDLY: bpftool missing (make deps installs it)")

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="SKIPPED LOUDLY: tamper e2e needs root for BPF"),
    pytest.mark.skipif(shutil.which("nats-server") is None,
                       reason="SKIPPED LOUDLY: nats-server missing (make deps installs it)"),
]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def nats(tmp_path, pki):
    s = single_node(tmp_path, pki)
    yield s
    s.stop()


@pytest.fixture
def collector(tmp_path, pki, nats):
    started = []

    def start(*extra):
        c = Collector(tmp_path / f"col{len(started)}", pki, nats.url, *extra).start()
        started.append(c)
        return c
    yield start
    for c in started:
        assert c.stop() != 66, c.log_text()[-3000:]


def write_config(tmp_path, nats, pki, extra=""):
    path = tmp_path / "gw.yaml"
    path.write_text(
        "collector:\n"
        f"  urls: [{nats.url}]\n"
        "  publish_timeout_ms: 2000\n  reconnect_min_ms: 100\n  reconnect_max_ms: 1000\n"
        f"tls:\n  cert: {pki / f'agent-{HOST}.pem'}\n  key: {pki / f'agent-{HOST}.key'}\n"
        f"  ca: {pki / 'ca.pem'}\n"
        f"host_id: {HOST}\n"
        f"spool:\n  dir: {tmp_path / 'spool'}\n  max_bytes: 64MiB\n  segment_bytes: 1MiB\n"
        "batch:\n  window_seconds: 1\n"
        "log_level: debug\n" + extra)
    return path


@pytest.fixture
def agents():
    started = []
    yield started
    for a in started:
        a.kill()


def findings(col, rule):
    return [l for l in col.lines(rule.encode()) if l.get("type") == "finding"
            and l["finding"]["rule_id"] == rule]


def test_a_shell_kill_is_reported_with_the_sender(tmp_path, pki, nats, collector, agents):
    col = collector()
    a = Agent(write_config(tmp_path, nats, pki))
    agents.append(a)
    a.wait_log("live hooks")
    wait_for(lambda: col.lines(HOST.encode()), 30, "the agent's first batches at the collector")
    pidfile = tmp_path / "sender.pid"
    # an interactive shell's `kill`: the shell is the sender, and it outlives the signal
    subprocess.run(["/bin/sh", "-c", f"echo $$ > {pidfile}; kill -TERM {a.proc.pid}; sleep 1"],
                   check=True, timeout=10)
    sender = int(pidfile.read_text())
    assert a.wait() == 0, a.log[-3000:]
    assert f"stopped by hand: SIGTERM from pid {sender} uid 0 (sh /usr/bin/dash" in a.log, \
        a.log[-2000:]
    found = wait_for(lambda: findings(col, "GW-AGENT-STOPPED"), 30,
                     f"GW-AGENT-STOPPED at the collector; agent: {a.log[-3000:]}")
    f = found[0]
    assert f["host_id"] == HOST
    assert f["finding"]["category"] == "tamper" and f["finding"]["severity"] == "high"
    assert f"SIGTERM from pid {sender} uid 0 (sh " in f["finding"]["matched"], f
    assert f["finding"]["subject"] == "/usr/bin/dash"


def test_a_stop_from_pid_1_raises_nothing(tmp_path, pki, nats, collector, agents):
    """The agent runs in a pid namespace whose pid 1 is a shell standing in for the service
    manager: its SIGTERM arrives with ssi_pid 1, as systemd's does."""
    col = collector()
    cfg = write_config(tmp_path, nats, pki)
    log, go = tmp_path / "agent.log", tmp_path / "go"
    script = (f"{AGENT} run --config {cfg} 2>{log} & "
              f"while [ ! -e {go} ]; do kill -0 $! 2>/dev/null || exit 3; sleep 0.1; done; "
              "kill -TERM $!; wait $!")
    init = subprocess.Popen(["unshare", "--fork", "--pid", "--mount-proc", "/bin/sh", "-c", script],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"))
    try:
        wait_for(lambda: col.lines(HOST.encode()), 30, "the agent's first batches")
        go.touch()
        out, err = init.communicate(timeout=60)
    finally:
        if init.poll() is None:
            init.kill()
            init.wait()
    r = subprocess.CompletedProcess(init.args, init.returncode, out, err)
    text = log.read_text(errors="replace")
    assert r.returncode == 0, (r.stderr, text[-3000:])
    assert "stopped by the service manager: SIGTERM from pid 1 " in text, text[-2000:]
    time.sleep(2)
    assert not findings(col, "GW-AGENT-STOPPED")


def silenced_gap(f):
    m = re.search(r"gap_s=(\d+)", f["finding"]["matched"])
    assert m, f
    return int(m.group(1))


def test_an_agent_down_while_the_host_ran_is_silenced(tmp_path, pki, nats, collector, agents):
    col = collector("--silenced-after", "3")
    cfg = write_config(tmp_path, nats, pki)
    a = Agent(cfg)
    agents.append(a)
    a.wait_log("live hooks")
    wait_for(lambda: col.lines(HOST.encode()), 30, "the first run's batches")
    a.proc.send_signal(signal.SIGTERM)
    assert a.wait() == 0, a.log[-3000:]
    down = time.monotonic()
    time.sleep(6)
    b = Agent(cfg)
    agents.append(b)
    b.wait_log("live hooks")
    up = time.monotonic()
    found = wait_for(lambda: findings(col, "GW-FLEET-SILENCED"), 30,
                     f"GW-FLEET-SILENCED; collector: {col.log_text()[-2000:]}")
    assert len(found) == 1, found
    f = found[0]
    assert f["host_id"] == HOST and f["source"] == "collector"
    assert f["finding"]["category"] == "tamper" and f["finding"]["severity"] == "high"
    # from the first run's last window to the second run's start: the sleep and the start-up
    assert 6 <= silenced_gap(f) <= up - down + 2, (f, up - down)
    assert "GW-FLEET-SILENCED" in [r["rule_id"] for r in
                                   next(h for h in col.report()["hosts"]
                                        if h["host_id"] == HOST)["finding_rules"]]


def test_a_new_boot_id_is_not_silenced(tmp_path, pki, nats, collector):
    """Crafted runs of one host (gw-publish): boot A, then boot B 1000 s later (an ordinary
    shutdown: nothing), then boot B again 1000 s after that (silenced: the control)."""
    col = collector()
    t0 = 1700000000 * 10**9
    runs = [("1", "2", "aaaaaaaa-0000-4000-8000-000000000001", t0),
            ("3", "1", "bbbbbbbb-0000-4000-8000-000000000002", t0 + 1000 * 10**9),
            ("4", "1", "bbbbbbbb-0000-4000-8000-000000000002", t0 + 2000 * 10**9)]
    for seq, count, boot, start in runs:
        r = publish(pki, nats.url, "gen", "--host", HOST, "--seq-from", seq, "--count", count,
                    "--events", "4", "--boot-id", boot, "--agent-start", str(start))
        assert r.returncode == 0, r.stderr
        assert published_counts(r.stdout)[1] == int(count)
        wait_for(lambda: len({l["batch_seq"] for l in col.lines(b'"batch_seq"')}) >= int(seq) +
                 int(count) - 1, 30, f"batches up to {seq} written")
    found = findings(col, "GW-FLEET-SILENCED")
    assert len(found) == 1, found
    # seq 3's window ends at t0 + 4 s (gw-publish's windows are t0 + seq .. + 1 s)
    assert silenced_gap(found[0]) == 1996 and "bbbbbbbb" in found[0]["finding"]["matched"]


LOCAL_RULE = """version: 1
rules:
  - id: GW-TEST-TAMPER-0001
    title: "{title}"
    category: rmm
    vendor: test
    severity: low
    technique: T1219
    confidence: low
    sources: ["tests/e2e/test_tamper.py"]
    match:
      exec:
        names: [gw-tamper-test-never-run]
"""


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def integrity_events(col):
    return [l["integrity"] for l in col.lines(b'"integrity"') if l.get("type") == "integrity"]


def run_once(cfg, col, n_before):
    """One agent run until its integrity event reached the collector; stopped by SIGTERM."""
    a = Agent(cfg)
    try:
        a.wait_log("live hooks")
        wait_for(lambda: len(integrity_events(col)) > n_before, 30,
                 f"the run's integrity event; agent: {a.log[-2000:]}")
        a.proc.send_signal(signal.SIGTERM)
        assert a.wait() == 0, a.log[-3000:]
    finally:
        a.kill()
    return a, integrity_events(col)[-1]


def test_a_rules_file_edited_between_starts_is_a_config_change(tmp_path, pki, nats, collector):
    col = collector()
    local = tmp_path / "rules.d"
    local.mkdir(mode=0o755)
    rule = local / "local.yaml"
    rule.write_text(LOCAL_RULE.format(title="a local rule"))
    cfg = write_config(tmp_path, nats, pki, f"rules:\n  local_dir: {local}\n")
    a, first = run_once(cfg, col, 0)
    assert first["binary_sha256"] == sha256(AGENT), first
    assert first["config_path"] == str(cfg) and first["config_sha256"] == sha256(cfg)
    files = {f["path"]: f["sha256"] for f in first["rules"]}
    assert files[str(rule)] == sha256(rule), files
    assert str(ROOT / "rules" / "rmm.yaml") in files
    assert int(first["rules_enabled"]) == int(first["rules_total"]) > 100
    assert not findings(col, "GW-FLEET-CONFIG-CHANGED")

    # switch every rule off from rules.d: same binary and version, other rules
    ids = re.findall(r"^  - id: (\S+)$", "".join(p.read_text() for p in (ROOT / "rules")
                                                  .glob("*.yaml")), re.M)
    rule.write_text(LOCAL_RULE.format(title="a local rule, edited") + "    enabled: false\n" +
                    "".join(f"  - {{id: {i}, enabled: false}}\n" for i in ids))
    a, second = run_once(cfg, col, 1)
    assert int(second["rules_enabled"]) == 0, (second, a.log[-2000:])
    changed = wait_for(lambda: findings(col, "GW-FLEET-CONFIG-CHANGED"), 30,
                       "GW-FLEET-CONFIG-CHANGED")
    assert len(changed) == 1 and changed[0]["host_id"] == HOST
    m = changed[0]["finding"]["matched"]
    assert f"rules {first['rules_sha256'][:12]} -> {second['rules_sha256'][:12]}" in m, m
    assert "binary" not in m and "config" not in m.split(":", 1)[1], m
    assert changed[0]["finding"]["severity"] == "medium"
    off = wait_for(lambda: findings(col, "GW-FLEET-DETECTIONS-OFF"), 30,
                   "GW-FLEET-DETECTIONS-OFF")
    assert f"0 of {second['rules_total']} rules" in off[0]["finding"]["matched"]


def prog_name(prog_id):
    out = subprocess.run(["bpftool", "-j", "prog", "show", "id", str(prog_id)],
                         capture_output=True, text=True, timeout=10)
    return json.loads(out.stdout).get("name", "") if out.returncode == 0 else ""


@NEEDS_BPFTOOL
@pytest.mark.parametrize("which", ["network", "tunnel"])
def test_a_detached_program_is_reported_and_attached_again(tmp_path, pki, nats, collector,
                                                           agents, which):
    """The network's cgroup links (core registers them) and the tunnel creator's cgroup/dev link
    (the net domain's own object, registered when it attaches) are both checked."""
    col = collector()
    a = Agent(write_config(tmp_path, nats, pki, "tamper:\n  check_seconds: 2\n"))
    agents.append(a)
    a.wait_log("live hooks")
    before = cgroup_links(a.proc.pid)
    assert before, "the agent holds no cgroup link (the network hooks attach several here)"
    if which == "network":
        victim = min(before)
    else:
        tunnel = [l for l, (p, _) in before.items() if prog_name(p).startswith("gw_tunnel_dev_o")]
        assert tunnel, f"no gw_tunnel_dev_open link among {before}: {a.log[-2000:]}"
        victim = tunnel[0]
    prog_id = before[victim][0]
    detached = time.monotonic()
    r = subprocess.run(["bpftool", "link", "detach", "id", str(victim)], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    found = wait_for(lambda: findings(col, "GW-AGENT-DETACHED"), 30,
                     f"GW-AGENT-DETACHED; agent: {a.log[-2000:]}")
    assert time.monotonic() - detached < 2 + 10, "not within the check interval (and a batch)"
    f = found[0]["finding"]
    assert f["category"] == "tamper" and f["severity"] == "high"
    assert f"link {victim} of program " in f["matched"] and f"(id {prog_id})" in f["matched"]
    assert "detached from its cgroup; attached again as link" in f["matched"], f
    new_id = int(re.search(r"attached again as link (\d+)", f["matched"]).group(1))
    after = cgroup_links(a.proc.pid)
    assert after[new_id][0] == prog_id and after[new_id][1] != 0, after
    assert after[victim][1] == 0  # the detached link itself stays detached
    time.sleep(5)  # two more checks: the program is attached again, nothing more to report
    assert len(findings(col, "GW-AGENT-DETACHED")) == 1
    a.proc.send_signal(signal.SIGTERM)
    assert a.wait() == 0, a.log[-3000:]


def test_report_lists_the_roster_and_hosts_that_never_reported(tmp_path, pki, nats, collector):
    col = collector()
    r = publish(pki, nats.url, "gen", "--host", HOST, "--count", "2", "--events", "2",
                "--employee", "emp-7")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: len(col.lines(b'"batch_seq"')) >= 4, 30, "the batches written")
    col.stop()
    enrolled = tmp_path / "issued"
    enrolled.mkdir()
    for name in ("agent-host-a.pem", "agent-host-c.pem", "collector.pem", "ca.pem",
                 "server.pem"):
        shutil.copy(pki / name, enrolled / name)
    roster = report(col, "--enrolled", str(enrolled))["roster"]
    assert roster["employees"] == [{"employee_id": "emp-7", "last_seen_ns": roster["employees"][0]
                                    ["last_seen_ns"], "silent": False, "hosts": [HOST]}]
    # the collector's, the CA's and the server's certificates are no agents
    assert roster["enrolled"] == 2
    assert [h["host_id"] for h in roster["never_reported"]] == ["host-c"]
    table = report_table(col, "--enrolled", str(enrolled))
    assert re.search(r"host-c +NEVER REPORTED \(certificate agent-host-c.pem\)", table), table
    assert re.search(r"emp-7 +1 host\(s\), last report 0 h ago: host-a", table), table
    page = tmp_path / "fleet.html"
    report_table(col, "--enrolled", str(enrolled), "--html", str(page))
    html = page.read_text()
    assert "<tr><td>emp-7</td><td>host-a </td><td>0 h ago</td></tr>" in html, html
    assert "<li><b>host-c</b> (certificate agent-host-c.pem)</li>" in html, html


# A root user's program that consumes the agent's ring: it opens the map by id, maps the ring's
# consumer page writable (the kernel allows it to anyone holding the map) and moves the consumer
# position to the producer's as fast as it can, so records are gone before the agent is woken.
THIEF = r"""
import ctypes, mmap, signal, struct, sys, time
map_id, seconds = int(sys.argv[1]), float(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
attr = ctypes.create_string_buffer(struct.pack("=III", map_id, 0, 0), 128)
fd = libc.syscall(321, 14, attr, 12)  # bpf(BPF_MAP_GET_FD_BY_ID)
if fd < 0:
    sys.exit(f"BPF_MAP_GET_FD_BY_ID {map_id}: errno {ctypes.get_errno()}")
page = mmap.PAGESIZE
cons = mmap.mmap(fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
prod = mmap.mmap(fd, page, mmap.MAP_SHARED, mmap.PROT_READ, offset=page)
print("stealing", flush=True)
taken, end, stop = 0, time.monotonic() + seconds, []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
while time.monotonic() < end and not stop:
    p, c = struct.unpack_from("=Q", prod)[0], struct.unpack_from("=Q", cons)[0]
    if p > c:
        struct.pack_into("=Q", cons, 0, p)
        taken += p - c
print(taken, flush=True)
"""


def agent_maps(pid):
    """map id -> map_type of the BPF maps process pid holds."""
    return {int(i["map_id"]): int(i["map_type"]) for i in fdinfo(pid) if "map_id" in i}


def map_named(pid, name):
    for map_id in agent_maps(pid):
        out = subprocess.run(["bpftool", "-j", "map", "show", "id", str(map_id)],
                             capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and json.loads(out.stdout).get("name") == name:
            return map_id
    raise AssertionError(f"agent {pid} holds no map named {name}")


def ring_findings(col, what):
    return [f for f in findings(col, "GW-AGENT-RING-TAMPERED") if what in f["finding"]["matched"]]


@NEEDS_BPFTOOL
def test_a_program_consuming_the_ring_is_reported(tmp_path, pki, nats, collector, agents):
    """The thief takes every record, so the agent hears nothing: the consumer position says how
    much it missed, and the exit canary a quiet interval starts goes unseen."""
    col = collector()
    a = Agent(write_config(tmp_path, nats, pki, "tamper:\n  check_seconds: 2\n"))
    agents.append(a)
    a.wait_log("live hooks")
    ring = map_named(a.proc.pid, "gw_events")
    thief = subprocess.Popen([sys.executable, "-c", THIEF, str(ring), "40"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert thief.stdout.readline().strip() == "stealing"
        for _ in range(20):  # records to take: processes that start and exit
            subprocess.run(["/bin/true"], check=True)
        taken = wait_for(lambda: ring_findings(col, "consumed"), 20,
                         f"a ring finding naming the bytes consumed; agent: {a.log[-2000:]}")
        # a canary whose record the agent reads first, racing the thief, is seen: the next
        # quiet interval tries again
        unseen = wait_for(lambda: ring_findings(col, "no exit record arrived"), 30,
                          f"the canary unseen; agent: {a.log[-2000:]}")
    finally:
        thief.terminate()
        thief.wait(30)
    stolen = int(thief.stdout.readline())
    f = taken[0]["finding"]
    assert f["category"] == "tamper" and f["severity"] == "high"
    n = int(re.search(r"consumed (\d+) bytes", f["matched"]).group(1))
    assert 0 < n <= stolen, (n, stolen)
    assert re.search(r"own child \(pid \d+\) exited \d+ s ago", unseen[0]["finding"]["matched"])
    a.proc.send_signal(signal.SIGTERM)
    assert a.wait() == 0, a.log[-3000:]
    summary = re.search(r"ring_bytes_taken=(\d+)", a.log)
    assert summary and int(summary.group(1)) >= n, a.log[-2000:]


@NEEDS_BPFTOOL
def test_rewritten_flood_limits_are_reported_and_written_back(tmp_path, pki, nats, collector,
                                                              agents):
    col = collector()
    a = Agent(write_config(tmp_path, nats, pki, "tamper:\n  check_seconds: 2\n"))
    agents.append(a)
    a.wait_log("live hooks")
    limits = map_named(a.proc.pid, "gw_limits")

    def read():
        out = subprocess.run(["bpftool", "-j", "map", "lookup", "id", str(limits), "key", "0", "0",
                              "0", "0"], capture_output=True, text=True, timeout=10, check=True)
        return [int(b, 16) for b in json.loads(out.stdout)["value"]]
    written = read()
    # rate 1 record/s, burst 1, from the first byte of the ring: every uid all but silenced
    r = subprocess.run(["bpftool", "map", "update", "id", str(limits), "key", "0", "0", "0", "0",
                        "value", *"1 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0".split()],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    found = wait_for(lambda: ring_findings(col, "flood limits were rewritten"), 20,
                     f"the limits finding; agent: {a.log[-2000:]}")
    m = found[0]["finding"]["matched"]
    assert "rate 1 burst 1 gate 0% reserve 0%" in m and m.endswith("written back"), m
    assert read() == written
    time.sleep(5)  # later checks find the agent's limits: nothing more
    assert len(ring_findings(col, "flood limits")) == 1
    assert not ring_findings(col, "consumed") and not ring_findings(col, "no exit record"), \
        "a quiet agent's canaries came back and nobody else read its ring"
    a.proc.send_signal(signal.SIGTERM)
    assert a.wait() == 0, a.log[-3000:]
