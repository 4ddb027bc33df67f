"""Executable identity beyond the name, end to end: the SHA-256 and the user-writable flag on exec
events (compared with hashlib and the file system), a rule matching a copied binary by its hash
whatever its name, and a big file hashed off the event path (its first exec "pending", the next
one carrying the hash, and a hash rule still raised for the first)."""
import hashlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import ROOT, counter  # noqa: E402
import pytest  # noqa: E402

FINDING_DEADLINE = 2.0

HASH_RULE = """version: 1
rules:
  - id: SITE-HASH-0001
    title: a known-bad binary by its hash
    category: rmm
    vendor: SiteHash
    severity: high
    technique: T1219
    confidence: high
    sources: [site policy]
    match:
      exec:
        sha256: [{hashes}]
"""


def sha256_of(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def start_agent(agent_factory, tmp_path, hashes=()):
    rules_d = tmp_path / "rules.d"
    rules_d.mkdir(exist_ok=True)
    if hashes:
        # upper case in the file: the rule loader keeps hashes in lower case
        (rules_d / "site.yaml").write_text(HASH_RULE.format(
            hashes=", ".join(h.upper() for h in hashes)))
    return agent_factory("--rules", str(ROOT / "rules"), "--rules-d", str(rules_d), "--no-forks")


def exec_process(agent, pid):
    return agent.wait_for(lambda e: e.get("type") == "exec"
                          and e["exec"]["process"]["pid"] == pid,
                          what=f"exec of pid {pid}")["exec"]["process"]


def run(path):
    p = subprocess.Popen([str(path)])
    p.wait()
    return p.pid


def unique_copy(directory, pad_to=0):
    """/usr/bin/true with a random tail (an ELF runs with trailing bytes): a hash nobody has."""
    path = Path(directory) / ("gwbin-" + uuid.uuid4().hex[:8])
    data = Path("/usr/bin/true").read_bytes() + os.urandom(64)
    path.write_bytes(data + b"\0" * max(0, pad_to - len(data)))
    path.chmod(0o755)
    return path


def test_exec_carries_sha256_and_user_writable(agent_factory, tmp_path):
    agent = start_agent(agent_factory, tmp_path)
    true = os.path.realpath("/usr/bin/true")
    p = exec_process(agent, run(true))
    assert p["exe"] == true
    assert p["exe_sha256"] == sha256_of(true) and p["exe_hash_state"] == "hashed", p
    assert not p.get("exe_user_writable", False), p
    # the same version again: from the cache
    p = exec_process(agent, run(true))
    assert p["exe_sha256"] == sha256_of(true), p
    copy = unique_copy("/tmp")
    try:
        p = exec_process(agent, run(copy))
        assert p["exe_sha256"] == sha256_of(copy) and p["exe_user_writable"] is True, p
    finally:
        copy.unlink()
    rc, stats = agent.stop()
    assert rc == 0
    assert counter(stats, "events", "exe_hash_cache_hits") >= 1
    assert counter(stats, "events", "exe_hashed") >= 2


def test_copied_binary_flagged_by_hash_whatever_its_name(agent_factory, tmp_path):
    copy = unique_copy("/tmp")
    try:
        agent = start_agent(agent_factory, tmp_path, [sha256_of(copy)])
        t = time.monotonic()
        pid = run(copy)
        f = agent.wait_for(lambda e: e.get("type") == "finding"
                           and e["finding"]["rule_id"] == "SITE-HASH-0001",
                           timeout=FINDING_DEADLINE + 1, what="the hash finding")["finding"]
        assert time.monotonic() - t <= FINDING_DEADLINE + 0.5, "finding came too late"
        assert f["matched"] == "exe sha256 " + sha256_of(copy), f
        assert f["process_id"] == exec_process(agent, pid)["process_id"]
        # the real /usr/bin/true, same code, other bytes: nothing
        run("/usr/bin/true")
        time.sleep(0.5)
        assert len(agent.find(lambda e: e.get("type") == "finding"
                              and e["finding"]["rule_id"] == "SITE-HASH-0001")) == 1
    finally:
        copy.unlink()


def test_big_file_hashed_off_the_event_path(agent_factory, tmp_path):
    big = unique_copy("/tmp", pad_to=3 << 20)
    try:
        agent = start_agent(agent_factory, tmp_path, [sha256_of(big)])
        p = exec_process(agent, run(big))
        assert p["exe_hash_state"] == "pending" and not p.get("exe_sha256"), p
        # the worker's hash reaches the rules for the process already run
        f = agent.wait_for(lambda e: e.get("type") == "finding"
                           and e["finding"]["rule_id"] == "SITE-HASH-0001",
                           timeout=FINDING_DEADLINE + 1, what="the late hash finding")["finding"]
        assert f["process_id"] == p["process_id"], f
        q = exec_process(agent, run(big))
        assert q["exe_sha256"] == sha256_of(big) and q["exe_hash_state"] == "hashed", q
        rc, stats = agent.stop()
        assert rc == 0
        assert counter(stats, "events", "exe_hashed_worker") >= 1
    finally:
        big.unlink()
