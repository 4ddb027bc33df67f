"""Secrets in command lines, end to end: real processes carry passwords, tokens and URL credentials
in argv; the debug view and the fleet stream show the redaction marker, never the secret.

The secret is always "hunter2" (plus a custom "corp-..." id for a config pattern), so a test can
search the agent's whole output, every byte of it, for the secret.
"""
import http.server
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import zlib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import counter, exit_of  # noqa: E402
from natsjs import NatsClient, NatsServer, decode_batch, make_pki  # noqa: E402

SECRET = "hunter2"
MARK = "[REDACTED]"
CURL = shutil.which("curl")

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="SKIPPED LOUDLY: the agent needs root for BPF")


class _Handler(http.server.BaseHTTPRequestHandler):
    seen = []

    def do_GET(self):
        _Handler.seen.append((self.path, self.headers.get("Authorization", "")))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    """A local HTTP server that records what credentials curl really sent."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    _Handler.seen = []
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def tag():
    return "gwred-" + uuid.uuid4().hex[:10]


def curl_with_credentials(port, m):
    """Real curl, basic auth and a bearer header; returns the URL (it carries the marker)."""
    assert CURL, "curl missing (tools/deps.sh installs it)"
    url = f"http://127.0.0.1:{port}/{m}"
    subprocess.run([CURL, "-sf", "-o", "/dev/null", "-u", f"alice:{SECRET}",
                    "-H", f"Authorization: Bearer {SECRET}tok", url], check=True, timeout=20)
    return url


def exec_with(agent, m, timeout=10.0):
    """The exec event whose argv has an argument containing m."""
    def pred(e):
        return (e.get("type") == "exec" and
                any(m in a for a in e["exec"]["process"].get("argv", [])))
    return agent.wait_for(pred, timeout=timeout, what=f"exec carrying {m}")["exec"]["process"]


def test_debug_view_shows_the_marker_never_the_secret(agent_factory, tmp_path, http_server):
    cfg = tmp_path / "gw.yaml"
    cfg.write_text("redact:\n  - 'corp-[0-9a-f]{8}'\n")
    mysql = tmp_path / "mysql"  # a mysql client by name: -pX is its password
    mysql.symlink_to("/bin/true")
    # started before the agent: its argv comes from /proc/PID/cmdline, not from an exec
    m_old = tag()
    early = subprocess.Popen(["/bin/sh", "-c", "sleep 30; exit 0", "sh", f"--password={SECRET}",
                              m_old], start_new_session=True)
    time.sleep(0.3)
    agent = agent_factory(f"--config={cfg}")

    m_curl = tag()
    url = curl_with_credentials(http_server.server_address[1], m_curl)
    assert (f"/{m_curl}", f"Bearer {SECRET}tok") in _Handler.seen  # curl really sent them
    m_pw, m_env, m_my, m_cfg = tag(), tag(), tag(), tag()
    subprocess.run(["/bin/sh", "-c", "exit 0", "sh", f"--password={SECRET}", "--pass", SECRET,
                    m_pw], check=True)
    subprocess.run(["env", f"PGPASSWORD={SECRET}", f"API_TOKEN={SECRET}", "/bin/true", m_env],
                   check=True)
    subprocess.run([str(mysql), "-uroot", f"-p{SECRET}", m_my], check=True)
    subprocess.run(["/bin/sh", "-c", "exit 0", "sh", "id=corp-deadbeef", m_cfg], check=True)

    argv = exec_with(agent, m_curl)["argv"]
    assert argv[argv.index("-u") + 1] == f"alice:{MARK}"
    assert f"Authorization: Bearer {MARK}" in argv and url in argv
    assert exec_with(agent, m_pw)["argv"][-4:] == [f"--password={MARK}", "--pass", MARK, m_pw]
    assert exec_with(agent, m_env)["argv"] == ["env", f"PGPASSWORD={MARK}", f"API_TOKEN={MARK}",
                                               "/bin/true", m_env]
    assert exec_with(agent, m_my)["argv"][1:] == ["-uroot", f"-p{MARK}", m_my]
    assert exec_with(agent, m_cfg)["argv"][-2:] == [f"id={MARK}", m_cfg]

    os.killpg(early.pid, 15)
    early.wait()
    ex = agent.wait_for(exit_of(early.pid), what="exit of the process seen before start")
    proc = ex["exit"]["process"]
    assert proc["source"] == "procfs"
    assert proc["argv"][-2:] == [f"--password={MARK}", m_old]

    rc, stats = agent.stop()
    assert rc == 0
    raw = b"".join(agent.raw_lines)
    assert SECRET.encode() not in raw and b"corp-deadbeef" not in raw
    assert stats is not None
    assert counter(stats, "events", "argv_redacted") >= 6
    assert counter(stats, "drops", "argv_redact_failed") == 0


def test_bad_redact_pattern_refuses_the_config(tmp_path):
    cfg = tmp_path / "gw.yaml"
    cfg.write_text("log_level: info\nredact:\n  - 'ok-[0-9]+'\n  - 'broken(['\n")
    from conftest import AGENT  # noqa: E402
    r = subprocess.run([str(AGENT), "debug", "--json", f"--config={cfg}"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode != 0
    assert f"{cfg}:4:" in r.stderr and "broken([" in r.stderr, r.stderr


@pytest.mark.skipif(shutil.which("nats-server") is None,
                    reason="SKIPPED LOUDLY: nats-server missing (make deps installs it)")
def test_fleet_stream_carries_the_marker_never_the_secret(tmp_path, http_server):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_fleet_agent import HOST, FleetAgent, write_config  # noqa: E402

    pki = make_pki(tmp_path / "pki", [HOST])
    server = NatsServer(tmp_path, pki).start()
    agent = None
    try:
        c = NatsClient(server.port, pki / "ca.pem", pki / "collector.pem", pki / "collector.key")
        c.create_stream()
        cfg = write_config(tmp_path / "gw.yaml", server, pki, tmp_path / "spool")
        cfg.write_text(cfg.read_text() + "redact:\n  - 'corp-[0-9a-f]{8}'\n")
        agent = FleetAgent(cfg)
        m_curl, m_pw = tag(), tag()
        curl_with_credentials(http_server.server_address[1], m_curl)
        subprocess.run(["/bin/sh", "-c", "exit 0", "sh", f"--password={SECRET}",
                        "id=corp-deadbeef", m_pw], check=True)

        deadline, found, raws = time.monotonic() + 30, {}, []
        while time.monotonic() < deadline and len(found) < 2:
            msgs = c.all_messages()
            raws = [zlib.decompress(m["data"]) for m in msgs]
            for m in msgs:
                for e in decode_batch(m["data"])["events"]:
                    for mk in (m_curl, m_pw):
                        if e["type"] == "exec" and any(mk in a for a in e.get("argv", [])):
                            found[mk] = e["argv"]
            time.sleep(0.5)
        assert set(found) == {m_curl, m_pw}, agent.log[-2000:]
        assert f"alice:{MARK}" in found[m_curl]
        assert f"Authorization: Bearer {MARK}" in found[m_curl]
        assert found[m_pw][-3:] == [f"--password={MARK}", f"id={MARK}", m_pw]
        for raw in raws:
            assert SECRET.encode() not in raw and b"corp-deadbeef" not in raw

        # SIGHUP applies a changed list to the command lines that come after it
        cfg.write_text(cfg.read_text() + "  - 'ticket-[0-9]{6}'\n")
        n = len(agent.lines)
        agent.proc.send_signal(signal.SIGHUP)
        agent.wait_log("reloaded", start=n)
        m_hup = tag()
        subprocess.run(["/bin/sh", "-c", "exit 0", "sh", "ticket-424242", m_hup], check=True)
        deadline, argv_hup = time.monotonic() + 30, None
        while time.monotonic() < deadline and argv_hup is None:
            msgs = c.all_messages()
            raws = [zlib.decompress(m["data"]) for m in msgs]
            for m in msgs:
                for e in decode_batch(m["data"])["events"]:
                    if e["type"] == "exec" and m_hup in e.get("argv", []):
                        argv_hup = e["argv"]
            time.sleep(0.5)
        assert argv_hup and argv_hup[-2:] == [MARK, m_hup], (argv_hup, agent.log[-2000:])
        assert not any(b"ticket-424242" in raw for raw in raws)
        assert agent.stop() == 0
    finally:
        if agent and agent.proc.poll() is None:
            agent.proc.kill()
            agent.proc.wait(10)
        server.stop()
