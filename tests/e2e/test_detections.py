"""Detections end to end: the real agent, real processes named like RMM tools / VPN clients,
assertions on the `finding` and `fraud_score` events it emits, and SIGHUP reloads of rule files.

The machine is shared: other people's processes are traced too, so every assertion is tied to
this test's own processes (their exe paths or exec event ids), never to "no finding at all".
"""
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import AGENT, ROOT  # noqa: E402

RULES = ROOT / "rules"
FINDING_DEADLINE = 2.0  # seconds from exec to finding (issue #6)
TOOL = shutil.which("true")
# the shipped rules as data: one "  - id:" line per rule in rules/*.yaml
SHIPPED = sum(line.startswith("  - id: ") for f in RULES.glob("*.yaml")
              for line in f.read_text().splitlines())


@pytest.fixture
def rules_d(tmp_path):
    d = tmp_path / "rules.d"
    d.mkdir()
    return d


@pytest.fixture
def det_agent(agent_factory, rules_d):
    """An agent on the repo's rules and a private rules.d (never /etc/ghostwatch)."""
    return agent_factory("--rules", str(RULES), "--rules-d", str(rules_d))


def install(tmp_path, name):
    """A copy of a small test program under the tool's name, in a directory of its own."""
    d = tmp_path / uuid.uuid4().hex[:8]
    d.mkdir()
    exe = d / name
    shutil.copy(TOOL, exe)
    return exe


def run(exe, *args):
    subprocess.run([str(exe), *args], check=False)
    return time.monotonic()


def finding_for(rule_id, subject):
    def pred(e):
        return (e.get("type") == "finding" and e["finding"]["rule_id"] == rule_id
                and e["finding"]["subject"] == subject)
    return pred


def exec_of_exe(exe):
    return lambda e: e.get("type") == "exec" and e["exec"]["process"]["exe"] == str(exe)


def wait_finding(agent, rule_id, subject, since):
    ev = agent.wait_for(finding_for(rule_id, subject), timeout=FINDING_DEADLINE + 1,
                        what=f"finding {rule_id} for {subject}")
    # the deadline is from the exec; the wait above has slack for a slow CI box only in failure
    # reporting, the latency itself is asserted here
    assert time.monotonic() - since <= FINDING_DEADLINE + 0.5, "finding came too late"
    return ev["finding"]


@pytest.mark.parametrize("name,argv,rules", [
    ("anydesk", [], ["GW-RMM-0101"]),
    ("rustdesk", ["--service"], ["GW-RMM-0201"]),
    ("TeamViewer_Desktop", ["--IPCport", "5939", "--Module", "1"], ["GW-RMM-0301", "GW-RMM-0305"]),
])
def test_rmm_tool_exec_raises_finding_with_evidence(det_agent, tmp_path, name, argv, rules):
    exe = install(tmp_path, name)
    t = run(exe, *argv)
    ex = det_agent.wait_for(exec_of_exe(exe), what=f"exec of {exe}")
    for rule_id in rules:
        f = wait_finding(det_agent, rule_id, str(exe), t)
        assert f["category"] == "rmm" and f["technique"] == "T1219"
        assert f["state"] == "new" and f["count"] == "1"
        assert f["process_id"] == ex["exec"]["process"]["process_id"]
        assert {"event_id": ex["event_id"], "kind": "exec"}.items() <= f["evidence"][0].items()
        assert int(f["host_score"]) > 0


def test_teamviewer_without_session_argv_is_not_a_session(det_agent, tmp_path):
    exe = install(tmp_path, "TeamViewer_Desktop")
    t = run(exe, "--IPCport", "5939")
    wait_finding(det_agent, "GW-RMM-0301", str(exe), t)
    time.sleep(0.5)
    assert not det_agent.find(finding_for("GW-RMM-0305", str(exe)))


def test_running_tool_is_one_finding_not_one_per_exec(det_agent, tmp_path):
    exe = install(tmp_path, "anydesk")
    t = run(exe)
    wait_finding(det_agent, "GW-RMM-0101", str(exe), t)
    for _ in range(5):
        run(exe)
    det_agent.wait_for(lambda e: e.get("type") == "exec"
                       and e["exec"]["process"]["exe"] == str(exe)
                       and len(det_agent.find(exec_of_exe(exe))) >= 6, what="six execs")
    time.sleep(0.5)
    assert len(det_agent.find(finding_for("GW-RMM-0101", str(exe)))) == 1


def test_several_rmm_vendors_combine_and_score_rises(det_agent, tmp_path):
    scores = []
    exec_ids = set()
    for name in ("anydesk", "rustdesk", "TeamViewer_Desktop"):
        exe = install(tmp_path, name)
        t = run(exe)
        ex = det_agent.wait_for(exec_of_exe(exe), what=f"exec of {exe}")
        exec_ids.add(ex["event_id"])
        rule = {"anydesk": "GW-RMM-0101", "rustdesk": "GW-RMM-0201",
                "TeamViewer_Desktop": "GW-RMM-0301"}[name]
        scores.append(int(wait_finding(det_agent, rule, str(exe), t)["host_score"]))

    def ours(e):
        if e.get("type") != "finding" or e["finding"]["rule_id"] != "GW-COMBO-0001":
            return False
        return exec_ids <= {ev["event_id"] for ev in e["finding"]["evidence"]}
    combo = det_agent.wait_for(ours, timeout=FINDING_DEADLINE, what="combination of 3 vendors")
    f = combo["finding"]
    assert f["category"] == "combination" and f["severity"] == "high"
    assert {"AnyDesk", "RustDesk", "TeamViewer"} <= set(f["subject"].split("+"))
    assert {"GW-RMM-0101", "GW-RMM-0201", "GW-RMM-0301"} <= set(f["related_rule_ids"])
    # other people's processes on this shared host may add vendors too: the score never falls
    # and ends higher than it started unless it is already saturated
    assert scores[0] <= scores[1] <= scores[2], scores
    assert scores[2] > scores[0] or scores[0] == 100, scores
    assert det_agent.find(lambda e: e.get("type") == "fraud_score"
                          and e["fraud_score"]["score"] >= scores[2])


@pytest.fixture
def astrill_layout(tmp_path):
    """The Astrill client at its real path, created for the test and removed after; when the host
    already has /usr/local/Astrill, a copy under a temporary root (name rules still apply)."""
    real = Path("/usr/local/Astrill")
    if real.exists() or os.geteuid() != 0:
        root = tmp_path / "root" / "usr" / "local" / "Astrill"
        root.mkdir(parents=True)
        shutil.copy(TOOL, root / "astrill")
        yield root / "astrill", False
        return
    real.mkdir(parents=True)
    try:
        shutil.copy(TOOL, real / "astrill")
        yield real / "astrill", True
    finally:
        shutil.rmtree(real, ignore_errors=True)


def test_astrill_autostart_raises_vpn_finding(det_agent, astrill_layout):
    exe, at_real_path = astrill_layout
    t = run(exe, "/autostart")
    f = wait_finding(det_agent, "GW-VPN-0002", str(exe), t)
    assert f["category"] == "vpn" and f["vendor"] == "Astrill" and f["severity"] == "high"
    wait_finding(det_agent, "GW-VPN-0001", str(exe), t)
    if at_real_path:
        # any binary of the client's install directory, whatever its name
        other = exe.parent / ("component-" + uuid.uuid4().hex[:6])
        shutil.copy(TOOL, other)
        g = wait_finding(det_agent, "GW-VPN-0001", str(other), run(other))
        assert g["matched"] == "exe path prefix /usr/local/Astrill/"


def test_benign_workstation_raises_no_finding(det_agent, tmp_path):
    """Shell, compiler, git, ssh to a closed local port, an HTTP client, apt: nothing fires."""
    m = "gw-benign-" + uuid.uuid4().hex[:8]
    (tmp_path / "hello.c").write_text("int main(void) { return 0; }\n")
    script = f"""
        cd {tmp_path}
        cc -o hello hello.c && ./hello
        git init -q repo && cd repo && git -c user.email=t@t -c user.name=t commit -q --allow-empty -m x
        cd {tmp_path}
        ssh -o BatchMode=yes -o ConnectTimeout=1 -o StrictHostKeyChecking=no -p 1 127.0.0.1 true
        /usr/bin/python3 -c 'import urllib.request as u
try: u.urlopen("http://127.0.0.1:9/", timeout=1)
except Exception: pass'
        apt-get --version >/dev/null
        ls -la >/dev/null; ps >/dev/null; true
    """
    p = subprocess.run(["/bin/sh", "-c", script, m], capture_output=True, timeout=60)
    sh = det_agent.wait_for(lambda e: e.get("type") == "exec"
                            and m in e["exec"]["process"].get("argv", []), what="benign shell")
    sh_pid = sh["exec"]["process"]["pid"]
    time.sleep(FINDING_DEADLINE)

    def in_scenario(e):
        if e.get("type") != "exec":
            return False
        proc = e["exec"]["process"]
        return proc["pid"] == sh_pid or any(a["pid"] == sh_pid
                                            for a in e["exec"].get("ancestors", []))
    ours = {e["event_id"] for e in det_agent.find(in_scenario)}
    assert len(ours) >= 6, f"scenario ran too little ({p.stderr[-500:]!r})"
    hits = [e["finding"] for e in det_agent.find(lambda e: e.get("type") == "finding")
            if ours & {ev["event_id"] for ev in e["finding"]["evidence"]}]
    assert not hits, hits


GOOD_SITE_RULE = """version: 1
rules:
  - id: SITE-0001
    title: in-house remote tool
    category: rmm
    vendor: SiteTool
    severity: high
    technique: T1219
    confidence: high
    sources: [site policy]
    match:
      exec:
        names: [{name}]
"""

BAD_FILES = [
    ("unknown-field.yaml", GOOD_SITE_RULE.format(name="x").replace("    confidence: high\n",
                                                                 "    confidence: high\n    colour: red\n"),
     "unknown-field.yaml:10: unknown field 'colour'"),
    ("syntax.yaml", "version: 1\nrules:\n  - id: X\n    title: [oops\n    category: rmm\n",
     "syntax.yaml:5: YAML syntax error"),
    ("huge.yaml", GOOD_SITE_RULE.format(name="a" * 5000), "huge.yaml:13: 'names' is 5000 bytes"),
]


def test_bad_rules_on_sighup_rejected_old_rules_stay(agent_factory, rules_d, tmp_path):
    (rules_d / "site.yaml").write_text(GOOD_SITE_RULE.format(name="gwsitetool"))
    agent = agent_factory("--rules", str(RULES), "--rules-d", str(rules_d))
    assert f"rules loaded: {SHIPPED + 1} rules" in agent.stderr
    exe = install(tmp_path, "gwsitetool")
    wait_finding(agent, "SITE-0001", str(exe), run(exe))

    for name, text, message in BAD_FILES:
        (rules_d / name).write_text(text)
        agent.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while message not in agent.stderr and time.monotonic() < deadline:
            time.sleep(0.05)
        assert message in agent.stderr, agent.stderr
        assert f"the previous {SHIPPED + 1} rules stay active" in agent.stderr
        (rules_d / name).unlink()
        # the old rules are live: the site rule and the shipped ones still fire
        exe = install(tmp_path, "gwsitetool")
        wait_finding(agent, "SITE-0001", str(exe), run(exe))
        exe = install(tmp_path, "anydesk")
        wait_finding(agent, "GW-RMM-0101", str(exe), run(exe))

    # a good file is taken on the next SIGHUP
    (rules_d / "site2.yaml").write_text(GOOD_SITE_RULE.format(name="gwsitetool2")
                                        .replace("SITE-0001", "SITE-0002"))
    agent.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while f"rules reloaded: {SHIPPED + 2} rules" not in agent.stderr and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f"rules reloaded: {SHIPPED + 2} rules" in agent.stderr, agent.stderr
    exe = install(tmp_path, "gwsitetool2")
    wait_finding(agent, "SITE-0002", str(exe), run(exe))
    rc, _ = agent.stop()
    assert rc == 0


def test_bad_user_rules_at_start_fall_back_to_shipped(agent_factory, rules_d, tmp_path):
    (rules_d / "bad.yaml").write_text("version: 1\nrules:\n  - id: B\n    bogus: 1\n")
    agent = agent_factory("--rules", str(RULES), "--rules-d", str(rules_d))
    assert "bad.yaml:4: unknown field 'bogus'" in agent.stderr
    assert "running with the shipped rules only" in agent.stderr
    exe = install(tmp_path, "anydesk")
    wait_finding(agent, "GW-RMM-0101", str(exe), run(exe))


def test_compact_view_highlights_findings(rules_d, tmp_path):
    exe = install(tmp_path, "anydesk")
    p = subprocess.Popen([str(AGENT), "debug", "--color=always", "--duration=4", "--rules",
                          str(RULES), "--rules-d", str(rules_d)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait until the hooks are live
        line = p.stderr.readline()
        if "live hooks" in line or not line:
            break
    run(exe)
    out, err = p.communicate(timeout=30)
    lines = [l for l in out.splitlines() if "GW-RMM-0101" in l and str(exe) in l]
    assert lines, out[-3000:]
    assert "FINDING" in lines[0] and "\033[" in lines[0]  # tagged and coloured
    assert "score=" in lines[0] and "evidence exec#" in lines[0]
    assert any("SCORE" in l and "host fraud score" in l for l in out.splitlines())


def test_tool_running_before_agent_is_found_at_start(agent_factory, rules_d, tmp_path):
    """The AnyDesk started last week: found from the /proc seed, evidence kind procfs."""
    d = tmp_path / "pre"
    d.mkdir()
    exe = d / "anydesk"
    shutil.copy(shutil.which("sleep"), exe)
    p = subprocess.Popen([str(exe), "60"])
    try:
        time.sleep(0.3)  # exec'd before the agent seeds
        agent = agent_factory("--rules", str(RULES), "--rules-d", str(rules_d))
        f = agent.wait_for(finding_for("GW-RMM-0101", str(exe)), timeout=FINDING_DEADLINE,
                           what="finding for the already running anydesk")["finding"]
        assert f["evidence"][0]["kind"] == "procfs" and f["evidence"][0]["event_id"] == "0"
        assert f["process_id"] != "0"
    finally:
        p.kill()
        p.wait()
