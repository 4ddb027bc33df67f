"""Tunnel interfaces whatever their name, end to end: real tun/tap interfaces made here by `ip` and
by a Python process doing TUNSETIFF itself, and assertions on the GW-NETIF-TUNNEL finding (the
interface, its kind, the process that made it) and on the network_interface event it cites.
Interfaces not tunnels (veth, bridge) and a tap nobody reads raise nothing.
"""
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import ROOT, counter  # noqa: E402
import pytest  # noqa: E402

RULE = "GW-NETIF-TUNNEL"
FINDING_DEADLINE = 2.0
PY = os.path.realpath(sys.executable)

# Makes a tun (argv[2] == "tun") or tap interface named argv[1] and holds it until stdin closes.
TUNSETIFF = """
import fcntl, os, struct, sys
fd = os.open("/dev/net/tun", os.O_RDWR)
flags = (0x0001 if sys.argv[2] == "tun" else 0x0002) | 0x1000  # IFF_TUN/IFF_TAP | IFF_NO_PI
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", sys.argv[1].encode(), flags))
print("ready", flush=True)
sys.stdin.read()
"""


def unusual_name(prefix):
    return prefix + uuid.uuid4().hex[:8]


class Made:
    """Interfaces and holder processes of one test, all removed on close()."""

    def __init__(self):
        self.names, self.procs = [], []

    def ip(self, name, *args):
        p = subprocess.Popen(["ip", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = p.communicate(timeout=10)
        assert p.returncode == 0, err
        self.names.append(name)
        return p.pid

    def hold(self, name, kind):
        p = subprocess.Popen([PY, "-c", TUNSETIFF, name, kind], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
        self.procs.append(p)
        return p

    def close(self):
        for p in self.procs:
            p.stdin.close()
            p.wait(10)
        for name in self.names:
            subprocess.run(["ip", "link", "del", name], capture_output=True)


@pytest.fixture
def made():
    m = Made()
    yield m
    m.close()


def start_agent(agent_factory, tmp_path):
    rules_d = tmp_path / "rules.d"
    rules_d.mkdir(exist_ok=True)
    return agent_factory("--rules", str(ROOT / "rules"), "--rules-d", str(rules_d), "--no-forks")


def tunnel_finding(ifname):
    return lambda e: (e.get("type") == "finding" and e["finding"]["rule_id"] == RULE
                      and e["finding"]["subject"] == ifname)


def cited_interface(agent, finding):
    ev = finding["evidence"][0]
    assert ev["kind"] == "netif", finding
    nif = agent.find(lambda e: e.get("type") == "network_interface"
                     and str(e["event_id"]) == str(ev["event_id"]))
    assert nif, f"no network_interface event #{ev['event_id']} for {finding}"
    return nif[0]["network_interface"]


def exec_event(agent, pid):
    return agent.wait_for(lambda e: e.get("type") == "exec"
                          and e["exec"]["process"]["pid"] == pid,
                          what=f"exec of pid {pid}")["exec"]["process"]


def wait_tunnel(agent, ifname, since):
    f = agent.wait_for(tunnel_finding(ifname), timeout=FINDING_DEADLINE + 1,
                       what=f"{RULE} for {ifname}")["finding"]
    assert time.monotonic() - since <= FINDING_DEADLINE + 0.5, "finding came too late"
    assert f["category"] == "tunnel" and f["technique"] == "T1572", f
    return f


def test_tun_made_by_ip_names_ip(agent_factory, tmp_path, made):
    """`ip tuntap add` makes a persistent tun and exits at once: it opened /dev/net/tun just
    before the interface appeared."""
    agent = start_agent(agent_factory, tmp_path)
    name = unusual_name("gwz")
    t = time.monotonic()
    pid = made.ip(name, "tuntap", "add", "dev", name, "mode", "tun")
    f = wait_tunnel(agent, name, t)
    ip = exec_event(agent, pid)
    assert os.path.basename(ip["exe"]) == "ip", ip
    assert f["process_id"] == ip["process_id"], (f, ip)
    assert ip["exe"] in f["matched"] and "tun interface " + name in f["matched"], f
    nif = cited_interface(agent, f)
    assert nif["name"] == name and nif["action"] == "added" and nif["kind"] == "tun", nif
    assert nif["creator_source"] == "open", nif
    assert nif["creator"]["pid"] == pid and nif["creator"]["exe"] == ip["exe"], nif
    made.close()
    rc, stats = agent.stop()
    assert rc == 0
    assert counter(stats, "events", "netif_tunnels") >= 1
    assert counter(stats, "events", "tunnel_open") >= 1


@pytest.mark.parametrize("kind", ["tun", "tap"])
def test_interface_made_by_python_names_python(agent_factory, tmp_path, made, kind):
    """A program doing TUNSETIFF itself (as a VPN client does) and holding the queue."""
    agent = start_agent(agent_factory, tmp_path)
    name = unusual_name("gwy")
    t = time.monotonic()
    p = made.hold(name, kind)
    f = wait_tunnel(agent, name, t)
    py = exec_event(agent, p.pid)
    assert py["exe"] == PY and f["process_id"] == py["process_id"], (f, py)
    nif = cited_interface(agent, f)
    assert nif["kind"] == kind and nif["creator"]["pid"] == p.pid, nif
    assert nif["creator_source"] == "fdinfo", nif


def test_tunnel_present_at_start_names_its_holder(agent_factory, tmp_path, made):
    """Made before the agent: the process holding its tun queue (fdinfo `iff:`) is named."""
    name = unusual_name("gwx")
    p = made.hold(name, "tun")
    agent = start_agent(agent_factory, tmp_path)
    f = agent.wait_for(tunnel_finding(name), timeout=FINDING_DEADLINE,
                       what=f"{RULE} for {name} at start")["finding"]
    nif = cited_interface(agent, f)
    assert nif["action"] == "inventory" and nif["creator_source"] == "fdinfo", nif
    assert nif["creator"]["pid"] == p.pid and nif["creator"]["exe"] == PY, nif


def test_veth_bridge_and_unread_tap_raise_nothing(agent_factory, tmp_path, made):
    agent = start_agent(agent_factory, tmp_path)
    tag = uuid.uuid4().hex[:6]
    veth, peer, bridge, tap = f"gwv{tag}", f"gwp{tag}", f"gwb{tag}", f"gwd{tag}"
    made.ip(veth, "link", "add", veth, "type", "veth", "peer", "name", peer)
    made.ip(bridge, "link", "add", bridge, "type", "bridge")
    made.ip(tap, "tuntap", "add", "dev", tap, "mode", "tap")
    # the tap is reported as one, but nothing reads its frames
    nif = agent.wait_for(lambda e: e.get("type") == "network_interface"
                         and e["network_interface"]["name"] == tap,
                         timeout=FINDING_DEADLINE, what="the tap's event")["network_interface"]
    assert nif["kind"] == "tap" and nif["creator"]["exe"].endswith("/ip"), nif
    time.sleep(FINDING_DEADLINE)
    ours = {veth, peer, bridge, tap}
    assert not agent.find(lambda e: e.get("type") == "finding"
                          and e["finding"]["subject"] in ours)
    kinds = {e["network_interface"]["name"]: e["network_interface"].get("kind", "")
             for e in agent.find(lambda e: e.get("type") == "network_interface")}
    assert kinds.get(veth) == "" and kinds.get(bridge) == "", kinds


# ---- consumer VPN clients by their Linux artifacts (rules/vpn.yaml) ------------------------------

@pytest.mark.parametrize("name,rule_id", [
    ("expressvpnctl", "GW-VPN-0020"),  # ExpressVPN 4's CLI (/opt/expressvpn/bin)
    ("surfshark", "GW-VPN-0021"),      # Surfshark's app (/opt/Surfshark)
])
def test_consumer_vpn_program_raises_finding(agent_factory, tmp_path, name, rule_id):
    agent = start_agent(agent_factory, tmp_path)
    exe = tmp_path / name
    exe.write_bytes(Path("/usr/bin/true").read_bytes())
    exe.chmod(0o755)
    t = time.monotonic()
    p = subprocess.Popen([str(exe)])
    p.wait()
    f = agent.wait_for(lambda e: e.get("type") == "finding" and e["finding"]["rule_id"] == rule_id
                       and e["finding"]["subject"] == str(exe), timeout=FINDING_DEADLINE + 1,
                       what=f"{rule_id} for {exe}")["finding"]
    assert time.monotonic() - t <= FINDING_DEADLINE + 0.5, "finding came too late"
    assert f["category"] == "vpn" and f["process_id"] == exec_event(agent, p.pid)["process_id"], f


def test_windscribe_wireguard_interface_raises_both_findings(agent_factory, tmp_path, made):
    """Windscribe names its WireGuard link utun420 (a tun here: no wireguard module): the vendor
    rule by its name and the tunnel finding by its kind."""
    if Path("/sys/class/net/utun420").exists():
        pytest.skip("SKIPPED LOUDLY: utun420 already exists on this shared host; the tunnel "
                    "path is covered by the other tests in this file")
    agent = start_agent(agent_factory, tmp_path)
    t = time.monotonic()
    p = made.hold("utun420", "tun")
    wait_tunnel(agent, "utun420", t)
    f = agent.wait_for(lambda e: e.get("type") == "finding"
                       and e["finding"]["rule_id"] == "GW-VPN-0019", timeout=FINDING_DEADLINE,
                       what="GW-VPN-0019")["finding"]
    assert f["subject"] == "utun420" and f["vendor"] == "Windscribe", f
    assert cited_interface(agent, f)["creator"]["pid"] == p.pid


# ---- the company's own VPN: detections.allow in the config ----------------------------------------

def test_allow_listed_tunnels_raise_nothing_and_are_counted(agent_factory, tmp_path, made):
    """One tunnel allowed by its interface name, one by the executable holding it; a third, not
    allowed, still raises (the list is no blanket)."""
    corp, held, other = unusual_name("gwc"), unusual_name("gwh"), unusual_name("gwo")
    config = tmp_path / "ghostwatch.yaml"
    config.write_text("detections:\n"
                      "  allow:\n"
                      f"    - {{rule: {RULE}, interface: {corp}}}\n"
                      f"    - rule: {RULE}\n"
                      f"      process: {PY}\n")
    rules_d = tmp_path / "rules.d"
    rules_d.mkdir()
    agent = agent_factory("--rules", str(ROOT / "rules"), "--rules-d", str(rules_d),
                          "--no-forks", "--config", str(config))
    assert "2 allow-list items" in agent.stderr
    made.ip(corp, "tuntap", "add", "dev", corp, "mode", "tun")
    made.hold(held, "tun")
    t = time.monotonic()
    made.ip(other, "tuntap", "add", "dev", other, "mode", "tun")
    wait_tunnel(agent, other, t)
    for name in (corp, held):
        nif = agent.wait_for(lambda e, n=name: e.get("type") == "network_interface"
                             and e["network_interface"]["name"] == n,
                             timeout=FINDING_DEADLINE, what=f"the event of {name}")
        assert nif["network_interface"]["kind"] == "tun", nif
    time.sleep(1.0)
    assert not agent.find(lambda e: e.get("type") == "finding"
                          and e["finding"]["subject"] in (corp, held))
    made.close()
    rc, stats = agent.stop()
    assert rc == 0
    assert counter(stats, "events", "findings_allowed") >= 2


def test_bad_allow_list_is_refused_with_its_line(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("detections:\n  allow:\n    - {rule: GW-NETIF-TUNNEL, process: vpnd}\n")
    from conftest import AGENT
    p = subprocess.run([str(AGENT), "debug", "--json", "--config", str(config)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert f"{config}:3: detections.allow.process: must be an absolute path" in p.stderr, p.stderr
