"""Protocols named by a connection's first bytes, end to end (issue #17 parts 2 and 3): the real
x11vnc, xrdp, sshd, curl and openssl from Debian's archive (tools/deps.sh installs them), renamed
where the point is that the name does not matter, with the agent on its default settings and the
shipped rules. What is asserted is what the agent emitted: the Connection event with
`app_protocol`/`server_name` ("tcp_first_bytes"), and the findings, attributed to the test's own
processes, within 2 s.

Off-host peers are played by network namespaces (netns_helpers.py); loopback is never off-host.
"""
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import ROOT  # noqa: E402
from netns_helpers import netns  # noqa: E402,F401
from test_detections_linux_tools import (  # noqa: E402
    connect_banner, exec_of, free_display, free_port, procs, wait_path)

FINDING_DEADLINE = 2.0
REMOTE_DESKTOP = "GW-PROTO-REMOTE-DESKTOP"
INBOUND_REMOTE_DESKTOP = "GW-PROTO-INBOUND-REMOTE-DESKTOP"
INBOUND_ACCEPT = "GW-NET-INBOUND-ACCEPT"
RUSTDESK_DNS_RULE = "GW-RMM-0202"  # rules/rmm.yaml: dns_suffixes [rustdesk.com]
RELAY_NAME = "relay.rustdesk.com"
# mstsc's X.224 Connection Request: TPKT, CR, routing cookie, RDP_NEG_REQ for TLS
RDP_CR = (bytes([0x03, 0x00, 0x00, 0x2c, 0x27, 0xe0, 0, 0, 0, 0, 0]) + b"Cookie: mstshash=gwtest\r\n"
          + bytes([0x01, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00]))
assert len(RDP_CR) == 0x2c


@pytest.fixture
def det_agent(agent_factory, tmp_path):
    rules_d = tmp_path / "rules.d"
    rules_d.mkdir()
    return agent_factory("--rules", str(ROOT / "rules"), "--rules-d", str(rules_d))


@pytest.fixture(params=["auto", "cgroup_skb"])
def flavour_agent(request, agent_factory, tmp_path):
    """The agent on each flavour of the capture: auto (the send/recv tracepoints on this 6.18
    host) and the every-packet fallback older kernels (Debian 12's 6.1) run."""
    rules_d = tmp_path / "rules.d"
    rules_d.mkdir()
    a = agent_factory("--rules", str(ROOT / "rules"), "--rules-d", str(rules_d),
                      f"--proto-hooks={request.param}")
    hook = a.hooks()["proto_id"]
    if request.param == "cgroup_skb":
        assert hook.startswith("cgroup_skb/ingress+egress@"), hook
    else:
        assert (hook == "tp_btf/sock_send_length+sock_recv_length"
                or hook.startswith("cgroup_skb/")), hook
    return a


def first_bytes_of(pid, app, or_child=False):
    """The Connection the first bytes named, of process `pid` (or_child: or of a child it forked
    for the connection, as xrdp and sshd do: with the send/recv flavour the process that wrote or
    read the bytes is the one named)."""
    def pred(e):
        if e.get("type") != "connect":
            return False
        c = e["connect"]
        p = c.get("process") or {}
        return (c["hook"] == "tcp_first_bytes" and c["app_protocol"] == app
                and (p.get("pid") == pid or (or_child and p.get("ppid") == pid)))
    return pred


def finding_for(rule_id, subject):
    def pred(e):
        return (e.get("type") == "finding" and e["finding"]["rule_id"] == rule_id
                and e["finding"]["subject"] == subject)
    return pred


def wait_finding(agent, rule_id, subject, since):
    f = agent.wait_for(finding_for(rule_id, subject), timeout=FINDING_DEADLINE + 1,
                       what=f"finding {rule_id} for {subject}")["finding"]
    assert time.monotonic() - since <= FINDING_DEADLINE + 0.5, "finding came too late"
    return f


def renamed(src, tmp_path, name):
    d = tmp_path / uuid.uuid4().hex[:8]
    d.mkdir()
    exe = d / name
    shutil.copy(src, exe)
    return exe


def start_xvfb(procs):
    display = free_display()
    xvfb = procs(["Xvfb", f":{display}", "-nolisten", "tcp", "-screen", "0", "640x480x24"])
    wait_path(f"/tmp/.X11-unix/X{display}", xvfb)
    return display


def wait_listening(host, port, proc, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, proc.stderr.read().decode(errors="replace")[-2000:]
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on {host}:{port}"
            time.sleep(0.1)


def test_renamed_x11vnc_on_an_unusual_port_is_named_by_protocol(flavour_agent, procs, tmp_path):
    """A copy of x11vnc called `screen-helper` in a temp dir, on a port no rule knows: the RFB
    banner it sends names it, attributed to its own process; the client is flagged too."""
    display = start_xvfb(procs)
    exe = renamed("/usr/bin/x11vnc", tmp_path, "screen-helper")
    port = free_port()
    vnc = procs([str(exe), "-display", f":{display}", "-localhost", "-rfbport", str(port),
                 "-nopw", "-forever", "-quiet"])
    wait_listening("127.0.0.1", port, vnc)
    t = time.monotonic()
    assert connect_banner(port, vnc).startswith(b"RFB 003.")
    f = wait_finding(flavour_agent, REMOTE_DESKTOP, str(exe), t)
    assert f["category"] == "rmm" and f["evidence"][0]["kind"] == "flow", f
    assert f"serves rfb on 127.0.0.1:{port}" in f["matched"], f
    ex = flavour_agent.wait_for(exec_of(vnc.pid, str(exe)), what="exec of the renamed x11vnc")
    assert f["process_id"] == ex["exec"]["process"]["process_id"], f
    c = flavour_agent.wait_for(first_bytes_of(vnc.pid, "rfb"), what="rfb connection")["connect"]
    assert c["direction"] == "inbound" and c["local_port"] == port
    assert f["evidence"][0]["event_id"] in [e["event_id"] for e in flavour_agent.find(
        first_bytes_of(vnc.pid, "rfb"))]
    # loopback: not an inbound session from another host
    assert not flavour_agent.find(lambda e: e.get("type") == "finding" and e["finding"]["rule_id"]
                              in (INBOUND_REMOTE_DESKTOP, INBOUND_ACCEPT)
                              and e["finding"]["subject"] == str(exe))
    # the client that read the banner is a client of remote desktop
    me = os.path.realpath(sys.executable)
    assert flavour_agent.wait_for(finding_for(REMOTE_DESKTOP, me), what="client finding")


def test_x11vnc_session_from_another_host_is_high(det_agent, procs, tmp_path, netns):
    """The renamed x11vnc on the host's end of a veth, a client in another namespace: the inbound
    remote-desktop finding (high), and not the plain inbound accept (low) besides."""
    ns = netns.add("rfb")
    host_ip, ns_ip = netns.link_host(ns)
    display = start_xvfb(procs)
    exe = renamed("/usr/bin/x11vnc", tmp_path, "screen-helper")
    port = free_port()
    vnc = procs([str(exe), "-display", f":{display}", "-listen", host_ip, "-rfbport", str(port),
                 "-nopw", "-forever", "-quiet"])
    wait_listening(host_ip, port, vnc)
    t = time.monotonic()
    out = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c",
                          "import socket,sys; s=socket.create_connection((sys.argv[1],"
                          " int(sys.argv[2])), timeout=3); print(s.recv(12))", host_ip, str(port)],
                         capture_output=True, text=True, timeout=10)
    assert "RFB 003." in out.stdout, out.stderr
    f = wait_finding(det_agent, INBOUND_REMOTE_DESKTOP, str(exe), t)
    assert f["severity"] == "high" and f["category"] == "rmm", f
    assert f"rfb session from {ns_ip}:" in f["matched"] and f"{host_ip}:{port}" in f["matched"], f
    ex = det_agent.wait_for(exec_of(vnc.pid, str(exe)), what="exec of the renamed x11vnc")
    assert f["process_id"] == ex["exec"]["process"]["process_id"], f
    # the accept itself (reported after the first bytes here) adds no low finding of its own
    det_agent.wait_for(lambda e: e.get("type") == "connect" and e["connect"]["hook"] == "tcp_accept"
                       and (e["connect"].get("process") or {}).get("pid") == vnc.pid
                       and e["connect"]["remote_address"] == ns_ip, what="accept of the session")
    assert not det_agent.find(finding_for(INBOUND_ACCEPT, str(exe)))
    # one tool: the protocol's two findings do not make it "several remote access tools"
    assert not det_agent.find(lambda e: e.get("type") == "finding"
                              and e["finding"]["rule_id"] == "GW-COMBO-0001")


def test_user_program_accepting_from_another_host_is_reported_low(det_agent, procs, netns):
    """`python3 -m http.server` as an unprivileged user on the veth, fetched from another
    namespace: low; the same server fetched on loopback raises nothing (benign test below)."""
    ns = netns.add("acc")
    host_ip, ns_ip = netns.link_host(ns)
    port = free_port()
    srv = procs(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                 "/usr/bin/python3", "-m", "http.server", "--bind", host_ip, str(port)],
                cwd="/")
    wait_listening(host_ip, port, srv)
    t = time.monotonic()
    subprocess.run(["ip", "netns", "exec", ns, "curl", "-s", "-o", "/dev/null",
                    f"http://{host_ip}:{port}/"], check=True, timeout=10)
    python = os.path.realpath("/usr/bin/python3")
    g = det_agent.wait_for(lambda e: finding_for(INBOUND_ACCEPT, python)(e)
                           and f"pid {srv.pid}," in e["finding"]["matched"],
                           timeout=FINDING_DEADLINE + 1, what="inbound accept finding")["finding"]
    assert time.monotonic() - t <= FINDING_DEADLINE + 0.5, "finding came too late"
    assert g["severity"] == "low" and "uid 65534" in g["matched"], g
    assert f"listener {host_ip}:{port}" in g["matched"] and f"from {ns_ip}:" in g["matched"], g
    assert not det_agent.find(lambda e: e.get("type") == "finding"
                              and e["finding"]["rule_id"] == INBOUND_REMOTE_DESKTOP
                              and e["finding"]["subject"] == python)


def test_xrdp_is_identified_as_rdp(det_agent, procs, tmp_path):
    """xrdp with Debian's xrdp.ini on a loopback port: a client's X.224 request, xrdp's confirm."""
    port = free_port()
    ini = (Path("/etc/xrdp/xrdp.ini").read_text()
           .replace("\nport=3389\n", f"\nport=tcp://127.0.0.1:{port}\n", 1))
    conf = tmp_path / "xrdp.ini"
    conf.write_text(ini)
    xrdp = procs(["xrdp", "--nodaemon", "--config", str(conf)])
    wait_listening("127.0.0.1", port, xrdp)
    t = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(RDP_CR)
        cc = s.recv(64)
    assert cc[:2] == b"\x03\x00" and cc[5] & 0xf0 == 0xd0, cc  # X.224 Connection Confirm
    c = det_agent.wait_for(first_bytes_of(xrdp.pid, "rdp", True), timeout=FINDING_DEADLINE + 1,
                           what="rdp connection of xrdp")["connect"]
    assert c["direction"] == "inbound" and c["local_port"] == port
    f = wait_finding(det_agent, REMOTE_DESKTOP, "/usr/sbin/xrdp", t)
    assert f"serves rdp on 127.0.0.1:{port}" in f["matched"], f


def test_renamed_tls_client_is_named_by_sni_without_dns(flavour_agent, procs, tmp_path):
    """A copy of curl called `updater` fetches https://relay.rustdesk.com from a local openssl
    s_server with a certificate for that name; the name is never looked up (--resolve): the
    ClientHello's server name names the peer and the rule on rustdesk.com fires."""
    key, cert = tmp_path / "relay.key", tmp_path / "relay.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    f"/CN={RELAY_NAME}", "-addext", f"subjectAltName=DNS:{RELAY_NAME}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    port = free_port()
    srv = procs(["openssl", "s_server", "-quiet", "-accept", f"127.0.0.1:{port}", "-key", str(key),
                 "-cert", str(cert), "-www"], stdin=subprocess.DEVNULL)
    wait_listening("127.0.0.1", port, srv)
    exe = renamed("/usr/bin/curl", tmp_path, "updater")
    t = time.monotonic()
    p = subprocess.run([str(exe), "-s", "-o", "/dev/null", "--cacert", str(cert), "--resolve",
                        f"{RELAY_NAME}:{port}:127.0.0.1", f"https://{RELAY_NAME}:{port}/"],
                       capture_output=True, timeout=10)
    assert p.returncode == 0, p.stderr
    f = wait_finding(flavour_agent, RUSTDESK_DNS_RULE, str(exe), t)
    c = flavour_agent.wait_for(lambda e: e.get("type") == "connect"
                           and e["connect"]["hook"] == "tcp_first_bytes"
                           and e["connect"]["server_name"] == RELAY_NAME
                           and e["connect"]["process"]["exe"] == str(exe), what="tls connection")
    assert c["connect"]["app_protocol"] == "tls" and c["connect"]["dns_name"] == RELAY_NAME
    assert c["connect"]["remote_port"] == port
    assert f["evidence"][0]["event_id"] == c["event_id"], f
    # its flow, flushed a grace after curl exited, carries the same
    fl = flavour_agent.wait_for(lambda e: e.get("type") == "flow"
                                and (e["flow"].get("process") or {}).get("exe") == str(exe)
                                and e["flow"]["remote_port"] == port, timeout=5,
                                what="flow of the renamed curl")["flow"]
    assert fl["app_protocol"] == "tls" and fl["server_name"] == RELAY_NAME, fl
    assert fl["dns_name"] == RELAY_NAME, fl
    assert not flavour_agent.find(lambda e: e.get("type") == "dns" or (
        e.get("type") == "connect" and e["connect"]["remote_port"] == 53
        and e["connect"]["process"].get("exe") == str(exe)))


def test_ssh_banner_is_identified(det_agent, procs, tmp_path):
    """A real sshd on a loopback port and the real ssh client: both sides speak ssh."""
    if not Path("/usr/sbin/sshd").exists():
        pytest.skip("SKIPPED LOUDLY: openssh-server is not installed (tools/deps.sh)")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    hostkey = tmp_path / "hostkey"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(hostkey)], check=True)
    port = free_port()
    sshd = procs(["/usr/sbin/sshd", "-D", "-e", "-f", "/dev/null", "-o",
                  f"ListenAddress=127.0.0.1:{port}", "-o", f"HostKey={hostkey}", "-o",
                  "PidFile=none"])
    wait_listening("127.0.0.1", port, sshd)
    client = subprocess.Popen(["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                               "-o", "UserKnownHostsFile=/dev/null", "-p", str(port),
                               "gw-nobody@127.0.0.1", "true"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client.wait(10)
    det_agent.wait_for(first_bytes_of(client.pid, "ssh"), timeout=FINDING_DEADLINE + 1,
                       what="ssh client connection")
    c = det_agent.wait_for(first_bytes_of(sshd.pid, "ssh", True),
                           what="sshd connection")["connect"]
    assert c["direction"] == "inbound" and c["local_port"] == port


def test_benign_programs_raise_nothing_and_no_path_is_kept(det_agent, tmp_path):
    """Xvfb, `python3 -m http.server` fetched with curl on loopback (a secret in the URL path),
    git, ssh-keygen: no finding; the request is named http; the path appears nowhere."""
    m = "gw-benign-" + uuid.uuid4().hex[:8]
    secret = "secret-" + uuid.uuid4().hex
    display = free_display()
    port = free_port()
    script = f"""
        cd {tmp_path}
        Xvfb :{display} -nolisten tcp -screen 0 640x480x24 2>/dev/null & X=$!
        /usr/bin/python3 -m http.server --bind 127.0.0.1 {port} 2>/dev/null & H=$!
        i=0; until curl -s -o /dev/null http://127.0.0.1:{port}/ || [ $i -ge 50 ]; do
            sleep 0.1; i=$((i+1)); done
        curl -s -o /dev/null http://127.0.0.1:{port}/{secret}
        git init -q repo && cd repo && git -c user.email=t@t -c user.name=t commit -q --allow-empty -m x
        cd {tmp_path}
        ssh-keygen -q -t ed25519 -N '' -f {tmp_path}/key
        kill $X $H; wait
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
    execs = det_agent.find(in_scenario)
    names = {os.path.basename(e["exec"]["process"]["exe"]) for e in execs}
    assert {"Xvfb", "curl", "git", "ssh-keygen"} <= names, (names, p.stderr[-500:])
    curls = {e["exec"]["process"]["pid"] for e in execs if e["exec"]["process"]["exe"].endswith(
        "/curl")}
    assert det_agent.find(lambda e: e.get("type") == "connect"
                          and e["connect"]["hook"] == "tcp_first_bytes"
                          and e["connect"]["app_protocol"] == "http"
                          and e["connect"]["process"]["pid"] in curls
                          and e["connect"]["server_name"] == ""), "curl's request not named http"
    ours = {e["event_id"] for e in execs}
    pids = {e["exec"]["process"]["process_id"] for e in execs}
    hits = [e["finding"] for e in det_agent.find(lambda e: e.get("type") == "finding")
            if ours & {ev["event_id"] for ev in e["finding"]["evidence"]}
            or e["finding"].get("process_id") in pids]
    assert not hits, hits
    assert not [line for line in det_agent.raw_lines if secret.encode() in line
                and b'"exec"' not in line], "the URL path left the capture"
