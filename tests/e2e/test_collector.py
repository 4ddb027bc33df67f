"""The fleet collector against real nats-server processes on loopback: mutual TLS and per-host
publish rights, hostile batches, sequence gaps and repeats, two collectors sharing the durable
consumer, and a 3-node R3 cluster losing a node mid-stream.

Agents are played by tests/tools/gw-publish (build/tools/gw-publish), which publishes exactly
what `ghostwatch run` publishes: a zlib-compressed protobuf Batch on
ghostwatch.v1.telemetry.<host-id> with Nats-Msg-Id <host-id>:<seq>, over mTLS with the host's
certificate.
"""
import collections
import os
import shutil
import signal
import subprocess
import time
import zlib
from pathlib import Path

import pytest

from fleet_harness import (BUILD, PUBLISH, SYSTEM_BUNDLE, Collector, cluster, collector_binary,
                           host, make_pki, make_rogue_server_pki, ndjson_lines, publish,
                           published_counts, report_table, single_node, wait_for)
from natsjs import NatsClient

pytestmark = [
    pytest.mark.skipif(shutil.which("nats-server") is None,
                       reason="SKIPPED LOUDLY: nats-server is not installed (make deps)"),
    pytest.mark.skipif(not PUBLISH.exists() or not collector_binary().exists(),
                       reason="SKIPPED LOUDLY: build/ghostwatch-collector or build/tools/gw-publish "
                              "missing (make all asan)"),
]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def nats(tmp_path, pki):
    server = single_node(tmp_path, pki)
    yield server
    server.stop()


@pytest.fixture
def started():
    """Collectors a test starts; stopped at the end, and a sanitizer report fails the test."""
    procs = []
    yield procs
    codes = [(c, c.stop()) for c in procs]
    for c, code in codes:
        assert code != 66, f"sanitizer report in the collector:\n{c.log_text()[-4000:]}"


def start_collector(started, *args, **kw):
    c = Collector(*args, **kw).start()
    started.append(c)
    return c


def gen(pki, url, host_id, seq_from, count, events, *extra, cert_host=None):
    r = publish(pki, url, "gen", "--host", host_id, "--seq-from", str(seq_from), "--count",
                str(count), "--events", str(events), *extra, cert_host=cert_host or host_id)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def event_keys(lines):
    return [(l["host_id"], l["batch_seq"], l["event_id"]) for l in lines]


def test_batches_become_ndjson_attributed_to_their_host(tmp_path, pki, nats, started):
    # small fetches so the 40K size rotation (between fetched groups) happens several times
    col = start_collector(started, tmp_path / "col", pki, nats.url, "--max-file-bytes", "40K",
                          "--fetch", "2")
    gen(pki, nats.url, "host-a", 1, 12, 20, "--hostname", "laptop-a", "--detections")
    gen(pki, nats.url, "host-b", 1, 5, 20, "--hostname", "laptop-b")
    wait_for(lambda: col.report()["batches"] == 17, 30, "17 batches in the fleet view")

    lines = col.lines()
    assert len(lines) == 17 * 20
    assert len(set(event_keys(lines))) == len(lines), "an event was written twice"
    by_host = collections.Counter(l["host_id"] for l in lines)
    assert by_host == {"host-a": 240, "host-b": 100}
    first = next(l for l in lines if l["type"] in ("exec", "exit"))
    # keys are the proto field names, plus "type" (the Event.kind member) and the batch tags
    assert first["type"] in ("exec", "exit")
    proc = first[first["type"]]["process"]
    assert proc["exe"] == "/usr/bin/curl" and proc["argv"][0] == "curl"
    assert {"event_id", "time_ns", "host_id", "hostname", "batch_seq"} <= first.keys()
    assert {l["hostname"] for l in lines} == {"laptop-a", "laptop-b"}
    # size-based rotation happened and no line was split across files
    files = sorted((col.out).glob("events*.ndjson"))
    assert len(files) > 2, files

    rep = col.report()
    a = host(rep, "host-a")
    assert (a["first_seq"], a["last_seq"], a["gaps"], a["repeats"]) == (1, 12, 0, 0)
    assert a["types"] == {"exec": 108, "exit": 96, "device": 12, "finding": 12, "fraud_score": 12}
    # detections in the fleet view: the latest score, each rule that fired, the worst severity
    assert a["fraud_score"] == 12 and a["worst_severity"] == "high" and a["findings"] == 1
    assert a["finding_rules"] == [{"rule_id": "rmm.anydesk", "severity": "high", "count": 12}]
    assert a["devices"] == 1 and a["device_ids"] == ["usb:9f2c4e1ab7d03c55"]
    assert {l["type"] for l in lines} == {"exec", "exit", "device", "finding", "fraud_score"}
    f = next(l for l in lines if l["type"] == "finding")
    assert f["finding"]["rule_id"] == "rmm.anydesk" and f["host_id"] == "host-a"
    assert a["cert_identity"] == "host-a" and a["hostname"] == "laptop-a"
    table = report_table(col)
    assert "host-a" in table and "laptop-b" in table and "rejected: 0" in table

    # a hostile host name: kept exactly in the NDJSON (JSON-escaped), defanged in the table
    evil = "evil\x1b[2J\nname"
    gen(pki, nats.url, "host-c", 1, 1, 2, "--hostname", evil)
    wait_for(lambda: col.report()["batches"] == 18, 30, "host-c's batch")
    assert {l["hostname"] for l in col.lines() if l["host_id"] == "host-c"} == {evil}
    table = report_table(col)
    assert "\x1b" not in table and "evil?[2J?name" in table, table


AGENT = Path(os.environ.get("GW_AGENT", BUILD / "asan" / "ghostwatch"))


def agent_has_run_mode():
    if not AGENT.exists():
        return False
    r = subprocess.run([str(AGENT), "--help"], capture_output=True, text=True, timeout=10)
    return "\n  run " in r.stdout + r.stderr


@pytest.mark.skipif(not agent_has_run_mode(),
                    reason="SKIPPED LOUDLY: this build of ghostwatch has no `run` (fleet) mode yet; "
                           "the collector path is covered by gw-publish in the other tests")
@pytest.mark.skipif(os.geteuid() != 0, reason="SKIPPED LOUDLY: the agent needs root for BPF")
def test_real_agent_execs_reach_the_collector(tmp_path, pki, nats, started):
    """`ghostwatch run` on this host -> nats-server (deploy config, mTLS) -> collector NDJSON."""
    col = start_collector(started, tmp_path / "col", pki, nats.url)
    cfg = tmp_path / "agent.yaml"
    cfg.write_text(f"""collector:
  urls: [{nats.url}]
tls:
  cert: {pki}/agent-host-a.pem
  key: {pki}/agent-host-a.key
  ca: {pki}/ca.pem
host_id: host-a
spool:
  dir: {tmp_path}/spool
batch:
  window_seconds: 1
employee:
  id: emp-0042
  timezone: Europe/Warsaw
""")
    log = open(tmp_path / "agent.log", "wb")
    agent = subprocess.Popen([str(AGENT), "run", "--config", str(cfg)], stdout=log,
                             stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: b"live hooks" in (tmp_path / "agent.log").read_bytes(), 30,
                 "the agent's hooks to be live")
        marker = f"gw-collector-e2e-{os.getpid()}"
        for i in range(3):
            subprocess.run(["/bin/sh", "-c", f": {marker} {i}"], check=True)

        def marker_execs():
            return [l for l in col.lines(containing=marker.encode()) if l["type"] == "exec"
                    and marker in " ".join(l["exec"]["process"].get("argv", []))]
        execs = wait_for(lambda: len(marker_execs()) == 3 and marker_execs(), 60,
                         "the agent's execs in the collector's NDJSON", interval=0.5)
        assert {l["host_id"] for l in execs} == {"host-a"}
        assert all(l["exec"]["process"]["exe"] for l in execs)
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(15)
        log.close()
    rep = col.report()
    a = host(rep, "host-a")
    assert a["gaps"] == 0 and rep["rejected_total"] == 0, rep
    # whom the config says the device was issued to, and where they said they work
    assert (a["employee_id"], a["employee_timezone"]) == ("emp-0042", "Europe/Warsaw"), a


def test_clients_without_a_fleet_certificate_are_refused(tmp_path, pki, nats, started):
    col = start_collector(started, tmp_path / "col", pki, nats.url)
    no_cert = publish(pki, nats.url, "gen", "--host", "host-a", cert="none")
    assert no_cert.returncode == 3, no_cert.stdout + no_cert.stderr
    other_ca = publish(pki, nats.url, "gen", "--host", "host-a", cert="other-agent")
    assert other_ca.returncode == 3, other_ca.stdout + other_ca.stderr
    log = nats.log_text()
    assert "unknown authority" in log or "certificate" in log.lower(), log[-2000:]
    # the server still serves its own fleet
    gen(pki, nats.url, "host-a", 1, 2, 5)
    wait_for(lambda: col.report()["batches"] == 2, 20, "2 batches")
    assert len(col.lines()) == 10


def test_an_agent_cannot_publish_as_another_host(tmp_path, pki, nats, started):
    col = start_collector(started, tmp_path / "col", pki, nats.url)
    # host-a's certificate, host-b's subject (and host-a's own inbox, so only the publish
    # right is in question)
    r = publish(pki, nats.url, "gen", "--host", "host-b", "--count", "3", "--inbox-prefix",
                "_GW_INBOX.host-a", cert_host="host-a")
    assert r.returncode != 0
    assert published_counts(r.stdout)[1] == 0, r.stdout  # nothing acked by the stream
    assert 'Publish Violation - User "CN=host-a", Subject "ghostwatch.v1.telemetry.host-b"' \
        in nats.log_text()
    # nor listen on another host's inbox (where its publish acks would arrive)
    r = publish(pki, nats.url, "gen", "--host", "host-a", "--count", "1", "--inbox-prefix",
                "_GW_INBOX.host-b", cert_host="host-a")
    assert r.returncode != 0
    assert 'Subscription Violation - User "CN=host-a", Subject "_GW_INBOX.host-b' \
        in nats.log_text()
    gen(pki, nats.url, "host-a", 1, 1, 5)
    wait_for(lambda: col.report()["batches"] == 1, 20, "host-a's own batch")
    time.sleep(1)
    rep = col.report()
    assert host(rep, "host-b") is None, rep
    assert {l["host_id"] for l in col.lines()} == {"host-a"}


def test_an_agent_certificate_cannot_read_the_fleets_telemetry(tmp_path, pki, nats, started):
    gen_col = start_collector(started, tmp_path / "col", pki, nats.url)  # creates the stream
    gen(pki, nats.url, "host-a", 1, 2, 5)
    wait_for(lambda: gen_col.report()["batches"] == 2, 20, "2 batches")
    spy = Collector(tmp_path / "spy", pki, nats.url, durable="spy")
    spy.args[spy.args.index("--cert") + 1] = str(pki / "agent-host-b.pem")
    spy.args[spy.args.index("--key") + 1] = str(pki / "agent-host-b.key")
    spy.logf = open(spy.log, "ab")
    spy.proc = subprocess.Popen(spy.args, stdout=spy.logf, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: 'Violation - User "CN=host-b", Subject "$JS.API' in nats.log_text()
                 or "_GW_INBOX.collector" in nats.log_text(), 20,
                 "nats-server to refuse host-b the JetStream API")
        time.sleep(1)
        assert "bound to durable" not in spy.log_text()
        assert ndjson_lines(spy.out) == []
    finally:
        spy.stop()


def test_rotated_files_are_capped_and_lines_never_split(tmp_path, pki, nats, started):
    col = start_collector(started, tmp_path / "col", pki, nats.url, "--max-file-bytes", "8K",
                          "--keep", "2", "--fetch", "1")
    gen(pki, nats.url, "host-a", 1, 30, 10)
    wait_for(lambda: col.report()["batches"] == 30, 20, "30 batches")
    files = sorted(col.out.glob("*.ndjson"))
    assert len(files) == 3, files  # the live file and the 2 newest rotated ones
    lines = ndjson_lines(col.out)  # every file ends on a whole line
    assert 0 < len(lines) < 300
    # rotation happens between batches: each file holds whole batches
    for f in files:
        seqs = collections.Counter(l["batch_seq"] for l in ndjson_lines_of(f))
        assert set(seqs.values()) == {10}, (f, seqs)


def ndjson_lines_of(path):
    import json
    return [json.loads(l) for l in path.read_bytes().splitlines()]


def pb_varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pb_field(num, payload):
    return pb_varint(num << 3 | 2) + pb_varint(len(payload)) + payload


def test_hostile_batches_are_rejected_counted_and_the_collector_keeps_serving(tmp_path, pki,
                                                                               nats, started):
    # The stream is created with the default 4 MiB message cap, so the collector's own smaller
    # caps below are what stops the oversized message (the stream's cap is checked further down).
    first = start_collector(started, tmp_path / "col0", pki, nats.url)
    assert first.stop() == 0
    started.remove(first)
    col = start_collector(started, tmp_path / "col", pki, nats.url, "--max-batch-bytes", "64K",
                          "--max-inflated-bytes", "1M", "--max-decode-bytes", "8M",
                          "--max-events", "1000")
    work = tmp_path / "batches"
    work.mkdir()
    # a real batch to start from (host-a seq 1, 10 events), written but not published
    r = publish(pki, nats.url, "gen", "--host", "host-a", "--count", "1", "--events", "10",
                "--no-publish", "--out", str(work))
    assert r.returncode == 0, r.stderr
    good = (work / "host-a-1.bin").read_bytes()
    raw = (work / "host-a-1.pb").read_bytes()
    r = publish(pki, nats.url, "gen", "--host", "host-b", "--count", "1", "--events", "3",
                "--no-publish", "--out", str(work))
    other_host = (work / "host-b-1.bin").read_bytes()
    host_a = pb_field(1, pb_field(1, b"host-a"))
    seq1 = b"\x10\x01"
    hostile = {
        "garbage": (os.urandom(3000), "host-a:1", "bad_zlib"),
        "truncated": (good[: len(good) // 2], "host-a:1", "bad_zlib"),
        "trailing": (good + b"junk", "host-a:1", "bad_zlib"),
        "not_compressed": (raw, "host-a:1", "bad_zlib"),
        "oversized": (os.urandom(100 * 1024), "host-a:1", "too_large"),
        "zlib_bomb": (zlib.compress(b"\0" * (48 << 20), 9), "host-a:1", "inflate_cap"),
        "not_protobuf": (zlib.compress(b"\xff" * 500), "host-a:1", "bad_protobuf"),
        "no_host": (zlib.compress(seq1), "host-a:1", "no_host"),
        "bad_host_id": (zlib.compress(pb_field(1, pb_field(1, b"host-a.x")) + seq1),
                        "host-a.x:1", "bad_host_id"),
        "seq_zero": (zlib.compress(host_a), "host-a:0", "bad_seq"),
        "other_hosts_batch": (other_host, "host-b:1", "host_mismatch"),
        "wrong_msg_id": (good, "host-a:999", "bad_msg_id"),
        # one exec with 300k empty ancestors: 600 KB inflated, ~20 MB once decoded
        "decode_memory": (zlib.compress(host_a + seq1 + pb_field(
            5, pb_field(10, b"\x1a\x00" * 300000))), "host-a:1", "decode_memory"),
        "too_many_events": (zlib.compress(host_a + seq1 + b"\x2a\x00" * 2000), "host-a:1",
                            "too_many_events"),
    }
    expected = collections.Counter()
    for name, (data, msg_id, reason) in hostile.items():
        f = work / f"{name}.bin"
        f.write_bytes(data)
        # distinct Nats-Msg-Ids where the id is not what is under test, so the stream's
        # de-duplication does not swallow them
        mid = msg_id if reason in ("bad_msg_id", "bad_host_id", "bad_seq") else None
        args = ["file", "--subject", "ghostwatch.v1.telemetry.host-a", str(f)]
        if mid:
            args[3:3] = ["--msg-id", mid]
        r = publish(pki, nats.url, *args, cert_host="host-a")
        assert r.returncode == 0, f"{name}: {r.stdout} {r.stderr}"
        expected[reason] += 1

    # the stream itself refuses what is over its own cap (4 MiB here), nothing reaches anyone
    (work / "huge.bin").write_bytes(os.urandom(5 << 20))
    r = publish(pki, nats.url, "file", "--subject", "ghostwatch.v1.telemetry.host-a",
                str(work / "huge.bin"), cert_host="host-a")
    assert r.returncode != 0 and published_counts(r.stdout)[1] == 0, r.stdout + r.stderr

    gen(pki, nats.url, "host-a", 1, 5, 10)  # good batches after all of that
    # a good batch with one undecodable event inside (an ancestor whose comm, a string, comes as a
    # varint): the batch is kept, that event counted
    r = publish(pki, nats.url, "gen", "--host", "host-a", "--seq-from", "6", "--count", "1",
                "--events", "10", "--no-publish", "--out", str(work))
    assert r.returncode == 0, r.stderr
    spoiled = (work / "host-a-6.pb").read_bytes() + pb_field(5, pb_field(10, b"\x1a\x02\x28\x07"))
    (work / "spoiled.bin").write_bytes(zlib.compress(spoiled))
    r = publish(pki, nats.url, "file", "--subject", "ghostwatch.v1.telemetry.host-a",
                "--msg-id", "host-a:6", str(work / "spoiled.bin"), cert_host="host-a")
    assert r.returncode == 0, r.stdout + r.stderr
    wait_for(lambda: col.report()["batches"] == 6, 30, "the 6 good batches")
    wait_for(lambda: col.report()["rejected_total"] >= sum(expected.values()), 30,
             "every hostile batch counted")
    rep = col.report()
    for reason, n in expected.items():
        assert rep["rejected"][reason] >= n, (reason, rep["rejected"])
    # messages without a Msg-Id (most of the above) are rejected for their first fault found
    assert rep["rejected_total"] == len(hostile), rep["rejected"]
    a = host(rep, "host-a")
    assert a["rejected"] == len(hostile) and a["batches"] == 6 and a["gaps"] == 0
    assert a["undecodable_events"] == 1 and rep["undecodable_events"] == 1
    assert len(col.lines()) == 60
    assert col.alive()
    log = col.log_text()
    assert "inflate_cap" in log and "host_mismatch" in log
    table = report_table(col)
    assert f"rejected: {len(hostile)}" in table


def test_sequence_gaps_and_repeats_are_reported(tmp_path, pki, nats, started):
    # a 3 s duplicate window so a late re-send gets past the stream's de-duplication
    col = start_collector(started, tmp_path / "col", pki, nats.url, "--duplicate-window", "3")
    gen(pki, nats.url, "host-c", 1, 12, 4, "--skip", "4,7,8")
    # a re-send inside the window is dropped by JetStream itself ...
    r = gen(pki, nats.url, "host-c", 5, 1, 4)
    assert published_counts(r.stdout)[3] == 1, r.stdout
    wait_for(lambda: col.report()["batches"] == 9, 20, "9 batches")
    time.sleep(3.5)
    # ... one after it reaches the collector, which counts it and does not write it again
    r = gen(pki, nats.url, "host-c", 5, 1, 4)
    assert published_counts(r.stdout)[3] == 0, r.stdout
    wait_for(lambda: host(col.report(), "host-c")["repeats"] == 1, 20, "the repeat")
    c = host(col.report(), "host-c")
    assert c["gaps"] == 3 and c["missing"] == [[4, 4], [7, 8]], c
    assert (c["first_seq"], c["last_seq"], c["batches"]) == (1, 12, 9)
    assert len(col.lines()) == 9 * 4
    assert len(set(event_keys(col.lines()))) == 9 * 4
    # the lost batches arrive late (an agent's spool catching up): the gap closes
    gen(pki, nats.url, "host-c", 7, 2, 4)
    wait_for(lambda: host(col.report(), "host-c")["gaps"] == 1, 20, "the gap to shrink")
    table = report_table(col)
    row = next(l for l in table.splitlines() if l.startswith("host-c"))
    assert row.split()[3:5] == ["1-12", "11"] or "1-12" in row, row


def test_state_survives_a_collector_restart(tmp_path, pki, nats, started):
    col = start_collector(started, tmp_path / "col", pki, nats.url)
    gen(pki, nats.url, "host-a", 1, 5, 3)
    wait_for(lambda: col.report()["batches"] == 5, 20, "5 batches")
    assert col.stop() == 0
    started.remove(col)
    gen(pki, nats.url, "host-a", 6, 5, 3)  # published while no collector runs
    col2 = start_collector(started, tmp_path / "col", pki, nats.url)
    wait_for(lambda: col2.report()["batches"] == 10, 20, "10 batches after the restart")
    a = host(col2.report(), "host-a")
    assert (a["gaps"], a["repeats"], a["last_seq"]) == (0, 0, 10)
    assert len(col2.lines()) == 30


def test_a_bucket_value_it_cannot_read_is_replaced_and_the_collector_serves(tmp_path, pki, nats,
                                                                           started):
    """A value in the fleet bucket no collector wrote (damaged, or another program's) must not keep
    the service down: it is skipped when the view is read, said, and replaced when its host's
    next batch is recorded."""
    col = start_collector(started, tmp_path / "col", pki, nats.url)  # creates the bucket
    assert col.stop() == 0
    started.remove(col)
    client = NatsClient(nats.port, pki / "ca.pem", pki / "collector.pem", pki / "collector.key",
                        inbox="_GW_INBOX.collector.test")
    try:
        _, ack = client.request("$KV.GHOSTWATCH_FLEET.host.host-a", b"v1 batches=3 events=9\n")
        assert b'"seq"' in ack, ack
    finally:
        client.close()
    col = start_collector(started, tmp_path / "col2", pki, nats.url)
    assert "1 values that are not a collector's skipped" in col.log_text()
    gen(pki, nats.url, "host-a", 1, 2, 3)
    wait_for(lambda: col.report()["batches"] == 2, 20, "2 batches")
    a = host(col.report(), "host-a")
    assert (a["first_seq"], a["last_seq"], a["gaps"]) == (1, 2, 0)
    assert "host.host-a in the fleet bucket is not a host value: replaced" in col.log_text()


def test_two_collectors_share_the_durable_consumer(tmp_path, pki, nats, started):
    c1 = start_collector(started, tmp_path / "c1", pki, nats.url, "--fetch", "8")
    c2 = start_collector(started, tmp_path / "c2", pki, nats.url, "--fetch", "8")
    n = 300
    gen(pki, nats.url, "host-a", 1, n, 10)
    gen(pki, nats.url, "host-b", 1, n, 10)
    wait_for(lambda: c1.report()["batches"] == 2 * n, 60,
             f"{2 * n} batches across both collectors", interval=0.3)
    # one bucket, one view: both collectors' reports are the same document
    merged = c1.report()
    assert c2.report()["hosts"] == merged["hosts"]
    assert c1.lines() and c2.lines(), "one collector got all the work"
    for h in ("host-a", "host-b"):
        m = host(merged, h)
        assert (m["first_seq"], m["last_seq"], m["gaps"], m["repeats"]) == (1, n, 0, 0), m
    keys = event_keys(c1.lines()) + event_keys(c2.lines())
    assert len(keys) == 2 * n * 10
    assert len(set(keys)) == len(keys), "an event was delivered to both collectors"


SANITIZER_REPORTS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "SEGV")


def race_widener(tmp_path):
    """Collector environment that preloads slow_nats_msg.c (see there), or None without a
    compiler."""
    cc = shutil.which("cc")
    if cc is None:
        return None
    so = tmp_path / "slow_nats_msg.so"
    subprocess.run([cc, "-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-o", str(so),
                    str(Path(__file__).resolve().parent / "slow_nats_msg.c"), "-ldl"], check=True)
    # the ASan runtime insists on coming first; a preload that only sleeps does not need that
    return {"LD_PRELOAD": str(so), "ASAN_OPTIONS": "verify_asan_link_order=0"}


def test_sigterm_while_fetched_messages_arrive_exits_cleanly(tmp_path, pki, nats, started):
    """SIGTERM while the collector consumes a deep stream, again and again: every stop exits 0
    with no sanitizer report. cnats 3.4 (nats.c#637) frees a subscription in
    natsSubscription_Destroy() or natsConnection_Close() while its read loop may be delivering a
    message to it. With the read loop slowed (race_widener), a fetch of 500 returns at its 1 s
    timeout with the rest of the pull request's messages still arriving, so stopping then
    destroyed the pull subscription under them; the collector now closes the connection first
    (cnats joins its read loop before the closed callback) and destroys the subscription after."""
    env = race_widener(tmp_path)
    if env is None:
        pytest.skip("SKIPPED LOUDLY: no C compiler for slow_nats_msg.so")
    # unacked messages of a stopped round come back after 1 s, not 30
    args = ("--fetch", "500", "--ack-wait", "1")
    first = start_collector(started, tmp_path / "first", pki, nats.url, *args)  # the stream
    assert first.stop() == 0
    started.remove(first)
    gen(pki, nats.url, "host-a", 1, 12000, 1)
    t_end = time.monotonic() + 60
    rounds = 0
    while rounds < 8 and time.monotonic() < t_end:
        col = start_collector(started, tmp_path / f"col{rounds}", pki, nats.url, *args, env=env)
        wait_for(lambda: "batch host-a seq" in col.log_text(), 20, "the collector consuming")
        t_stop = time.monotonic()
        rc = col.stop()
        stop_s = time.monotonic() - t_stop
        started.remove(col)
        log = col.log_text()
        assert rc == 0, f"round {rounds}: exit {rc}\n{log[-4000:]}"
        assert not any(s in log for s in SANITIZER_REPORTS), f"round {rounds}:\n{log[-4000:]}"
        assert "exit: batches=" in log
        assert stop_s < 8, f"round {rounds}: stopping took {stop_s:.1f} s"
        rounds += 1
    assert rounds >= 4, f"only {rounds} rounds in the time budget"


def test_cluster_losing_a_node_mid_stream_loses_nothing(tmp_path, pki, started):
    nodes = cluster(tmp_path, pki)
    try:
        urls = ",".join(n.url for n in nodes)
        # The collector is given only node 1, the one that dies: it must fail over to the
        # servers the cluster advertised to it (the agents' publisher knows all three).
        col = start_collector(started, tmp_path / "col", pki, nodes[0].url, "--replicas", "3")
        col.conn[1] = urls  # `report` reads the bucket from whichever node is up
        total, chunk, killed = 600, 50, False
        for seq in range(1, total + 1, chunk):
            if seq > total // 3 and not killed:
                wait_for(lambda: (col.report(may_fail=True) or {"batches": 0})["batches"] > 0,
                         30, "the collector consuming")
                nodes[0].kill()  # mid-stream, without warning
                killed = True
                t_kill = time.monotonic()
            # an agent re-sends what was not acked (its spool) until the stream has a leader
            # again (a raft election takes seconds); Nats-Msg-Id makes re-sending safe
            deadline = time.monotonic() + 60
            while True:
                r = publish(pki, urls, "gen", "--host", "host-d", "--seq-from", str(seq),
                            "--count", str(chunk), "--events", "5", cert_host="host-d")
                if r.returncode == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert r.returncode == 0, r.stdout + r.stderr
        print(f"all batches acked {time.monotonic() - t_kill:.1f}s after the kill")
        wait_for(lambda: (col.report(may_fail=True) or {"batches": 0})["batches"] >= total, 90,
                 f"{total} batches", interval=0.5)
        d = host(wait_for(lambda: col.report(may_fail=True), 60, "a report"), "host-d")
        assert (d["first_seq"], d["last_seq"], d["gaps"]) == (1, total, 0), d
        keys = event_keys(col.lines())
        assert len(keys) == total * 5 and len(set(keys)) == len(keys)
        assert "JetStream" in nodes[1].log_text()
        log = col.log_text()
        assert "3 replicas" in log and "fleet bucket GHOSTWATCH_FLEET (file storage, 3 replicas)" in log
    finally:
        for n in nodes:
            n.stop()


def test_nothing_is_acked_before_it_is_on_disk(tmp_path, pki, nats, started):
    """The output filesystem fills up: the collector must not ack what it could not write, keep
    no half lines, and deliver everything once there is room again."""
    out = tmp_path / "col" / "out"
    out.mkdir(parents=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(out)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"SKIPPED LOUDLY: cannot mount a small tmpfs (need root): {r.stderr}")
    try:
        col = start_collector(started, tmp_path / "col", pki, nats.url, "--fetch", "4")
        gen(pki, nats.url, "host-a", 1, 40, 20)
        wait_for(lambda: "No space left on device" in col.log_text(), 20, "a full disk")
        time.sleep(1)
        written = len(col.lines())  # whole lines only, or ndjson_lines fails
        assert written < 40 * 20
        # the fleet view (saved every second) counts exactly what is on disk, nothing more
        wait_for(lambda: col.report()["batches"] * 20 == len(col.lines()), 10,
                 "the fleet view to match the disk")
        assert len(col.lines()) == written, "a batch was written while the disk was full"
        subprocess.run(["mount", "-o", "remount,size=16m", str(out)], check=True)
        wait_for(lambda: col.report()["batches"] == 40, 40, "every batch after the disk freed",
                 interval=0.3)
        keys = event_keys(col.lines())
        assert len(keys) == 40 * 20 and len(set(keys)) == len(keys)
        a = host(col.report(), "host-a")
        assert (a["gaps"], a["repeats"]) == (0, 0), a
        assert col.stop() == 0
        started.remove(col)
    finally:
        subprocess.run(["umount", "-l", str(out)], capture_output=True)


def vm_hwm_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_unknown_field_flood_is_refused_within_a_memory_bound(tmp_path, pki, nats, started):
    """One host floods batches of a few KB that each hold 3 million unknown fields (protobuf-c
    would keep every one, ~180 MB a batch): they are refused unread and counted, the collector
    stays small, and other hosts' batches still land."""
    first = start_collector(started, tmp_path / "col", pki, nats.url)
    assert first.stop() == 0
    started.remove(first)
    host_a = pb_field(1, pb_field(1, b"host-a"))
    unknown = b"\xf8\x06\x00" * 3_000_000  # field 111, varint 0
    work = tmp_path / "flood"
    work.mkdir()
    files = []
    for seq in range(1, 41):
        data = zlib.compress(host_a + b"\x10" + pb_varint(seq) + unknown, 9)
        assert len(data) < 16 << 10, len(data)
        f = work / f"flood-{seq}.bin"
        f.write_bytes(data)
        files.append(str(f))
    # all in the stream before the collector fetches, so they come in one group
    r = publish(pki, nats.url, "file", "--subject", "ghostwatch.v1.telemetry.host-a", *files,
                cert_host="host-a")
    assert r.returncode == 0 and published_counts(r.stdout)[1] == 40, r.stdout + r.stderr
    gen(pki, nats.url, "host-b", 1, 5, 10)
    col = start_collector(started, tmp_path / "col", pki, nats.url)
    wait_for(lambda: col.report()["rejected_total"] == 40, 60, "40 flood batches refused")
    wait_for(lambda: col.report()["batches"] == 5, 30, "host-b's 5 batches")
    rep = col.report()
    assert rep["rejected"]["unknown_field"] == 40, rep["rejected"]
    assert host(rep, "host-a")["rejected"] == 40 and host(rep, "host-b")["batches"] == 5
    assert len(col.lines()) == 50
    peak_mib = vm_hwm_kib(col.proc.pid) / 1024
    print(f"# collector peak RSS {peak_mib:.0f} MiB after 40 flood batches")
    # the inflated 9 MB of one batch at a time, never its decoded form (~180 MB each)
    assert peak_mib < 256, f"collector peaked at {peak_mib:.0f} MiB"
    assert "unknown_field" in col.log_text()


def test_a_message_never_settled_becomes_a_counted_dead_letter(tmp_path, pki, nats, started):
    from natsjs import NatsClient
    args = ("--ack-wait", "1", "--max-deliver", "2")
    first = start_collector(started, tmp_path / "col", pki, nats.url, *args)
    assert first.stop() == 0
    started.remove(first)
    gen(pki, nats.url, "host-a", 1, 1, 10)
    # a collector that took it and died before settling it: one delivery, never acked
    c = NatsClient(nats.port, pki / "ca.pem", pki / "collector.pem", pki / "collector.key",
                   inbox="_GW_INBOX.collector.test")
    try:
        _, data = c.request("$JS.API.CONSUMER.MSG.NEXT.GHOSTWATCH.ghostwatch-collector",
                            b'{"batch":1,"expires":2000000000}')
        assert data, "the test client got no message"
    finally:
        c.close()
    time.sleep(1.5)
    col = start_collector(started, tmp_path / "col", pki, nats.url, *args)
    wait_for(lambda: col.report()["rejected"].get("dead_letter") == 1, 30, "the dead letter")
    gen(pki, nats.url, "host-b", 1, 2, 10)
    wait_for(lambda: col.report()["batches"] == 2, 30, "host-b's batches after it")
    rep = col.report()
    assert host(rep, "host-a")["rejected"] == 1 and len(col.lines()) == 20
    assert "dead_letter" in col.log_text() and "kept in the stream as message 1" in col.log_text()


def test_a_flooding_host_evicts_only_its_own_batches(tmp_path, pki, nats, started):
    """The stream holds at most --max-msgs-per-host batches per host subject: a host that
    publishes far more than the stream's bytes cannot push another host's batches out."""
    args = ("--max-msgs-per-host", "5", "--max-stream-bytes", "64K", "--max-batch-bytes", "16K")
    first = start_collector(started, tmp_path / "col", pki, nats.url, *args)
    assert first.stop() == 0
    started.remove(first)
    gen(pki, nats.url, "host-b", 1, 2, 20)
    gen(pki, nats.url, "host-a", 1, 150, 20)
    col = start_collector(started, tmp_path / "col", pki, nats.url, *args)
    wait_for(lambda: host(col.report(), "host-b") and host(col.report(), "host-b")["batches"] == 2,
             30, "host-b's 2 batches")
    wait_for(lambda: host(col.report(), "host-a") and host(col.report(), "host-a")["batches"] == 5,
             30, "host-a's last 5")
    time.sleep(1)
    a = host(col.report(), "host-a")
    assert a["batches"] == 5 and a["first_seq"] == 146, a


@pytest.mark.parametrize("name", ["collector", "ghostwatch-collector", "Collector", "_GW_x"])
def test_reserved_host_ids_cannot_be_enrolled(tmp_path, name):
    from fleet_harness import DEPLOY
    r = subprocess.run([str(DEPLOY / "nats" / "gen-accounts.sh"), "host-a", name],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "reserved" in r.stderr and r.stdout == "", r
    r = subprocess.run([str(DEPLOY / "pki" / "make-test-ca.sh"), str(tmp_path / "pki"), name],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "reserved" in r.stderr, r
    assert not (tmp_path / "pki" / f"agent-{name}.pem").exists()


@pytest.mark.skipif(not SYSTEM_BUNDLE.exists(), reason="SKIPPED LOUDLY: no system CA bundle")
def test_a_server_certificate_from_a_system_trusted_ca_is_refused(tmp_path, pki):
    """A nats-server whose certificate comes from a CA the system trusts, not the fleet CA: the
    collector must not connect (libnats would load the system store next to the fleet CA)."""
    rogue = make_rogue_server_pki(tmp_path, pki)
    saved = SYSTEM_BUNDLE.read_bytes()
    server = col = None
    try:
        SYSTEM_BUNDLE.write_bytes(saved + (rogue / "rogue-ca.pem").read_bytes())
        r = subprocess.run(["openssl", "verify", str(rogue / "server.pem")], capture_output=True,
                           text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        server = single_node(tmp_path, rogue)
        col = Collector(tmp_path / "col", pki, server.url)
        col.logf = open(col.log, "ab")
        col.proc = subprocess.Popen(col.args, stdout=col.logf, stderr=subprocess.STDOUT)
        wait_for(lambda: col.log_text().count("retrying in") >= 2, 30, "refused connections")
        assert "with mutual TLS" not in col.log_text(), col.log_text()[-2000:]
        assert "unable to get local issuer certificate" in col.log_text(), col.log_text()[-2000:]
    finally:
        SYSTEM_BUNDLE.write_bytes(saved)
        if col:
            assert col.stop() in (0, None)
        if server:
            server.stop()
