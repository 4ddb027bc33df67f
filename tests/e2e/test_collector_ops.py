"""What an operator runs and watches on the collector, against real nats-server processes: the
Prometheus text and health check (scraped over HTTP with urllib, parsed strictly), and the hint
given when nats-server cannot reserve the stream's storage."""
import collections
import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from fleet_harness import (DEPLOY, PUBLISH, Collector, NatsServer, collector_binary, free_ports,
                           make_pki, publish, wait_for)

pytestmark = [
    pytest.mark.skipif(shutil.which("nats-server") is None,
                       reason="SKIPPED LOUDLY: nats-server is not installed (make deps)"),
    pytest.mark.skipif(not PUBLISH.exists() or not collector_binary().exists(),
                       reason="SKIPPED LOUDLY: build/ghostwatch-collector or build/tools/gw-publish "
                              "missing (make all asan)"),
]

PREFIX = "ghostwatch_collector_"
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*)?\}})? (\S+)$")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_prometheus(text):
    """Strict parse of the text exposition format: {(name, frozenset(labels)): value}. Every
    sample's family has # HELP and # TYPE before its first sample, each once."""
    assert text.endswith("\n"), "the exposition must end with a newline"
    helps, types, samples = {}, {}, {}
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP "):
            name, _, doc = line[7:].partition(" ")
            assert re.fullmatch(NAME, name) and doc and name not in helps, line
            helps[name] = doc
        elif line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            assert re.fullmatch(NAME, name) and typ in TYPES and name not in types, line
            assert name in helps, f"TYPE before HELP: {line}"
            types[name] = typ
        else:
            assert not line.startswith("#") and line, f"unexpected line {line!r}"
            m = SAMPLE.match(line)
            assert m, f"not a sample: {line!r}"
            name, labels, value = m.groups()
            assert name in types, f"sample of an undeclared family: {line!r}"
            labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                          labels or ""))
            key = (name, labels)
            assert key not in samples, f"duplicate sample {line!r}"
            samples[key] = float(value)
            if types[name] == "counter":
                assert samples[key] >= 0, line
    return samples


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def scrape(base):
    status, ctype, body = get(base + "/metrics")
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4"), (status, ctype)
    return parse_prometheus(body)


def value(samples, name, **labels):
    return samples.get((PREFIX + name, frozenset(labels.items())))


@pytest.fixture
def pki(tmp_path):
    return make_pki(tmp_path / "pki")


def test_the_parser_refuses_what_prometheus_would():
    ok = "# HELP a_total x\n# TYPE a_total counter\na_total{r=\"q\\\"\"} 3\n"
    assert parse_prometheus(ok) == {("a_total", frozenset({("r", 'q\\"')})): 3.0}
    for bad in ("a_total 3\n",                                   # undeclared
                "# HELP a x\n# TYPE a gauge\na 3",               # no final newline
                "# TYPE a gauge\n# HELP a x\na 3\n",             # TYPE before HELP
                "# HELP a x\n# TYPE a gauge\na{b=c} 3\n",        # unquoted label
                "# HELP a x\n# TYPE a gauge\na 3\na 4\n",        # duplicate
                "# HELP a x\n# TYPE a gauge\na  3\n"):           # two spaces
        with pytest.raises(AssertionError):
            parse_prometheus(bad)


def test_metrics_and_health_follow_batches_rejections_and_the_connection(tmp_path, pki):
    (port, mport) = free_ports(2)
    nats = NatsServer(tmp_path / "nats", pki, DEPLOY / "nats" / "single.conf", port).start()
    col = None
    try:
        col = Collector(tmp_path / "col", pki, nats.url, "--metrics",
                        f"127.0.0.1:{mport}").start()
        base = f"http://127.0.0.1:{mport}"
        wait_for(lambda: get(base + "/healthz")[0] == 200, 10, "healthz ok")
        assert get(base + "/healthz")[2] == "ok\n"
        assert get(base + "/nope")[0] == 404
        before = scrape(base)
        assert value(before, "nats_connected") == 1
        assert value(before, "batches_total") == 0
        assert value(before, "last_ack_timestamp_seconds") == 0
        assert value(before, "rejected_batches_total", reason="bad_zlib") == 0
        assert value(before, "dead_letters_total") == 0

        t0 = time.time()
        r = publish(pki, nats.url, "gen", "--host", "host-a", "--count", "3", "--events", "7",
                    "--detections", cert_host="host-a")
        assert r.returncode == 0, r.stdout + r.stderr
        r = publish(pki, nats.url, "gen", "--host", "host-b", "--count", "2", "--events", "5",
                    cert_host="host-b")
        assert r.returncode == 0, r.stdout + r.stderr
        garbage = tmp_path / "garbage.bin"
        garbage.write_bytes(b"not zlib at all" * 10)
        r = publish(pki, nats.url, "file", "--subject", "ghostwatch.v1.telemetry.host-a",
                    str(garbage), cert_host="host-a")
        assert r.returncode == 0, r.stdout + r.stderr

        wait_for(lambda: value(scrape(base), "batches_total") == 5 and
                 value(scrape(base), "rejected_batches_total", reason="bad_zlib") == 1, 20,
                 "the metrics to count 5 batches and 1 rejection")
        after = scrape(base)
        assert value(after, "events_total") == 3 * 7 + 2 * 5
        assert value(after, "hosts") == 2
        assert value(after, "host_batches_total", host="host-a") == 3
        assert value(after, "host_batches_total", host="host-b") == 2
        assert value(after, "host_rejected_batches_total", host="host-a") == 1
        assert 0 <= value(after, "host_last_seen_age_seconds", host="host-b") < 30
        # --detections puts a fraud score in host-a's batches only
        assert value(after, "host_fraud_score", host="host-a") is not None
        assert value(after, "host_fraud_score", host="host-b") is None
        assert t0 - 1 <= value(after, "last_ack_timestamp_seconds") <= time.time() + 1
        assert value(after, "nats_reconnects_total") == 0

        # nats-server goes away: health degrades, and recovers with a counted reconnect
        nats.stop()
        wait_for(lambda: get(base + "/healthz")[0] == 503, 20, "healthz degraded")
        assert get(base + "/healthz")[2] == "degraded: no NATS connection\n"
        assert value(scrape(base), "nats_connected") == 0
        nats.start()
        wait_for(lambda: get(base + "/healthz")[0] == 200, 60, "healthz ok again")
        again = scrape(base)
        assert value(again, "nats_connected") == 1
        assert value(again, "nats_reconnects_total") >= 1
        assert value(again, "batches_total") == 5
    finally:
        code = col.stop() if col else None
        nats.stop()
    assert code == 0, col.log_text()[-3000:]


def test_a_bad_metrics_address_is_a_usage_error(tmp_path, pki):
    for bad in ("9464", "localhost:9464", "127.0.0.1:0", "127.0.0.1:70000", "[::1:9464"):
        r = subprocess.run([str(collector_binary()), "run", "--out-dir", str(tmp_path),
                            "--ca", "x", "--cert", "x", "--key", "x", "--metrics", bad],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 2 and "--metrics" in r.stderr, (bad, r.stderr)


def test_a_stream_larger_than_max_file_store_names_both_settings(tmp_path, pki):
    # the shipped config with too small a store: JetStream cannot reserve the stream's 10 GiB
    conf = tmp_path / "small.conf"
    conf.write_text(re.sub(r"max_file_store: \S+", "max_file_store: 1G",
                           (DEPLOY / "nats" / "single.conf").read_text()))
    (port,) = free_ports(1)
    nats = NatsServer(tmp_path / "nats", pki, conf, port).start()
    log = tmp_path / "collector.log"
    out = open(log, "wb")
    proc = subprocess.Popen([str(collector_binary()), "run", "--server", nats.url,
                             "--ca", str(pki / "ca.pem"), "--cert", str(pki / "collector.pem"),
                             "--key", str(pki / "collector.key"), "--out-dir",
                             str(tmp_path / "out")], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "cannot reserve" in log.read_text(errors="replace"), 30,
                 "the storage hint")
        text = log.read_text(errors="replace")
        assert "jetstream.max_file_store" in text and "--max-stream-bytes" in text, text
        assert str(10 << 30) in text, text
    finally:
        proc.terminate()
        code = proc.wait(20)
        out.close()
        nats.stop()
    assert code == 0, log.read_text()[-3000:]

    # the shipped examples leave room for the default stream
    for f in [DEPLOY / "nats" / "single.conf", *(DEPLOY / "nats" / "cluster").glob("*.conf")]:
        m = re.search(r"max_file_store: (\d+)G", f.read_text())
        assert m and int(m.group(1)) > 10, f


def read(pki, url, *args):
    r = subprocess.run([str(collector_binary()), "read", "--server", url, "--ca",
                        str(pki / "ca.pem"), "--cert", str(pki / "collector.pem"), "--key",
                        str(pki / "collector.key"), *args], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return [json.loads(l) for l in r.stdout.splitlines()]


def test_read_prints_the_stream_back_without_touching_the_durable(tmp_path, pki):
    (port,) = free_ports(1)
    nats = NatsServer(tmp_path / "nats", pki, DEPLOY / "nats" / "single.conf", port).start()
    col = None
    try:
        # the stream exists once a collector started; it then stops, leaving its durable behind
        first = Collector(tmp_path / "col0", pki, nats.url).start()
        assert first.stop() == 0
        assert publish(pki, nats.url, "gen", "--host", "host-a", "--count", "3", "--events",
                       "7", cert_host="host-a").returncode == 0
        time.sleep(1.2)
        between = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 0.1))
        time.sleep(1)
        assert publish(pki, nats.url, "gen", "--host", "host-b", "--count", "2", "--events",
                       "5", cert_host="host-b").returncode == 0
        garbage = tmp_path / "garbage.bin"
        garbage.write_bytes(b"not zlib" * 20)
        assert publish(pki, nats.url, "file", "--subject", "ghostwatch.v1.telemetry.host-b",
                       str(garbage), cert_host="host-b").returncode == 0

        everything = read(pki, nats.url)
        events = [l for l in everything if l["type"] != "rejected"]
        (bad,) = [l for l in everything if l["type"] == "rejected"]
        assert len(events) == 3 * 7 + 2 * 5
        assert collections.Counter((l["host_id"], l["batch_seq"]) for l in events) == {
            ("host-a", "1"): 7, ("host-a", "2"): 7, ("host-a", "3"): 7,
            ("host-b", "1"): 5, ("host-b", "2"): 5}
        assert bad["reason"] == "bad_zlib" and bad["stream_seq"] == "6", bad
        assert bad["subject"] == "ghostwatch.v1.telemetry.host-b" and bad["bytes"] == 160

        only_b = read(pki, nats.url, "--host", "host-b")
        assert {l.get("host_id") for l in only_b} == {"host-b", None} and len(only_b) == 11
        assert read(pki, nats.url, "--host", "host-c") == []
        assert read(pki, nats.url, "--seq", "6") == [bad]
        assert {l["batch_seq"] for l in read(pki, nats.url, "--limit", "1")} == {"1"}
        assert len(read(pki, nats.url, "--limit", "1")) == 7
        assert read(pki, nats.url, "--since", "1h") == everything
        since = read(pki, nats.url, "--since", between)
        assert {l.get("host_id") for l in since} == {"host-b", None} and len(since) == 11

        # nothing was acked: the collector's durable still delivers every batch, once
        col = Collector(tmp_path / "col", pki, nats.url).start()
        wait_for(lambda: len(col.lines()) == 31, 20, "the collector to write every event")
        assert read(pki, nats.url) == everything
        time.sleep(1)
        assert len(col.lines()) == 31
    finally:
        code = col.stop() if col else None
        nats.stop()
    assert code == 0, col.log_text()[-3000:]


def test_read_usage_errors_exit_2(tmp_path):
    base = [str(collector_binary()), "read", "--ca", "x", "--cert", "x", "--key", "x"]
    for args in (["--since", "yesterday"], ["--since", "5w"], ["--host", "a.b"],
                 ["--seq", "0"], ["--seq", "3", "--since", "1h"], ["extra"]):
        r = subprocess.run(base + args, capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, (args, r.stderr)
    r = subprocess.run(base[:2], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "--ca, --cert and --key are required" in r.stderr
