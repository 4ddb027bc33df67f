"""Remote-operation latency end to end: the real x11vnc (Debian's) serving a real Xvfb display, and
VNC clients speaking RFB to it from network namespaces whose path to this host is a userspace
delay line (tun_delay.py: this kernel has no netem qdisc), one ~120 ms away and one ~5 ms away.
The agent watches x11vnc's connections because a shipped rule names x11vnc, reads their live RTT
from the kernel (the latency walk) and must report each connection's RTT per window as the kernel
measures it (`ss -ti` says the same), raise GW-LATENCY-FAR-OPERATOR for the far operator and not
for the near one.

The machine is shared: assertions name this test's own processes, ports and addresses.
"""
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import ROOT, counter  # noqa: E402
from netns_helpers import netns  # noqa: E402,F401
from test_detections_linux_tools import free_display, procs, wait_path  # noqa: E402,F401

PY = "/usr/bin/python3"
TUN_DELAY = Path(__file__).resolve().parent / "tun_delay.py"
FAR_RULE = "GW-LATENCY-FAR-OPERATOR"
WINDOW_S = 2

# An RFB 3.8 viewer without a screen: handshake with security "None", then what a person at a
# viewer sends: update requests, pointer motion and a key now and then, and the screen updates
# read as they come. Prints "ok" once the server's init arrived.
RFB_CLIENT = r"""
import socket, struct, sys, time
host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection((host, port), timeout=10)
def need(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise SystemExit("server closed")
        b += c
    return b
need(12)
s.sendall(b"RFB 003.008\n")
types = need(need(1)[0])
assert 1 in types, types
s.sendall(b"\x01")
assert struct.unpack(">I", need(4))[0] == 0
s.sendall(b"\x01")
w, h = struct.unpack(">HH", need(4))
need(16)
need(struct.unpack(">I", need(4))[0])
print("ok", flush=True)
s.setblocking(False)
end, x = time.monotonic() + seconds, 0
while time.monotonic() < end:
    x = (x + 7) % w
    msg = struct.pack(">BBHHHH", 3, 1, 0, 0, w, h) + struct.pack(">BBHH", 5, 0, x, h // 2)
    if x % 5 == 0:
        msg += struct.pack(">BBHI", 4, 1, 0, 0x61) + struct.pack(">BBHI", 4, 0, 0, 0x61)
    s.sendall(msg)
    deadline = time.monotonic() + 0.15
    while time.monotonic() < deadline:
        try:
            if not s.recv(65536):
                raise SystemExit("server closed")
        except BlockingIOError:
            time.sleep(0.01)
"""


@pytest.fixture
def lat_agent(agent_factory, tmp_path):
    rules_d = tmp_path / "rules.d"
    rules_d.mkdir()
    return agent_factory("--rules", str(ROOT / "rules"), "--rules-d", str(rules_d),
                         f"--latency-window={WINDOW_S}", "--latency-far-ms=100")


@pytest.fixture
def delayed(netns, procs):  # noqa: F811
    """delayed(role, rtt_ms) -> (namespace, host address, namespace address): a namespace whose
    only path to this host is a tun_delay line of that round trip."""
    def make(role, rtt_ms):
        ns = netns.add(role)
        net = f"10.231.{random.randint(1, 250)}"
        host_if, ns_if = f"gwlh{netns.tag}{role[0]}", f"gwln{netns.tag}{role[0]}"
        p = subprocess.Popen([PY, str(TUN_DELAY), ns, str(rtt_ms), host_if, ns_if, net],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        if line.strip() != "ready":
            p.kill()
            pytest.fail(f"tun_delay did not start: {p.stderr.read()}")
        make.lines.append(p)
        return ns, f"{net}.1", f"{net}.2"
    make.lines = []
    yield make
    for p in make.lines:
        p.kill()
        p.wait()


def rfb_client(ns, host, port, seconds):
    p = subprocess.Popen(["ip", "netns", "exec", ns, PY, "-c", RFB_CLIENT, host, str(port),
                          str(seconds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    line = p.stdout.readline()
    assert line.strip() == "ok", f"RFB handshake failed: {line!r} {p.stderr.read()[-1000:]}"
    return p


def free_tcp_port():
    while True:
        with socket.socket() as s:
            s.bind(("0.0.0.0", 0))
            port = s.getsockname()[1]
        if port not in range(5900, 6000):
            return port


def latency_of(pid, remote):
    def pred(e):
        if e.get("type") != "remote_latency":
            return False
        m = e["remote_latency"]
        return (m.get("process", {}).get("pid") == pid and m["remote_address"] == remote
                and m.get("samples", 0) >= 2)
    return pred


def ss_rtt_ms(port, remote):
    """The kernel's view of the same connection: `ss -ti` rtt:<srtt>/<rttvar>."""
    out = subprocess.run(["ss", "-tin", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True).stdout
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if remote in line and i + 1 < len(lines):
            for tok in lines[i + 1].split():
                if tok.startswith("rtt:"):
                    srtt, var = tok[4:].split("/")
                    return float(srtt), float(var)
    return None


def test_far_operator_raises_and_near_one_does_not(lat_agent, procs, delayed):  # noqa: F811
    far_ns, far_host, far_peer = delayed("far", 120)
    near_ns, near_host, near_peer = delayed("near", 5)
    display, port = free_display(), free_tcp_port()
    xvfb = procs(["Xvfb", f":{display}", "-nolisten", "tcp", "-screen", "0", "320x240x24"])
    wait_path(f"/tmp/.X11-unix/X{display}", xvfb)
    vnc = procs(["x11vnc", "-display", f":{display}", "-rfbport", str(port), "-nopw", "-forever",
                 "-shared", "-quiet"])
    deadline = time.monotonic() + 10
    while subprocess.run(["ss", "-tln", f"( sport = :{port} )"], capture_output=True,
                         text=True).stdout.count("LISTEN") == 0:
        assert vnc.poll() is None, vnc.stderr.read().decode(errors="replace")[-2000:]
        assert time.monotonic() < deadline, "x11vnc did not listen"
        time.sleep(0.1)

    far = rfb_client(far_ns, far_host, port, 4 * WINDOW_S + 2)
    near = rfb_client(near_ns, near_host, port, 4 * WINDOW_S + 2)
    time.sleep(WINDOW_S)
    kernel_far, kernel_near = ss_rtt_ms(port, far_peer), ss_rtt_ms(port, near_peer)
    assert kernel_far and kernel_near, "ss does not show the connections"

    ev_far = lat_agent.wait_for(latency_of(vnc.pid, far_peer), timeout=4 * WINDOW_S,
                                what="RemoteLatency of the far client")["remote_latency"]
    ev_near = lat_agent.wait_for(latency_of(vnc.pid, near_peer), timeout=2 * WINDOW_S,
                                 what="RemoteLatency of the near client")["remote_latency"]
    for ev, kernel, ns_peer in ((ev_far, kernel_far, far_peer), (ev_near, kernel_near, near_peer)):
        assert ev["direction"] == "inbound" and ev["local_port"] == port, ev
        assert ev["process"]["exe"] == "/usr/bin/x11vnc", ev
        assert ev["control"].startswith("GW-RMM-"), ev
        assert int(ev["bytes_received"]) > 0 and int(ev["bytes_sent"]) > 0, ev
        assert ev["srtt_min_us"] <= ev["srtt_us"] <= ev["srtt_max_us"], ev
        # the same estimate ss reads from the kernel, within a few ms of drift
        assert abs(ev["srtt_us"] / 1000 - kernel[0]) < 15, (ev, kernel)
    print(f"far: agent {ev_far['srtt_us']} us +-{ev_far.get('rtt_var_us')} ss {kernel_far}; "
          f"near: agent {ev_near['srtt_us']} us +-{ev_near.get('rtt_var_us')} ss {kernel_near}")
    assert 110_000 <= ev_far["srtt_us"] <= 170_000, ev_far
    assert ev_far.get("rtt_var_us", 0) > 0, ev_far
    assert ev_near["srtt_us"] <= 30_000, ev_near

    f = lat_agent.wait_for(lambda e: e.get("type") == "finding"
                           and e["finding"]["rule_id"] == FAR_RULE
                           and e["finding"]["subject"].endswith(f"controlled from {far_peer}"),
                           timeout=2 * WINDOW_S, what="far-operator finding")["finding"]
    assert f["category"] == "behaviour" and f["process_id"] == ev_far["process_id"], f
    assert f"(pid {vnc.pid})" in f["subject"], f
    assert any(e["kind"] == "flow" for e in f["evidence"]), f
    far.wait(timeout=4 * WINDOW_S + 10)
    near.wait(timeout=4 * WINDOW_S + 10)
    assert far.returncode == 0 and near.returncode == 0, (far.stderr.read(), near.stderr.read())
    # the near operator never: its windows were all reported, none above the threshold
    assert not lat_agent.find(lambda e: e.get("type") == "finding"
                              and e["finding"]["rule_id"] == FAR_RULE
                              and near_peer in e["finding"]["subject"])
    rc, final = lat_agent.stop()
    assert rc == 0
    assert counter(final, "events", "remote_latency") >= 2
    assert counter(final, "events", "latency_samples") >= 4
    assert counter(final, "drops", "latency_not_watched") == 0
    assert counter(final, "drops", "latency_walk_errors") == 0


@pytest.fixture
def sshd_keys(tmp_path):
    """A host key and a client key authorised for root, private to this test."""
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        str(tmp_path / name)], check=True)
    (tmp_path / "authorized_keys").write_text((tmp_path / "client.pub").read_text())
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory
    return tmp_path


def test_ssh_login_from_far_away_raises(lat_agent, procs, delayed, sshd_keys):  # noqa: F811
    """A real sshd and a real ssh login over the 120 ms line: the login's connection is watched
    as remote control ("ssh") with no rule naming sshd, and the far operator is reported."""
    ns, host, peer = delayed("ssh", 120)
    port = free_tcp_port()
    sshd = procs(["/usr/sbin/sshd", "-D", "-e", "-f", "/dev/null", "-o", f"Port={port}",
                  "-o", f"ListenAddress={host}", "-o", f"HostKey={sshd_keys / 'host'}",
                  "-o", f"AuthorizedKeysFile={sshd_keys / 'authorized_keys'}",
                  "-o", "PermitRootLogin=yes", "-o", "StrictModes=no", "-o", "UsePAM=no",
                  "-o", "PidFile=none"])
    deadline = time.monotonic() + 10
    while subprocess.run(["ss", "-tln", f"( sport = :{port} )"], capture_output=True,
                         text=True).stdout.count("LISTEN") == 0:
        assert sshd.poll() is None, sshd.stderr.read().decode(errors="replace")[-2000:]
        assert time.monotonic() < deadline, "sshd did not listen"
        time.sleep(0.1)
    # the operator types a line every 200 ms; the remote `cat` echoes it back
    login = subprocess.Popen(
        ["ip", "netns", "exec", ns, "sh", "-c",
         f"for i in $(seq 40); do echo line $i; sleep 0.2; done | ssh -q -i {sshd_keys / 'client'}"
         f" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes"
         f" -p {port} root@{host} cat"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ev = lat_agent.wait_for(latency_of(sshd.pid, peer), timeout=6 * WINDOW_S,
                                what="RemoteLatency of the ssh login")["remote_latency"]
        assert ev["control"] == "ssh" and ev["vendor"] == "OpenSSH", ev
        assert ev["direction"] == "inbound" and ev["local_port"] == port, ev
        assert 110_000 <= ev["srtt_us"] <= 170_000, ev
        assert int(ev["bytes_received"]) > 0, ev
        f = lat_agent.wait_for(lambda e: e.get("type") == "finding"
                               and e["finding"]["rule_id"] == FAR_RULE
                               and e["finding"]["subject"] == f"/usr/sbin/sshd (pid {sshd.pid}) "
                               f"controlled from {peer}",
                               timeout=2 * WINDOW_S, what="far-operator finding")["finding"]
        assert f["category"] == "behaviour" and f["process_id"] == ev["process_id"], f
        assert "smoothed RTT" in f["matched"] and "(ssh)" in f["matched"], f
        out, err = login.communicate(timeout=30)
        assert login.returncode == 0 and "line 40" in out, err
    finally:
        if login.poll() is None:
            login.kill()
            login.wait()
