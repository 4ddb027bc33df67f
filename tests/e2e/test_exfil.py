"""What leaves the machine, end to end: the real agent, real uploads from real processes to test
hosts in network namespaces (tests/e2e/netns_helpers.py), names served by the test's own DNS
responder, and assertions on the `finding` events the exfil domain and the shipped rules raise.
"""
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import ROOT  # noqa: E402
import pytest  # noqa: E402
from netns_helpers import DNS_RESPONDER, PY, netns, run_script, start_in_ns  # noqa: E402,F401

MIB = 1 << 20
UPLOAD_NAME = "backup.exfil-test.test"
SINK_PORT = 9443

# Sends MiB megabytes to NAME:PORT over one connection and waits for the peer to close.
UPLOADER = """
import socket, sys
name, port, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ip = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
c = socket.create_connection((ip, port), timeout=20)
chunk = b"\\0" * (1 << 20)
for _ in range(mib):
    c.sendall(chunk)
c.shutdown(socket.SHUT_WR)
c.recv(1)
c.close()
print(ip)
"""


def exfil_agent(agent_factory, tmp_path, *extra):
    rules_d = tmp_path / "rules.d"
    rules_d.mkdir(exist_ok=True)
    return agent_factory("--rules", str(ROOT / "rules"), "--rules-d", str(rules_d), "--no-forks",
                         "--flow-window", "2", *extra)


def findings(agent, rule_id):
    return [e["finding"] for e in agent.find(lambda e: e.get("type") == "finding"
                                              and e["finding"]["rule_id"] == rule_id)]


def flow_of(pid, port):
    def pred(e):
        if e.get("type") != "flow":
            return False
        f = e["flow"]
        return (f.get("process") or {}).get("pid") == pid and f.get("remote_port") == port
    return pred


def finding_citing(agent, rule_id, event_id, timeout):
    return agent.wait_for(
        lambda e: e.get("type") == "finding" and e["finding"]["rule_id"] == rule_id
        and event_id in [ev.get("event_id") for ev in e["finding"].get("evidence", [])],
        timeout=timeout, what=f"finding {rule_id} citing event {event_id}")["finding"]


@pytest.fixture
def upload_peer(netns):
    """A client namespace whose resolver (in the server namespace) answers UPLOAD_NAME with a
    TCP sink there: yields (client_ns, server_ip)."""
    client_ns, server_ns = netns.add("exc"), netns.add("exs")
    _, server_ip = netns.link_pair(client_ns, server_ns)
    netns.resolv_conf(client_ns, server_ip)
    server = start_in_ns(server_ns, PY, str(DNS_RESPONDER), server_ip, server_ip, str(SINK_PORT),
                         UPLOAD_NAME)
    try:
        yield client_ns, server_ip
    finally:
        server.kill()
        server.wait()


def test_bulk_upload_150_mib_raises_and_10_mib_does_not(agent_factory, tmp_path, upload_peer):
    client_ns, server_ip = upload_peer
    agent = exfil_agent(agent_factory, tmp_path)

    # below the 100 MiB default: its flow is reported with its bytes, and no finding
    small, out = run_script(UPLOADER, UPLOAD_NAME, str(SINK_PORT), "10",
                            "gw-exfil-" + uuid.uuid4().hex[:8], netns=client_ns)
    assert out.strip() == server_ip
    f = agent.wait_for(flow_of(small, SINK_PORT), timeout=8, what="the 10 MiB flow")["flow"]
    assert int(f["bytes_sent"]) >= 10 * MIB and f["dns_name"] == UPLOAD_NAME, f
    time.sleep(1.5)
    assert not findings(agent, "GW-EXFIL-BULK-UPLOAD"), "10 MiB raised a bulk upload"

    big, out = run_script(UPLOADER, UPLOAD_NAME, str(SINK_PORT), "150",
                          "gw-exfil-" + uuid.uuid4().hex[:8], netns=client_ns)
    ev = agent.wait_for(flow_of(big, SINK_PORT), timeout=8, what="the 150 MiB flow")
    assert int(ev["flow"]["bytes_sent"]) >= 150 * MIB, ev
    fi = finding_citing(agent, "GW-EXFIL-BULK-UPLOAD", ev["event_id"], timeout=3)
    assert fi["category"] == "exfil" and fi["severity"] == "medium", fi
    assert fi["subject"].endswith(" to " + UPLOAD_NAME), fi
    assert "python3" in fi["subject"], fi
    assert server_ip in fi["matched"] and "MiB sent to " + UPLOAD_NAME in fi["matched"], fi
    assert fi["evidence"][0]["kind"] == "flow", fi
    rc, _ = agent.stop()
    assert rc == 0


def test_offboarding_halves_the_threshold_and_raises_severity(agent_factory, tmp_path, upload_peer):
    client_ns, _ = upload_peer
    agent = exfil_agent(agent_factory, tmp_path, "--offboarding")
    pid, _ = run_script(UPLOADER, UPLOAD_NAME, str(SINK_PORT), "60",
                        "gw-exfil-" + uuid.uuid4().hex[:8], netns=client_ns)
    ev = agent.wait_for(flow_of(pid, SINK_PORT), timeout=8, what="the 60 MiB flow")
    fi = finding_citing(agent, "GW-EXFIL-BULK-UPLOAD", ev["event_id"], timeout=3)
    assert fi["severity"] == "high" and "offboarding" in fi["title"], fi
    assert "threshold 50 MiB, offboarding" in fi["matched"], fi


# ---- personal storage and paste services (rules/exfil.yaml) --------------------------------------

STORAGE_NAME = "transfer.sh"
HTTP_PORT = 8080
# A plain HTTP server: PUT reads the body, GET returns argv[3] MiB.
HTTP_SERVER = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        n = int(self.headers.get("Content-Length", 0))
        while n > 0:
            n -= len(self.rfile.read(min(n, 1 << 16)))
        self.send_response(200); self.send_header("Content-Length", "3"); self.end_headers()
        self.wfile.write(b"ok\\n")
    def do_GET(self):
        size = int(sys.argv[3]) << 20
        self.send_response(200); self.send_header("Content-Length", str(size)); self.end_headers()
        chunk = b"\\0" * (1 << 20)
        for _ in range(size >> 20):
            self.wfile.write(chunk)
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H)
print("ready", flush=True)
s.serve_forever()
"""


def curl(client_ns, *args):
    p = subprocess.run(["ip", "netns", "exec", client_ns, "curl", "-sS", "--max-time", "20",
                        "-o", "/dev/null", "-w", "%{http_code}", *args],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and p.stdout == "200", (p.stdout, p.stderr)


def test_upload_to_file_sharing_name_raises_and_download_does_not(agent_factory, tmp_path, netns):
    client_ns, server_ns = netns.add("stc"), netns.add("sts")
    _, server_ip = netns.link_pair(client_ns, server_ns)
    netns.resolv_conf(client_ns, server_ip)
    # the responder's own TCP sink (argv[3]) listens on the discard port, unused here
    dns = start_in_ns(server_ns, PY, str(DNS_RESPONDER), server_ip, server_ip, "9", STORAGE_NAME)
    web = start_in_ns(server_ns, PY, "-c", HTTP_SERVER, server_ip, str(HTTP_PORT), "5")
    payload = tmp_path / "payload.bin"
    payload.write_bytes(b"\1" * (5 << 20))
    agent = exfil_agent(agent_factory, tmp_path)
    try:
        # a 5 MiB download from the same name: its flow sent only the request
        curl(client_ns, f"http://{STORAGE_NAME}:{HTTP_PORT}/report.pdf")
        f = agent.wait_for(lambda e: e.get("type") == "flow"
                           and e["flow"].get("remote_port") == HTTP_PORT, timeout=8,
                           what="the download's flow")["flow"]
        assert f["dns_name"] == STORAGE_NAME and int(f["bytes_received"]) >= 5 << 20, f
        assert int(f.get("bytes_sent", 0)) < 1 << 20, f
        time.sleep(1.5)
        assert not findings(agent, "GW-EXFIL-0006"), "a download raised the upload rule"

        curl(client_ns, "-T", str(payload), f"http://{STORAGE_NAME}:{HTTP_PORT}/payload.bin")
        ev = agent.wait_for(lambda e: e.get("type") == "flow" and e["flow"].get("remote_port")
                            == HTTP_PORT and int(e["flow"].get("bytes_sent", 0)) >= 5 << 20,
                            timeout=8, what="the upload's flow")
        assert ev["flow"]["dns_name"] == STORAGE_NAME, ev
        fi = finding_citing(agent, "GW-EXFIL-0006", ev["event_id"], timeout=3)
        assert fi["category"] == "exfil" and fi["vendor"] == "transfer.sh", fi
        assert fi["subject"].endswith("/curl"), fi
        assert "transfer.sh" in fi["matched"], fi
        assert len(findings(agent, "GW-EXFIL-0006")) == 1, "the download's flow also matched"
    finally:
        for p in (web, dns):
            p.kill()
            p.wait()


# ---- git push and the other copies to a remote (exfil.allowed_remotes) --------------------------

GIT_PORT = 9418


def git(*args, cwd=None):
    p = subprocess.run(["git", "-c", "user.email=t@example.test", "-c", "user.name=t", *args],
                       cwd=cwd, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p


@pytest.fixture
def git_servers(netns, tmp_path):
    """Two namespaces, each serving bare repositories over git:// (git daemon, pushes allowed)
    on a link to this host: yields [(ns_ip, base_dir)] and a local repository with one commit."""
    served, daemons = [], []
    for role in ("gia", "gib"):
        ns = netns.add(role)
        _, ns_ip = netns.link_host(ns)
        base = tmp_path / role
        base.mkdir()
        git("init", "-q", "--bare", str(base / "project.git"))
        d = subprocess.Popen(["ip", "netns", "exec", ns, "git", "daemon", "--reuseaddr",
                              "--export-all", "--enable=receive-pack", f"--base-path={base}",
                              f"--listen={ns_ip}", f"--port={GIT_PORT}", str(base)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        daemons.append(d)
        served.append((ns_ip, base))
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", str(work))
    (work / "notes.txt").write_text("quarterly numbers\n")
    git("add", "notes.txt", cwd=work)
    git("commit", "-q", "-m", "notes", cwd=work)
    deadline = time.monotonic() + 10
    for ip, _ in served:
        while subprocess.run(["git", "ls-remote", f"git://{ip}/project.git"],
                             capture_output=True).returncode:
            assert time.monotonic() < deadline, f"git daemon on {ip} did not start"
            time.sleep(0.1)
    try:
        yield served, work
    finally:
        for d in daemons:
            d.kill()
            d.wait()


def remote_findings(agent):
    return findings(agent, "GW-EXFIL-UNLISTED-REMOTE")


def test_git_push_to_unlisted_remote_raises_and_listed_does_not(agent_factory, tmp_path,
                                                                 git_servers):
    (ip_a, base_a), (ip_b, base_b) = git_servers[0]
    work = git_servers[1]
    git("remote", "add", "origin", f"git://{ip_a}/project.git", cwd=work)

    # on the allow-list (the CIDR of both links): no finding, by URL or by a remote's name
    agent = exfil_agent(agent_factory, tmp_path, "--exfil-allow", "git.company.example",
                        "--exfil-allow", "10.231.0.0/16")
    git("push", "-q", "origin", "main", cwd=work)
    git("push", "-q", f"git://{ip_b}/project.git", "main", cwd=work)
    agent.wait_for(lambda e: e.get("type") == "exec"
                   and "push" in e["exec"]["process"].get("argv", []), what="git push exec")
    time.sleep(2)
    assert not remote_findings(agent), remote_findings(agent)
    rc, _ = agent.stop()
    assert rc == 0

    # not on it: a push by URL is seen in its command line, one by a remote's name in the
    # connection it opens; only the host is reported
    agent = exfil_agent(agent_factory, tmp_path, "--exfil-allow", "git.company.example")
    git("push", "-q", "-f", "origin", "main", cwd=work)
    push = agent.wait_for(lambda e: e.get("type") == "exec"
                          and "push" in e["exec"]["process"].get("argv", []),
                          what="git push exec")["exec"]["process"]
    by_name = agent.wait_for(lambda e: e.get("type") == "finding"
                             and e["finding"]["rule_id"] == "GW-EXFIL-UNLISTED-REMOTE"
                             and e["finding"]["subject"] == f"git push to {ip_a}",
                             timeout=5, what=f"finding for the push to origin by {push}")["finding"]
    assert by_name["evidence"][0]["kind"] == "flow" and by_name["category"] == "exfil", by_name
    assert by_name["severity"] == "medium", by_name
    git("push", "-q", "-f", f"git://{ip_b}/project.git", "main", cwd=work)
    by_url = agent.wait_for(lambda e: e.get("type") == "finding"
                            and e["finding"]["rule_id"] == "GW-EXFIL-UNLISTED-REMOTE"
                            and e["finding"]["subject"] == f"git push to {ip_b}",
                            timeout=5, what="finding for the push by URL")["finding"]
    assert by_url["evidence"][0]["kind"] == "exec", by_url
    assert "command line" in by_url["matched"] and "allowed_remotes" in by_url["matched"]
    for f in remote_findings(agent):
        assert "project.git" not in str(f), f"a URL path was reported: {f}"
    assert (base_b / "project.git" / "refs" / "heads" / "main").exists(), "the push did not land"
    rc, _ = agent.stop()
    assert rc == 0


# ---- removable storage (bpf/exfil.bpf.c on block_rq_issue) --------------------------------------

USB_DEV = "devices/pci0000:00/0000:00:14.0/usb1/1-1"


@pytest.fixture
def loop_disks(tmp_path):
    """Two loop devices over sparse files: yields their (path, major, minor)."""
    made = []
    try:
        for name in ("usb.img", "local.img"):
            img = tmp_path / name
            with open(img, "wb") as f:
                f.truncate(256 << 20)
            dev = subprocess.run(["losetup", "--find", "--show", str(img)], check=True,
                                 capture_output=True, text=True).stdout.strip()
            made.append(dev)
        out = []
        for dev in made:
            rdev = os.stat(dev).st_rdev
            out.append((dev, os.major(rdev), os.minor(rdev)))
        yield out
    finally:
        for dev in made:
            subprocess.run(["losetup", "-d", dev], capture_output=True)


def fake_sysfs(root, usb_disk, other_disk):
    """A sysfs where usb_disk sits under a USB mass-storage interface (class 08) of a SanDisk
    stick and other_disk is a virtual block device; the agent reads only this tree."""
    (root / "dev" / "block").mkdir(parents=True)
    usb = root / USB_DEV
    iface = usb / "1-1:1.0"
    for dev, major, minor in (usb_disk, other_disk):
        name = os.path.basename(dev)
        parent = (iface / "host6" / "target6:0:0" / "6:0:0:0" / "block" if dev == usb_disk[0]
                  else root / "devices" / "virtual" / "block")
        (parent / name).mkdir(parents=True)
        os.symlink(os.path.relpath(parent / name, root / "dev" / "block"),
                   root / "dev" / "block" / f"{major}:{minor}")
    for f, v in (("idVendor", "0781"), ("idProduct", "5583"), ("product", "Ultra Fit"),
                 ("serial", "4C530001230717114452")):
        (usb / f).write_text(v + "\n")
    (iface / "bInterfaceClass").write_text("08\n")


def dd_write(dev, mib):
    subprocess.run(["dd", "if=/dev/zero", f"of={dev}", "bs=1M", f"count={mib}", "oflag=direct",
                    "status=none"], check=True, timeout=60)


def test_writes_to_usb_storage_raise_and_other_disks_do_not(agent_factory, tmp_path, loop_disks):
    usb_disk, other_disk = loop_disks
    root = tmp_path / "sys"
    fake_sysfs(root, usb_disk, other_disk)
    agent = exfil_agent(agent_factory, tmp_path, f"--sys-root={root}")
    assert agent.hooks().get("removable_storage") == "tp_btf/block_rq_issue", agent.hooks()

    # counted in the kernel like any disk, but not USB: nothing is reported
    dd_write(other_disk[0], 120)
    time.sleep(3)
    assert not findings(agent, "GW-EXFIL-REMOVABLE"), findings(agent, "GW-EXFIL-REMOVABLE")

    name = os.path.basename(usb_disk[0])
    dd_write(usb_disk[0], 60)
    time.sleep(3)
    assert not findings(agent, "GW-EXFIL-REMOVABLE"), "60 MiB is below the 100 MiB default"
    dd_write(usb_disk[0], 60)
    fi = agent.wait_for(lambda e: e.get("type") == "finding"
                        and e["finding"]["rule_id"] == "GW-EXFIL-REMOVABLE", timeout=6,
                        what="removable storage finding")["finding"]
    assert fi["subject"] == f"{name} (USB 0781:5583 Ultra Fit)", fi
    assert fi["category"] == "exfil" and fi["severity"] == "medium", fi
    assert fi["evidence"][0]["kind"] == "device", fi
    written = int(fi["matched"].split(" MiB")[0])
    assert 120 <= written <= 125, fi
    assert f"({usb_disk[1]}:{usb_disk[2]})" in fi["matched"], fi
    assert "4C530001" not in str(fi), "the serial number was reported"
    rc, stats = agent.stop()
    assert rc == 0
