"""The fleet view shared through the JetStream key-value bucket, and the collector's fleet findings,
against a real nats-server (deploy/nats config, mTLS, per-user permissions) and real collectors.

Agents are played by tests/tools/gw-publish, which publishes what `ghostwatch run` publishes; its
--employee and --place options put an employee id and a Place in the batch header.
"""
import html.parser
import json
import re
import shutil
import signal
import struct
import subprocess
import threading
import time
import zlib
from pathlib import Path

import pytest

from fleet_harness import (PUBLISH, Collector, collector_binary, host, make_pki, publish,
                           single_node, wait_for)
from natsjs import NatsClient
from natsjs import NatsServer as OpenNats

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
    procs = []
    yield procs
    codes = [(c, c.stop()) for c in procs]
    for c, code in codes:
        assert code != 66, f"sanitizer report in the collector:\n{c.log_text()[-4000:]}"


def start_collector(started, *args, **kw):
    c = Collector(*args, **kw).start()
    started.append(c)
    return c


def gen(pki, url, host_id, seq_from, count, events, *extra):
    r = publish(pki, url, "gen", "--host", host_id, "--seq-from", str(seq_from), "--count",
                str(count), "--events", str(events), *extra, cert_host=host_id)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def event_keys(lines):
    return [(l["host_id"], l["batch_seq"], l["event_id"]) for l in lines]


def test_two_collectors_on_one_bucket_write_one_view(tmp_path, pki, nats, started):
    """Both collectors record batches of the same hosts (one fetch of 4 at a time, so the hosts'
    values are written by both in turn): compare-and-set on the revision makes every batch count
    once, and `report` is one consistent view with nothing merged."""
    c1 = start_collector(started, tmp_path / "c1", pki, nats.url, "--fetch", "4")
    c2 = start_collector(started, tmp_path / "c2", pki, nats.url, "--fetch", "4")
    n = 200
    threads = [threading.Thread(target=gen, args=(pki, nats.url, h, 1, n, 4))
               for h in ("host-a", "host-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_for(lambda: c1.report()["batches"] == 2 * n, 60, f"{2 * n} batches in the bucket",
             interval=0.3)
    rep = c1.report()
    assert rep == c2.report(), "two collectors, two views"
    for h in ("host-a", "host-b"):
        v = host(rep, h)
        assert (v["first_seq"], v["last_seq"], v["batches"], v["gaps"], v["repeats"]) == \
            (1, n, n, 0, 0), v
        assert v["events"] == n * 4
    n1 = {k[:2] for k in event_keys(c1.lines())}
    n2 = {k[:2] for k in event_keys(c2.lines())}
    # both collectors wrote batches of both hosts: each host's value was written by both
    for h in ("host-a", "host-b"):
        assert any(k[0] == h for k in n1) and any(k[0] == h for k in n2), (h, len(n1), len(n2))
    assert len(n1) + len(n2) == 2 * n and not n1 & n2


def test_a_batch_both_collectors_recorded_is_one_seq_and_a_repeat(tmp_path, pki, nats, started):
    """Two collectors on two durables both get (and write) every batch: whichever writes a
    host's value second finds the revision moved (compare-and-set refused), reads the value
    again and applies its batches onto it, so each sequence number is held once, the second
    arrival is a repeat, and no write of either collector is lost."""
    c1 = start_collector(started, tmp_path / "c1", pki, nats.url, durable="one")
    c2 = start_collector(started, tmp_path / "c2", pki, nats.url, durable="two")
    n = 30
    gen(pki, nats.url, "host-a", 1, n, 2)
    wait_for(lambda: host(c1.report(), "host-a") and
             host(c1.report(), "host-a")["repeats"] == n, 30, "every batch twice")
    a = host(c1.report(), "host-a")
    assert (a["batches"], a["repeats"], a["gaps"], a["last_seq"]) == (2 * n, n, 0, n), a
    assert len(c1.lines()) == len(c2.lines()) == n * 2  # each durable's copy written once
    for c in (c1, c2):
        assert c.stop() == 0
        started.remove(c)
    conflicts = [int(re.search(r"exit: .*bucket_conflicts=(\d+)", c.log_text()).group(1))
                 for c in (c1, c2)]
    assert sum(conflicts) > 0, conflicts


def test_a_collector_killed_under_load_leaves_no_false_gaps(tmp_path, pki, nats, started):
    """SIGKILL while batches pour in, twice: whatever was acked is in the bucket already, what was
    not comes back (ack wait 2 s) to the next collector, so `report` shows every batch that
    arrived and no gap."""
    total, events = 600, 3
    def agent():  # a steady trickle, as agents send
        for seq in range(1, total + 1, 10):
            gen(pki, nats.url, "host-a", seq, 10, events)
            time.sleep(0.02)

    pub = threading.Thread(target=agent)
    for i in range(2):
        col = Collector(tmp_path / f"col{i}", pki, nats.url, "--fetch", "4", "--ack-wait",
                        "2").start()
        if i == 0:
            pub.start()  # the first collector made the stream
        wait_for(lambda: (col.report(may_fail=True) or {"batches": 0})["batches"] > 0, 30,
                 "the collector consuming")
        time.sleep(0.3)
        col.proc.send_signal(signal.SIGKILL)
        col.proc.wait(10)
        col.logf.close()
        seen = col.report()["batches"]
        assert 0 < seen < total, f"kill {i}: {seen} batches; the publisher was too fast"
    pub.join()
    last = start_collector(started, tmp_path / "last", pki, nats.url, "--fetch", "4",
                           "--ack-wait", "2")
    wait_for(lambda: last.report()["batches"] == total, 60, f"all {total} batches", interval=0.3)
    a = host(last.report(), "host-a")
    assert (a["first_seq"], a["last_seq"], a["gaps"], a["batches"]) == (1, total, 0, total), a
    table = subprocess.run([str(collector_binary()), "report", *last.conn], capture_output=True,
                           text=True, timeout=30).stdout
    assert "GAPS" in table
    row = next(l for l in table.splitlines() if l.startswith("host-a"))
    assert row.split()[7] == "0", row  # the GAPS column (LAST SEEN is two words)


def fleet_findings(col, rule):
    return [l for l in col.lines(containing=rule.encode())
            if l["type"] == "finding" and l["finding"]["rule_id"] == rule]


def test_a_laptop_farm_is_one_finding_on_each_of_its_hosts(tmp_path, pki, nats, started):
    """Three hosts of three employees behind one gateway (its MAC as the agents' keyed hash), one
    host of a fourth employee elsewhere: one laptop-farm finding on each of the three naming all
    three, none on the lone host; an IP-KVM seen by one of them makes it critical on all."""
    col = start_collector(started, tmp_path / "col", pki, nats.url)
    room = "gw=6f1e2d3c4b5a6978,tz=Europe/Warsaw,neigh=aa01:aa02:aa03:aa04"
    for h, emp in (("host-a", "emp-1"), ("host-b", "emp-2"), ("host-c", "emp-3")):
        gen(pki, nats.url, h, 1, 2, 2, "--employee", emp, "--place", room)
    gen(pki, nats.url, "host-d", 1, 2, 2, "--employee", "emp-4", "--place",
        "gw=0d0d0d0d0d0d0d0d,tz=Europe/Warsaw,neigh=dd01:dd02:dd03")
    wait_for(lambda: {l["host_id"] for l in fleet_findings(col, "GW-FLEET-LAPTOP-FARM")}
             == {"host-a", "host-b", "host-c"}, 30, "the farm's findings")
    time.sleep(1)  # anything more would come with the batches already stored
    farm = fleet_findings(col, "GW-FLEET-LAPTOP-FARM")
    latest = {l["host_id"]: l for l in farm}
    for h in ("host-a", "host-b", "host-c"):
        f = latest[h]["finding"]
        assert f["severity"] == "high" and f["category"] == "ipkvm", f
        for other in ("host-a (employee emp-1)", "host-b (employee emp-2)",
                      "host-c (employee emp-3)"):
            assert other in f["matched"], f["matched"]
        assert "gateway MAC hash 6f1e2d3c4b5a6978" in f["matched"]
        assert "4 LAN neighbours" in f["matched"]
        assert latest[h]["source"] == "collector"
    assert "host-d" not in {l["host_id"] for l in farm}
    assert "host-d" not in farm[-1]["finding"]["matched"]
    rep = col.report()
    for h in ("host-a", "host-b", "host-c"):
        v = host(rep, h)
        assert {"rule_id": "GW-FLEET-LAPTOP-FARM", "severity": "high", "count": 1} in \
            v["finding_rules"], v
        assert v["score"] >= 30 and v["employee_id"], v  # the fleet finding counts in the score
    d = host(rep, "host-d")
    assert d["finding_rules"] == [] and d["score"] == 0, d
    # each finding is raised once per membership: the same batches again raise nothing new
    gen(pki, nats.url, "host-a", 3, 1, 2, "--employee", "emp-1", "--place", room)
    wait_for(lambda: host(col.report(), "host-a")["batches"] == 3, 20, "host-a's third batch")
    assert len(fleet_findings(col, "GW-FLEET-LAPTOP-FARM")) == len(farm)

    # an IP-KVM maker's device on host-b's LAN: the farm is critical, on every member
    gen(pki, nats.url, "host-b", 3, 1, 2, "--employee", "emp-2", "--place", room + ",ipkvm=JetKVM")
    wait_for(lambda: {l["host_id"] for l in fleet_findings(col, "GW-FLEET-LAPTOP-FARM")
                      if l["finding"]["severity"] == "critical"} == {"host-a", "host-b", "host-c"},
             30, "the critical farm findings")
    crit = [l for l in fleet_findings(col, "GW-FLEET-LAPTOP-FARM")
            if l["finding"]["severity"] == "critical"]
    assert "IP-KVM evidence: host-b: IP-KVM on its LAN (JetKVM)" in crit[0]["finding"]["matched"]


def test_a_laptop_that_moved_or_is_not_where_declared(tmp_path, pki, nats, started):
    col = start_collector(started, tmp_path / "col", pki, nats.url)
    gen(pki, nats.url, "host-a", 1, 1, 2, "--employee", "emp-1", "--employee-tz",
        "America/New_York", "--place", "gw=1111111111111111,tz=America/New_York")
    wait_for(lambda: host(col.report(), "host-a"), 20, "host-a")
    time.sleep(0.5)
    assert fleet_findings(col, "GW-FLEET-MOVED") == []  # where it said, first place seen
    gen(pki, nats.url, "host-a", 2, 1, 2, "--employee", "emp-1", "--employee-tz",
        "America/New_York", "--place", "gw=2222222222222222,tz=Asia/Pyongyang")
    moved = wait_for(lambda: fleet_findings(col, "GW-FLEET-MOVED"), 20, "the moved finding")
    f = moved[-1]["finding"]
    assert f["severity"] == "high", f
    assert "gateway changed to one never seen for this host (2222222222222222)" in f["matched"]
    assert "timezone Asia/Pyongyang, the employee declared America/New_York" in f["matched"]
    assert host(col.report(), "host-a")["place"]["timezone"] == "Asia/Pyongyang"


class DomWalk(html.parser.HTMLParser):
    """The elements of a rendered DOM as (tag, attrs, text inside) in document order."""

    def __init__(self):
        super().__init__()
        self.elements, self.open = [], []

    def handle_starttag(self, tag, attrs):
        el = [tag, dict(attrs), ""]
        self.elements.append(el)
        if tag not in ("br", "meta", "img", "input", "link"):
            self.open.append(el)

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data):
        for el in self.open:
            el[2] += data

    def find(self, tag, cls=None):
        return [e for e in self.elements if e[0] == tag
                and (cls is None or cls in e[1].get("class", "").split())]


def png_distinct_bytes(path):
    """Distinct byte values in a PNG's decompressed image data: a blank (one-colour) page has at
    most a handful (the colour and the row filter bytes)."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    at, idat = 8, b""
    while at < len(data):
        n, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind == b"IDAT":
            idat += data[at + 8:at + 8 + n]
        at += 12 + n
    return len(set(zlib.decompress(idat)))


CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(CHROMIUM is None,
                    reason="SKIPPED LOUDLY: Debian's chromium is not installed (make deps)")
def test_the_html_report_renders_the_farm_in_a_real_browser(tmp_path, pki, nats, started):
    col = start_collector(started, tmp_path / "col", pki, nats.url)
    room = "gw=6f1e2d3c4b5a6978,tz=Europe/Warsaw,ipkvm=JetKVM"
    for h, emp in (("host-a", "emp-1"), ("host-b", "emp-2"), ("host-c", "emp-3")):
        gen(pki, nats.url, h, 1, 1, 2, "--employee", emp, "--place", room, "--hostname",
            f"laptop-{h}")
    evil = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>&amp;"
    gen(pki, nats.url, "host-d", 1, 2, 4, "--employee", "emp-4", "--detections", "--hostname",
        evil, "--place", "gw=0d0d0d0d0d0d0d0d,tz=America/New_York")
    wait_for(lambda: len({l["host_id"] for l in fleet_findings(col, "GW-FLEET-LAPTOP-FARM")})
             == 3, 30, "the farm's findings")
    page = tmp_path / "fleet.html"
    r = subprocess.run([str(collector_binary()), "report", *col.conn, "--html", str(page)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    source = page.read_text()
    assert not re.search(r"<(script|img|link|iframe|object)\b", source, re.I) and \
        "http" not in source, "the page must be self-contained and script-free"

    chrome = [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
              f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1400,1000"]
    dom = subprocess.run([*chrome, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120)
    assert dom.returncode == 0 and "<html" in dom.stdout, dom.stderr[-2000:]
    walk = DomWalk()
    walk.feed(dom.stdout)
    farms = walk.find("section", "farm")
    assert len(farms) == 1, farms
    assert farms[0][1]["data-hosts"].split() == ["host-a", "host-b", "host-c"]
    assert "critical" in farms[0][1]["class"]
    members = [e[2] for e in walk.find("li", "farm-host")]
    assert len(members) == 3 and all(f"laptop-host-{x}" in m for m, x in zip(members, "abc"))
    assert "employee emp-2" in members[1]
    rows = walk.find("tr", "host")
    assert [r[1]["id"] for r in rows][-1] == "host-host-d", "hosts are ranked by score"
    assert {r[1]["id"] for r in rows[:3]} == {"host-host-a", "host-host-b", "host-host-c"}
    # the hostile host name is text in the DOM, not an element, and ran nothing
    assert not walk.find("script") and not walk.find("img")
    assert [e[2] for e in walk.find("title")] == ["ghostwatch fleet"]
    assert evil in [e[2] for e in walk.find("span", "hostname")]
    # each finding with its evidence
    a_row = next(r for r in rows if r[1]["id"] == "host-host-a")
    evidence = [e[2] for e in walk.find("div", "evidence")]
    assert any("share gateway MAC hash 6f1e2d3c4b5a6978" in e and "host-c (employee emp-3)" in e
               for e in evidence), evidence
    assert "IP-KVM evidence" in a_row[2]
    d_row = next(r for r in rows if r[1]["id"] == "host-host-d")
    assert "rmm.anydesk" in d_row[2] and "usb:9f2c4e1ab7d03c55" in d_row[2]
    assert walk.find("p", None) and any(e[1].get("id") == "no-activity" for e in walk.elements)

    shot = tmp_path / "fleet.png"
    s = subprocess.run([*chrome, f"--screenshot={shot}", page.as_uri()], capture_output=True,
                       text=True, timeout=120)
    assert s.returncode == 0 and shot.exists(), s.stderr[-2000:]
    assert png_distinct_bytes(shot) > 32, "the screenshot is blank"


def test_hosts_of_different_employees_behind_one_address(tmp_path, pki, nats, started):
    """The server's client list (monitoring on loopback, as deploy/nats configures it) shows
    each agent's address and certificate user: one employee's two laptops at home are fine, a
    second employee's laptop from the same address is not."""
    col = start_collector(started, tmp_path / "col", pki, nats.url, "--nats-monitor",
                          nats.monitor_url, "--nats-monitor-interval", "1")
    gen(pki, nats.url, "host-a", 1, 1, 2, "--employee", "emp-1")
    gen(pki, nats.url, "host-c", 1, 1, 2, "--employee", "emp-1")
    wait_for(lambda: col.report()["batches"] == 2, 20, "2 batches")
    time.sleep(2.5)  # two reads of the client list
    assert fleet_findings(col, "GW-FLEET-SHARED-EGRESS") == []
    gen(pki, nats.url, "host-b", 1, 1, 2, "--employee", "emp-2")
    wait_for(lambda: {l["host_id"] for l in fleet_findings(col, "GW-FLEET-SHARED-EGRESS")}
             == {"host-a", "host-b", "host-c"}, 20, "the shared-egress findings")
    f = fleet_findings(col, "GW-FLEET-SHARED-EGRESS")[0]["finding"]
    assert f["subject"] == "127.0.0.1", f
    assert ("hosts host-a (employee emp-1), host-b (employee emp-2), host-c (employee emp-1) "
            "connect to NATS from 127.0.0.1") == f["matched"]
    time.sleep(1.5)
    assert len(fleet_findings(col, "GW-FLEET-SHARED-EGRESS")) == 3, "raised once per host"
    assert "ghostwatch-collector" not in f["matched"]
    b = host(col.report(), "host-b")
    assert {"rule_id": "GW-FLEET-SHARED-EGRESS", "severity": "medium", "count": 1} in \
        b["finding_rules"] and b["score"] == 15, b


def test_fleet_findings_are_published_for_subscribers(tmp_path, pki, started):
    """Whoever subscribes to ghostwatch.v1.fleet.findings (a SIEM bridge) gets each fleet finding
    as the same NDJSON line the collector writes. A nats-server without per-user permissions, so
    a test client may subscribe."""
    server = OpenNats(tmp_path, pki).start()
    sub = None
    try:
        col = start_collector(started, tmp_path / "col", pki, server.url)
        sub = NatsClient(server.port, pki / "ca.pem", pki / "collector.pem",
                         pki / "collector.key")
        sub._send(b"SUB ghostwatch.v1.fleet.findings 1\r\nPING\r\n")
        assert sub._line() == b"PONG"
        for h, emp in (("host-a", "emp-1"), ("host-b", "emp-2")):
            gen(pki, server.url, h, 1, 1, 2, "--employee", emp, "--place", "gw=abcdabcdabcdabcd")
        got = {}
        deadline = time.monotonic() + 20
        while len(got) < 2 and time.monotonic() < deadline:
            parts = sub._line().split()
            if parts and parts[0] == b"MSG":
                line = json.loads(sub._bytes(int(parts[-1])))
                got[line["host_id"]] = line
        assert set(got) == {"host-a", "host-b"}, got
        assert got["host-a"]["finding"]["rule_id"] == "GW-FLEET-LAPTOP-FARM"
        assert got["host-a"] in col.lines(containing=b"GW-FLEET-LAPTOP-FARM")
    finally:
        if sub:
            sub.close()
        for c in list(started):
            c.stop()
            started.remove(c)
        server.stop()
