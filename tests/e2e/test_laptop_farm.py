"""The laptop farm end to end with real agents: one `ghostwatch run` per network namespace, each
with its own host id, employee and certificate and the fleet-wide place key, in two netns rooms
(tests/e2e/netns_rooms.py): three laptops of three employees on room A's shelf behind one router,
one laptop alone in room B. Both rooms reach nats-server on this host through masquerading routers;
the collector reads the stream and nats-server's client list.

Asserted on what the collector wrote (NDJSON) and on `report --json`: one laptop-farm cluster
naming the three and never the lone host; an IP-KVM board on room A's bridge raises the LAN IP-KVM
finding on the hosts whose kernels learned it and makes the farm critical; room B's host sees its
own ordinary neighbour and raises no IP-KVM finding; room A's hosts share one egress address;
the lone laptop's clock is not in its employee's declared timezone; no MAC arrives in clear.
"""
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import AGENT
from fleet_harness import (DEPLOY, Collector, NatsServer, collector_binary, free_ports, host,
                           wait_for)
from netns_helpers import netns  # noqa: F401  (fixture)
from netns_rooms import Room, fleet_key, ping

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0,
                       reason="SKIPPED LOUDLY: needs root for namespaces and BPF"),
    pytest.mark.skipif(shutil.which("nats-server") is None,
                       reason="SKIPPED LOUDLY: nats-server is not installed (make deps)"),
    pytest.mark.skipif(not AGENT.exists() or not collector_binary().exists(),
                       reason="SKIPPED LOUDLY: the agent or collector is not built (make all asan)"),
]

def host_timezone():
    try:
        return os.readlink("/etc/localtime").split("zoneinfo/", 1)[1]
    except (OSError, IndexError):
        return ""


FARM = "GW-FLEET-LAPTOP-FARM"
LAN_KVM = "GW-PLACE-LAN-IPKVM"
EGRESS = "GW-FLEET-SHARED-EGRESS"
KVM_MAC = "94:83:c4:0a:0b:0c"     # GL.iNet: the Comet remote KVM (rules/lan/ipkvm_oui.yaml)
PLAIN_MAC = "00:16:3e:0d:0e:0f"   # Xensource: an ordinary virtual NIC
# host ids from fleet_harness.HOSTS: nats-server's accounts file has a user for each
SHELF = {"host-a": "emp-anna", "host-b": "emp-bela", "host-c": "emp-chen"}
LONE = ("host-d", "emp-dora")
# the lone laptop's employee declared a timezone its clock does not have
LONE_TZ = "America/New_York" if host_timezone() != "America/New_York" else "Europe/Warsaw"


class RunAgent:
    """`ghostwatch run --config FILE` inside a namespace; its stderr kept as it arrives."""

    def __init__(self, ns, config):
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        self.lines = []
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns, str(AGENT), "run", "--config",
                                      str(config)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=env)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stderr:
            self.lines.append(raw.decode(errors="replace"))

    @property
    def log(self):
        return "".join(self.lines)

    def live(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"agent exited {self.proc.returncode}: {self.log[-3000:]}")
        return "live hooks" in self.log


def agent_config(path, host_id, employee, url, pki, keyfile, tmp, employee_tz=None):
    """A fleet config with the per-host parts, the shared place key, and every switch that keeps
    the agent light: no process, network, device or input events forwarded, no mDNS listener."""
    state = tmp / host_id
    state.mkdir()
    path.write_text(
        f"collector:\n  urls: [{url}]\n  publish_timeout_ms: 2000\n  reconnect_min_ms: 100\n"
        "  reconnect_max_ms: 1000\n  connect_timeout_ms: 2000\n"
        f"tls:\n  cert: {pki / f'agent-{host_id}.pem'}\n  key: {pki / f'agent-{host_id}.key'}\n"
        f"  ca: {pki / 'ca.pem'}\n"
        f"host_id: {host_id}\n"
        f"spool:\n  dir: {state / 'spool'}\n"
        "batch:\n  window_seconds: 1\n"
        "signals:\n  process: false\n  network: false\n  devices: false\n  input: false\n"
        f"employee:\n  id: {employee}\n"
        + (f"  timezone: {employee_tz}\n" if employee_tz else "") +
        f"sessions:\n  state_file: {state / 'activity.state'}\n"
        f"rules:\n  local_dir: {state / 'rules.d'}\n"
        f"place:\n  mac_key_file: {keyfile}\n  mdns: false\n"
        "log_level: info\nstats_seconds: 60\n")
    return path


def fleet_pki(dirpath, sans):
    """The test PKI for the four hosts, the server certificate also naming the rooms' uplinks."""
    env = dict(os.environ, GW_SERVER_SANS=",".join(f"IP:{a}" for a in sans))
    subprocess.run([str(DEPLOY / "pki" / "make-test-ca.sh"), str(dirpath), *SHELF, LONE[0]],
                   check=True, capture_output=True, timeout=60, env=env)
    return Path(dirpath)


def nats_for_rooms(tmp_path, pki):
    """single.conf on every address of this host (the rooms arrive on their uplinks, the
    collector on loopback), monitoring on loopback as deploy/nats configures it."""
    (port,) = free_ports(1)
    server = NatsServer(tmp_path / "nats", pki, DEPLOY / "nats" / "single.conf", port)
    server.conf.write_text(re.sub(r"^listen: \S+", f"listen: 0.0.0.0:{port}",
                                  server.conf.read_text(), flags=re.M))
    return server.start()


def findings(col, rule):
    return [l for l in col.lines(containing=rule.encode())
            if l.get("type") == "finding" and l["finding"]["rule_id"] == rule]


def hosts_of(lines):
    return {l["host_id"] for l in lines}


def named(matched):
    return set(re.findall(r"\b(host-[a-d]) \(employee ([\w-]+)\)", matched))


def test_three_laptops_on_one_shelf_and_one_alone(netns, tmp_path):  # noqa: F811
    room_a, room_b = Room(netns, "10.233.21"), Room(netns, "10.233.22")
    up_a, up_b = room_a.uplink(), room_b.uplink()
    shelf = {h: room_a.plug(h)[0] for h in SHELF}
    lone_ns, _ = room_b.plug(LONE[0])
    _, kvm_ip = room_a.plug("kvm", mac=KVM_MAC, gateway=False)
    _, plain_ip = room_b.plug("printer", mac=PLAIN_MAC, gateway=False)
    pki = fleet_pki(tmp_path / "pki", [up_a, up_b])
    keyfile, _ = fleet_key(tmp_path)
    server = nats_for_rooms(tmp_path, pki)
    col, agents = None, []
    try:
        col = Collector(tmp_path / "col", pki, server.url, "--nats-monitor", server.monitor_url,
                        "--nats-monitor-interval", "1").start()
        placed = [(shelf[h], h, e, up_a) for h, e in SHELF.items()] + [(lone_ns, *LONE, up_b)]
        for ns, h, emp, up in placed:
            cfg = agent_config(tmp_path / f"{h}.yaml", h, emp, f"tls://{up}:{server.port}", pki,
                               keyfile, tmp_path, employee_tz=LONE_TZ if h == LONE[0] else None)
            agents.append(RunAgent(ns, cfg))
        wait_for(lambda: all(a.live() for a in agents), 60, "four agents' live hooks",
                 interval=0.2)
        # every agent reached nats-server through its room's router: its kernel learned the
        # gateway's MAC on the way, and the Place with that gateway is in a batch
        wait_for(lambda: all((host(col.report(), h) or {}).get("place", {}).get(
            "gateway_mac_hash") for h in [*SHELF, LONE[0]]), 30,
            "every host's gateway in the fleet view", interval=0.5)

        # the shelf is one farm, the lone laptop is in none
        # one finding per member naming all three; two laptops whose batches came before the
        # third's may have been a farm of two first (each a subset of the shelf, never host-d)
        def full():
            return [l for l in findings(col, FARM)
                    if named(l["finding"]["matched"]) == set(SHELF.items())]
        wait_for(lambda: hosts_of(full()) == set(SHELF), 20, "the farm's findings")
        time.sleep(1.5)  # more would come with the batches already here
        farm = full()
        assert sorted(hosts_of(farm)) == sorted(SHELF) and len(farm) == 3, farm
        for l in farm:
            f = l["finding"]
            assert f["subject"] == "3 hosts, 3 employees", f
            assert f["severity"] == "high" and f["category"] == "ipkvm", f
            assert "share gateway MAC hash " in f["matched"], f["matched"]
        for l in findings(col, FARM):
            assert l["host_id"] in SHELF and len(named(l["finding"]["matched"])) >= 2, l
            assert named(l["finding"]["matched"]) <= set(SHELF.items()), l
            assert LONE[0] not in l["finding"]["matched"], l
        gw = {host(col.report(), h)["place"]["gateway_mac_hash"] for h in SHELF}
        assert len(gw) == 1 and gw.pop() in farm[0]["finding"]["matched"]
        rep = col.report()
        for h, emp in SHELF.items():
            v = host(rep, h)
            assert v["employee_id"] == emp, v
            assert {"rule_id": FARM, "severity": "high", "count": 1} in v["finding_rules"], v
        d = host(rep, LONE[0])
        assert d["employee_id"] == LONE[1] and d["place"]["gateway_mac_hash"] not in \
            farm[0]["finding"]["matched"], d
        assert FARM not in {r["rule_id"] for r in d["finding_rules"]}, d

        # an IP-KVM on the shelf: the kernels of two laptops learn it (their own ARP, the agents
        # send nothing); room B's laptop only learns its printer
        for h in ("host-a", "host-b"):
            ping(shelf[h], kvm_ip)
        ping(lone_ns, plain_ip)
        wait_for(lambda: hosts_of(findings(col, LAN_KVM)) == {"host-a", "host-b"}, 20,
                 "the LAN IP-KVM findings of host-a and host-b")
        for l in findings(col, LAN_KVM):
            f = l["finding"]
            assert f["subject"].startswith("neighbour 94:83:C4 "), f
            assert f["severity"] == "low" and f["category"] == "ipkvm", f
        wait_for(lambda: {l["host_id"] for l in findings(col, FARM)
                          if l["finding"]["severity"] == "critical"} == set(SHELF), 20,
                 "the farm made critical on all three")
        crit = [l["finding"] for l in findings(col, FARM) if l["finding"]["severity"] ==
                "critical"]
        for f in crit:
            assert named(f["matched"]) == set(SHELF.items()) and LONE[0] not in f["matched"]
            # raised once, when the first member's IP-KVM arrived: that member is its evidence
            ev = f["matched"].split("IP-KVM evidence: ", 1)[1]
            kvm_hosts = set(re.findall(r"(host-[a-d]): IP-KVM on its LAN \(GL Technologies", ev))
            assert kvm_hosts and kvm_hosts <= {"host-a", "host-b"}, ev
            assert "host-c" not in ev and LONE[0] not in ev, ev
        assert len(crit) == 3, crit
        # room B's laptop saw its LAN (the printer's vendor is in its Place) and no IP-KVM
        wait_for(lambda: any(v.get("oui") == "00:16:3E" for l in col.lines(b'"place"')
                             if l["host_id"] == LONE[0] and l.get("type") == "place"
                             for v in l["place"].get("neighbour_vendors", [])), 10,
                 "host-d's Place with its printer")
        assert LONE[0] not in hosts_of(findings(col, LAN_KVM))
        assert LONE[0] not in hosts_of(findings(col, FARM))
        rep = col.report()
        for h in SHELF:
            rules = {r["rule_id"]: r for r in host(rep, h)["finding_rules"]}
            assert rules[FARM]["severity"] == "critical", rules
            assert (LAN_KVM in rules) == (h != "host-c"), rules
        d = host(rep, LONE[0])
        assert not {FARM, LAN_KVM} & {r["rule_id"] for r in d["finding_rules"]}, d

        # nats-server's client list: the shelf's laptops connect from room A's one address
        wait_for(lambda: hosts_of(findings(col, EGRESS)) == set(SHELF), 15,
                 "the shelf's shared-egress findings")
        for l in findings(col, EGRESS):
            assert l["finding"]["subject"] == room_a.egress, l
            assert named(l["finding"]["matched"]) == set(SHELF.items()), l
        assert LONE[0] not in hosts_of(findings(col, EGRESS))

        # nobody moved (learning the gateway's MAC after start is not a new place), but the
        # lone laptop's clock is not in the timezone its employee declared
        moved = findings(col, "GW-FLEET-MOVED")
        if host_timezone():
            assert hosts_of(moved) == {LONE[0]} and len(moved) == 1, moved
            f = moved[0]["finding"]
            assert f["severity"] == "high", f
            assert f["matched"] == (f"timezone {host_timezone()}, the employee declared "
                                    f"{LONE_TZ}"), f
        else:
            assert moved == [], "no /etc/localtime here: no timezone to compare"
        # MACs reach the collector only as keyed hashes
        written = b"".join(f.read_bytes() for f in col.out.glob("*.ndjson")).lower()
        for mac in (KVM_MAC, PLAIN_MAC, room_a.router_mac(), room_b.router_mac()):
            assert mac.encode() not in written and mac.replace(":", "").encode() not in written
    finally:
        for a in agents:
            if a.proc.poll() is None:
                a.proc.send_signal(signal.SIGTERM)
        codes = {}
        for a, h in zip(agents, [*SHELF, LONE[0]]):
            try:
                codes[h] = a.proc.wait(20)
            except subprocess.TimeoutExpired:
                a.proc.kill()
                codes[h] = a.proc.wait(5)
            a.reader.join(5)
        col_rc = col.stop() if col else None
        server.stop()
    for a, (h, rc) in zip(agents, codes.items()):
        assert rc == 0, f"{h} exited {rc}: {a.log[-3000:]}"
    assert col_rc == 0, col.log_text()[-3000:]
