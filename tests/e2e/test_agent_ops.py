"""The agent's ops endpoint (metrics.listen) end to end: the real agent with its BPF hooks, scraped
with urllib (and over a unix socket with http.client), the text parsed strictly as the Prometheus
text format; an exec counter that grows with 20 runs of /bin/true; /healthz; `ghostwatch status`
naming the same numbers; the fleet transport's spool and ack numbers against a real nats-server,
including a collector outage (backlog and the oldest unacked batch's age grow, then drain).
"""
import http.client
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import AGENT, exec_of  # noqa: E402
from natsjs import NatsServer, free_port, make_pki  # noqa: E402
from test_fleet_agent import HOST, FleetAgent, client, write_config  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="SKIPPED LOUDLY: the agent needs root for BPF")

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"')
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_prometheus(text):
    """{(name, ((label, value), ...)): float}, refusing anything the text format does not allow:
    each family's HELP and TYPE once and before its samples, valid names and label syntax,
    no sample twice, float values, counters never negative."""
    assert text.endswith("\n"), "the text must end with a newline"
    types, helps, samples = {}, set(), {}
    for n, line in enumerate(text[:-1].split("\n"), 1):
        where = f"line {n}: {line!r}"
        if line.startswith("#"):
            m = re.fullmatch(r"# (HELP|TYPE) (\S+) (.*)", line)
            assert m, where
            kind, name, rest = m.groups()
            assert NAME.fullmatch(name), where
            if kind == "HELP":
                assert name not in helps, "HELP twice: " + where
                assert rest.strip(), "empty HELP: " + where
                helps.add(name)
            else:
                assert name not in types, "TYPE twice: " + where
                assert rest in TYPES, where
                assert not any(k[0] == name for k in samples), "TYPE after samples: " + where
                types[name] = rest
            continue
        m = re.fullmatch(r"([^{ ]+)(?:\{(.*)\})? (\S+)", line)
        assert m, where
        name, labels, value = m.groups()
        assert NAME.fullmatch(name), where
        assert name in types and name in helps, "sample without HELP and TYPE: " + where
        pairs = []
        if labels:
            pos = 0
            while pos < len(labels):
                lm = LABEL.match(labels, pos)
                assert lm, "bad label syntax: " + where
                pairs.append((lm.group(1), lm.group(2)))
                pos = lm.end()
                if pos < len(labels):
                    assert labels[pos] == ",", where
                    pos += 1
            assert len({k for k, _ in pairs}) == len(pairs), "label twice: " + where
        v = float(value)  # raises on anything not a float
        assert not math.isnan(v), where
        if types[name] == "counter":
            assert v >= 0, where
        key = (name, tuple(pairs))
        assert key not in samples, "sample twice: " + where
        samples[key] = v
    return samples


def value(samples, name, **labels):
    return samples.get(("ghostwatch_agent_" + name, tuple(labels.items())))


def get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def scrape(base):
    status, ctype, body = get(base + "/metrics")
    assert status == 200, body
    assert ctype.startswith("text/plain; version=0.0.4"), ctype
    return parse_prometheus(body)


def status_cmd(cfg):
    return subprocess.run([str(AGENT), "status", "--config", str(cfg)], capture_output=True,
                          text=True, timeout=20)


def status_number(out, pattern):
    m = re.search(pattern, out)
    assert m, f"no {pattern!r} in status output:\n{out}"
    return float(m.group(1))


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"), [HOST])


@pytest.fixture
def server(tmp_path, pki):
    s = NatsServer(tmp_path, pki).start()
    yield s
    s.stop()


@pytest.fixture
def agents():
    started = []
    yield started
    for a in started:
        if a.proc.poll() is None:
            a.proc.kill()
            a.proc.wait(10)


def test_fleet_agent_metrics_health_and_status(tmp_path, server, pki, agents):
    client(server, pki)
    port = free_port()
    cfg = write_config(tmp_path / "gw.yaml", server, pki, tmp_path / "spool")
    cfg.write_text(cfg.read_text() + f'metrics:\n  listen: "127.0.0.1:{port}"\n')
    base = f"http://127.0.0.1:{port}"
    a = FleetAgent(cfg)
    agents.append(a)

    first = wait_until(lambda: get(base + "/metrics")[0] == 200 and scrape(base), 15,
                       "the first snapshot")
    exec0 = value(first, "events_total", kind="exec") or 0
    assert value(first, "info", version=value_of_version(first)) == 1
    assert value(first, "hook_live", signal="exec", hook=hook_of(first, "exec")) == 1
    for _ in range(20):
        subprocess.run(["/bin/true"], check=True)
    grown = wait_until(lambda: (s := scrape(base)) and
                       (value(s, "events_total", kind="exec") or 0) >= exec0 + 20 and s, 10,
                       "the exec counter to grow by 20")
    assert value(grown, "emitted_events_total", kind="exec") >= 20

    # the transport: connected, batches acked (window 1 s), nothing left behind
    acked = wait_until(lambda: (s := scrape(base)) and
                       value(s, "last_ack_timestamp_seconds") > 0 and
                       value(s, "collector_connected") == 1 and s, 15, "a batch acked")
    assert abs(value(acked, "last_ack_timestamp_seconds") - time.time()) < 30
    assert value(acked, "published_batches_total") >= 1
    for fam in ("spool_backlog_bytes", "spool_backlog_batches", "spool_backlog_events",
                "spool_oldest_unacked_age_seconds", "reconnects_total",
                "spool_dropped_batches_total", "uptime_seconds", "fraud_score"):
        assert value(acked, fam) is not None, fam
    for cat in ("rmm", "tunnel", "vpn", "ipkvm", "jiggler", "exfil", "tamper"):
        assert value(acked, "findings_total", category=cat) is not None, cat
    assert value(acked, "drops_total", category="exec") is not None

    status, _, body = get(base + "/healthz")
    assert (status, body) == (200, "ok\n")
    status, _, _ = get(base + "/nothing")
    assert status == 404

    # `ghostwatch status` reads the same endpoint: its numbers lie between two scrapes
    before = scrape(base)
    r = status_cmd(cfg)
    after = scrape(base)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "health: ok" in out, out
    shown_exec = status_number(out, r"events:.* exec=(\d+)")
    assert value(before, "events_total", kind="exec") <= shown_exec <= \
        value(after, "events_total", kind="exec"), out
    assert "collector: connected" in out, out
    assert status_number(out, r"fraud score: (\d+)") in (value(before, "fraud_score"),
                                                           value(after, "fraud_score")), out
    assert status_number(out, r"hooks:\s+(\d+) live") == sum(
        v for (n, _), v in after.items() if n == "ghostwatch_agent_hook_live"), out

    # a collector outage: batches wait in the spool, the oldest one ages; then they drain
    server.stop()
    waiting = wait_until(lambda: (s := scrape(base)) and value(s, "collector_connected") == 0 and
                         value(s, "spool_backlog_batches") >= 2 and
                         value(s, "spool_oldest_unacked_age_seconds") >= 2 and s, 20,
                         "a backlog while the collector is down")
    assert value(waiting, "spool_backlog_bytes") > 0
    out = status_cmd(cfg).stdout
    assert "collector: NOT connected" in out, out
    assert status_number(out, r"spool:\s+(\d+) batches unacked") >= 2, out
    server.start()
    drained = wait_until(lambda: (s := scrape(base)) and value(s, "spool_backlog_batches") == 0
                         and s, 30, "the spool to drain after the outage")
    assert value(drained, "reconnects_total") >= 1
    assert value(drained, "spool_oldest_unacked_age_seconds") == 0
    assert value(drained, "last_ack_timestamp_seconds") > value(acked,
                                                                "last_ack_timestamp_seconds")
    assert a.stop() == 0, a.log[-3000:]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), 1).close()
    r = status_cmd(cfg)
    assert r.returncode == 1 and "no answer from the agent" in r.stderr, r.stderr


def value_of_version(samples):
    return next(dict(l)["version"] for (n, l), _ in samples.items()
                if n == "ghostwatch_agent_info")


def hook_of(samples, signal):
    return next(dict(l)["hook"] for (n, l), _ in samples.items()
                if n == "ghostwatch_agent_hook_live" and dict(l)["signal"] == signal)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=5)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(self.path)


def unix_get(path, url):
    c = UnixHTTPConnection(path)
    try:
        c.request("GET", url)
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


def test_debug_agent_on_a_unix_socket(tmp_path, agent_factory):
    sock = tmp_path / "metrics.sock"
    cfg = tmp_path / "debug.yaml"
    cfg.write_text(f'metrics:\n  listen: "unix:{sock}"\n')
    a = agent_factory("--config", str(cfg))
    wait_until(lambda: sock.exists() and unix_get(str(sock), "/metrics")[0] == 200, 15,
               "the first snapshot on the unix socket")
    assert any(l.startswith("libmicrohttpd.so") for l in mapped_libraries(a.proc.pid))
    assert oct(sock.stat().st_mode & 0o777) == "0o600"
    status, body = unix_get(str(sock), "/metrics")
    samples = parse_prometheus(body)
    exec0 = value(samples, "events_total", kind="exec") or 0
    for _ in range(20):
        subprocess.run(["/bin/true"], check=True)
    wait_until(lambda: (value(parse_prometheus(unix_get(str(sock), "/metrics")[1]),
                              "events_total", kind="exec") or 0) >= exec0 + 20, 10,
               "the exec counter to grow by 20")
    # no fleet transport in debug: no spool families rather than zeros that look healthy
    assert not any("spool" in n for n, _ in samples), body
    assert unix_get(str(sock), "/healthz") == (200, "ok\n")
    r = status_cmd(cfg)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "spool:  none (not the fleet daemon)" in r.stdout, r.stdout


def mapped_libraries(pid):
    return {Path(l.split()[-1]).name for l in Path(f"/proc/{pid}/maps").read_text().splitlines()
            if l.split()[-1].startswith("/")}


def test_no_endpoint_loads_no_http_library(agent):
    """libmicrohttpd brings GnuTLS and p11-kit, whose constructors cost megabytes at every start:
    it is loaded only for an endpoint."""
    libs = mapped_libraries(agent.proc.pid)
    assert not any(l.startswith(("libmicrohttpd", "libgnutls", "libp11-kit")) for l in libs), libs
    assert any(l.startswith("libc.so") for l in libs), libs  # the maps were read


def test_a_missing_http_library_leaves_the_agent_running_without_metrics(tmp_path,
                                                                         agent_factory):
    sock = tmp_path / "metrics.sock"
    cfg = tmp_path / "debug.yaml"
    cfg.write_text(f'metrics:\n  listen: "unix:{sock}"\n')
    a = agent_factory("--config", str(cfg),
                      env={"GW_MHD_LIBRARY": str(tmp_path / "libmicrohttpd.so.12")})
    err = "".join(a.stderr_lines)
    assert f"cannot load {tmp_path}/libmicrohttpd.so.12 (Debian: libmicrohttpd12)" in err, err
    assert "; running without metrics" in err, err
    assert not sock.exists()
    p = subprocess.Popen(["/bin/true"])
    p.wait(10)
    a.wait_for(exec_of(p.pid), 10, "an exec event: the agent kept running")


def test_metrics_listen_refused_off_loopback(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text('metrics:\n  listen: "0.0.0.0:9465"\n')
    r = subprocess.run([str(AGENT), "run", "--check", "--config", str(cfg)], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 2, r.stderr
    assert "bad.yaml:2: metrics.listen:" in r.stderr and "loopback" in r.stderr, r.stderr
    r = status_cmd(tmp_path / "none.yaml")
    assert r.returncode == 2
    (tmp_path / "off.yaml").write_text("log_level: info\n")
    r = status_cmd(tmp_path / "off.yaml")
    assert r.returncode == 2 and "no metrics.listen" in r.stderr, r.stderr
