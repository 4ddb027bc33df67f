"""The place domain end to end: the agent inside a network namespace "room" behind a bridge and a
gateway reports that gateway, learns its LAN neighbours only from the kernel's own ARP, raises the
LAN IP-KVM finding for a Raspberry Pi's MAC (and not for an ordinary one), hears an mDNS
announcement without sending, and reports a timezone change made by a settings tool.
"""
import hashlib
import hmac
import os
import socket
import struct
import subprocess
from pathlib import Path

import pytest

from conftest import AGENT, counter
from netns_helpers import netns  # noqa: F401  (fixture)
from netns_rooms import Room, agent_binary_in, fleet_key, ping

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: namespaces and BPF")

FAST = ["--no-network", "--cadence-window=0", "--device-hooks=uevent"]
KVM_MAC = "b8:27:eb:12:34:56"     # Raspberry Pi Foundation: PiKVM/TinyPilot boards
PLAIN_MAC = "00:16:3e:12:34:56"   # Xensource: an ordinary virtual NIC


def mac_hash(key, mac):
    return hmac.new(key, bytes.fromhex(mac.replace(":", "")), hashlib.sha256).hexdigest()[:16]


def places(agent):
    return [e["place"] for e in agent.find(lambda e: e.get("type") == "place")]


def is_place(pred):
    return lambda e: e.get("type") == "place" and pred(e["place"])


def lan_findings(agent, needle):
    return agent.find(lambda e: e.get("type") == "finding"
                      and e["finding"]["rule_id"] == "GW-PLACE-LAN-IPKVM"
                      and needle in e["finding"]["subject"])


@pytest.fixture
def room(netns):  # noqa: F811
    return Room(netns, "10.233.7")


def test_gateway_and_lan_ipkvm_neighbour(room, agent_factory, tmp_path):
    host, _ = room.plug("host")
    _, kvm_ip = room.plug("kvm", mac=KVM_MAC, gateway=False)
    _, plain_ip = room.plug("plain", mac=PLAIN_MAC, gateway=False)
    keyfile, key = fleet_key(tmp_path)
    agent = agent_factory(*FAST, f"--place-key={keyfile}",
                          binary=agent_binary_in(host, AGENT, tmp_path))

    start = agent.wait_for(is_place(lambda p: p.get("change") == "start"), timeout=10,
                           what="start Place")["place"]
    assert start["gateway_address"] == room.gateway
    assert start["interface"] == "eth0"
    assert not start.get("wifi_ssid") and not start.get("wifi_bssid_hash")
    assert "no Wi-Fi place: no nl80211" in agent.stderr  # this host has no Wi-Fi
    assert not lan_findings(agent, "")

    ping(host, room.gateway)
    ping(host, kvm_ip)
    ping(host, plain_ip)
    want = {mac_hash(key, KVM_MAC), mac_hash(key, PLAIN_MAC)}
    seen = agent.wait_for(is_place(lambda p: want <= set(p.get("neighbour_hashes", []))),
                          timeout=15, what="Place with both neighbours")["place"]
    assert "neighbours" in seen["change"]
    # the gateway's MAC, learned when the host first talked through it
    assert seen["gateway_mac_hash"] == mac_hash(key, room.router_mac())
    vendors = {v["oui"]: v for v in seen["neighbour_vendors"]}
    assert vendors["B8:27:EB"]["ipkvm"] is True
    assert vendors["B8:27:EB"]["vendor"].startswith("Raspberry Pi")
    assert vendors["00:16:3E"]["ipkvm"] is False and vendors["00:16:3E"]["count"] == 1
    # raw MACs never appear
    for raw in (KVM_MAC, PLAIN_MAC):
        assert raw not in str(seen).lower() and raw.replace(":", "") not in str(seen).lower()

    f = agent.wait_for(lambda e: e.get("type") == "finding"
                       and e["finding"]["rule_id"] == "GW-PLACE-LAN-IPKVM", timeout=5,
                       what="LAN IP-KVM finding")["finding"]
    assert f["category"] == "ipkvm" and f["severity"] == "low"
    assert f["subject"] == f"neighbour B8:27:EB {mac_hash(key, KVM_MAC)}"
    assert any(ev["kind"] == "place" for ev in f["evidence"])
    assert not lan_findings(agent, "00:16:3E"), "an ordinary OUI raised the IP-KVM finding"
    rc, stats = agent.stop()
    assert rc == 0
    assert counter(stats, "events", "place") == len(places(agent))
    assert counter(stats, "events", "place_findings") == 1
    for drop in ("place_read_errors", "place_netlink_overruns", "place_neighbours_unlisted"):
        assert counter(stats, "drops", drop) == 0, drop


def test_lan_ipkvm_high_beside_a_kvm_device(room, agent_factory, tmp_path):
    """The same neighbour on a host that also has a PiKVM's USB gadget (absolute pointer) and
    EDID in its device inventory: the finding comes at high as well as low."""
    from test_devices_host import build_fake_sysfs
    sysfs = build_fake_sysfs(tmp_path / "sys")
    host, _ = room.plug("host")
    _, kvm_ip = room.plug("kvm", mac=KVM_MAC, gateway=False)
    agent = agent_factory(*FAST, f"--sys-root={sysfs}", "--place-mdns=off",
                          binary=agent_binary_in(host, AGENT, tmp_path))
    agent.wait_for(is_place(lambda p: p.get("change") == "start"), timeout=10)
    ping(host, kvm_ip)
    high = agent.wait_for(lambda e: e.get("type") == "finding"
                          and e["finding"]["rule_id"] == "GW-PLACE-LAN-IPKVM"
                          and e["finding"]["severity"] == "high", timeout=10,
                          what="high LAN IP-KVM finding")["finding"]
    # no fleet key: the maker's prefix only
    assert high["subject"] == "neighbour B8:27:EB + KVM device on this host"
    assert "PiKVM" in high["matched"] or "absolute-pointer" in high["matched"]
    sev = {e["finding"]["severity"] for e in lan_findings(agent, "B8:27:EB")}
    assert sev == {"low", "high"}
    agent.stop()


def mdns_announcement(name):
    """An mDNS response: one A record NAME -> 10.233.7.99, cache-flush class."""
    labels = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    head = struct.pack("!HHHHHH", 0, 0x8400, 0, 1, 0, 0)
    rr = labels + struct.pack("!HHIH", 1, 0x8001, 120, 4) + socket.inet_aton("10.233.7.99")
    return head + rr


def test_plugged_in_later_then_mdns_name_heard(room, netns, agent_factory, tmp_path):  # noqa: F811
    """The agent starts with no network (no gateway); the laptop is then plugged into the room:
    a Place says gateway, and the mDNS listener joins the new interface and hears a name."""
    host = netns.add("late")
    agent = agent_factory(*FAST, binary=agent_binary_in(host, AGENT, tmp_path))
    start = agent.wait_for(is_place(lambda p: p.get("change") == "start"), timeout=10)["place"]
    assert not start.get("gateway_address") and not start.get("addresses")
    room.plug("host", ns=host)
    moved = agent.wait_for(is_place(lambda p: p.get("gateway_address") == room.gateway),
                           timeout=5, what="Place after plugging in")["place"]
    assert "gateway" in moved["change"] and "addresses" in moved["change"]
    gadget, gadget_ip = room.plug("gadget", gateway=False)
    send = ("import socket,sys\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            f"s.setsockopt(socket.IPPROTO_IP,socket.IP_MULTICAST_IF,socket.inet_aton('{gadget_ip}'))\n"
            "s.setsockopt(socket.IPPROTO_IP,socket.IP_MULTICAST_TTL,255)\n"
            "s.sendto(bytes.fromhex(sys.argv[1]),('224.0.0.251',5353))\n")
    pkt = mdns_announcement("pikvm.local").hex()
    for _ in range(3):  # the first may race the agent's group join
        subprocess.run(["ip", "netns", "exec", gadget, "/usr/bin/python3", "-c", send, pkt],
                       check=True, capture_output=True)
        try:
            agent.wait_for(is_place(lambda p: "pikvm.local" in p.get("mdns_names", [])),
                           timeout=3, what="Place with the mDNS name")
            break
        except AssertionError:
            continue
    p = agent.wait_for(is_place(lambda p: "pikvm.local" in p.get("mdns_names", [])), timeout=1)
    assert "mdns" in p["place"]["change"]
    f = agent.wait_for(lambda e: e.get("type") == "finding"
                       and e["finding"]["subject"] == "mdns pikvm.local", timeout=5)["finding"]
    assert f["rule_id"] == "GW-PLACE-LAN-IPKVM" and f["severity"] == "low"
    agent.stop()


def test_rooms_share_egress_through_their_router(netns, tmp_path):  # noqa: F811
    """The rooms helper the laptop-farm tests build on: hosts of one room reach this host from
    the room's one public address, a host of another room from another."""
    rooms = [Room(netns, "10.233.11"), Room(netns, "10.233.12")]
    ups = [r.uplink() for r in rooms]
    hosts = [rooms[0].plug("a1")[0], rooms[0].plug("a2")[0], rooms[1].plug("b1")[0]]
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", 0))
    srv.listen(8)
    srv.settimeout(5)
    port = srv.getsockname()[1]
    seen = []
    for ns, up in zip(hosts, [ups[0], ups[0], ups[1]]):
        code = f"import socket; socket.create_connection(('{up}', {port}), timeout=5).close()"
        subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", code], check=True,
                       capture_output=True)
        conn, peer = srv.accept()
        conn.close()
        seen.append(peer[0])
    srv.close()
    assert seen == [rooms[0].egress, rooms[0].egress, rooms[1].egress]
    assert rooms[0].egress != rooms[1].egress


def zone_link(root, zone):
    tmp = root / "etc" / "localtime.new"
    tmp.symlink_to(f"../usr/share/zoneinfo/{zone}")
    os.replace(tmp, root / "etc" / "localtime")


def test_timezone_locale_keyboard_changes(agent_factory, tmp_path):
    root = tmp_path / "root"
    (root / "etc" / "default").mkdir(parents=True)
    zone_link(root, "Europe/Berlin")
    (root / "etc" / "default" / "locale").write_text('LANG="en_US.UTF-8"\n')
    (root / "etc" / "default" / "keyboard").write_text('XKBMODEL="pc105"\nXKBLAYOUT="us"\n')
    (root / "etc" / "resolv.conf").write_text("nameserver 192.0.2.53\n")
    (root / "usr" / "bin").mkdir(parents=True)
    ibus = root / "usr" / "bin" / "ibus-daemon"
    ibus.write_text("#!/bin/sh\n")
    ibus.chmod(0o755)
    agent = agent_factory(*FAST, f"--place-root={root}", "--place-mdns=off")
    start = agent.wait_for(is_place(lambda p: p.get("change") == "start"), timeout=10)["place"]
    assert start["timezone"] == "Europe/Berlin"
    assert start["locales"] == ["en_US.UTF-8"]
    assert start["keyboard_layouts"] == ["us"]
    assert start["input_methods"] == ["ibus"]
    assert start["dns_servers"] == ["192.0.2.53"]

    # a settings tool by name: the exec the agent sees is the changer it reports
    tool = tmp_path / "timedatectl"
    tool.write_text("#!/bin/sh\nsleep 0.3\nln -s ../usr/share/zoneinfo/Asia/Pyongyang "
                    f"{root}/etc/localtime.new && mv -T {root}/etc/localtime.new "
                    f"{root}/etc/localtime\n")
    tool.chmod(0o755)
    p = subprocess.Popen([str(tool)])
    p.wait(10)
    ev = agent.wait_for(is_place(lambda pl: pl.get("timezone") == "Asia/Pyongyang"), timeout=5,
                        what="Place after the timezone change")["place"]
    assert ev["change"] == "timezone"
    assert ev["changed_by"]["pid"] == p.pid
    assert ev["changed_by"]["comm"] == "timedatectl"

    (root / "etc" / "default" / "keyboard").write_text('XKBLAYOUT="us,kr"\n')
    ev = agent.wait_for(is_place(lambda pl: pl.get("keyboard_layouts") == ["us", "kr"]),
                        timeout=5, what="Place after the keyboard change")["place"]
    assert ev["change"] == "keyboard"
    assert "changed_by" not in ev or not ev["changed_by"]  # no settings tool ran just before

    # an input method daemon runs (by its program name), then exits
    daemon = tmp_path / "ibus-daemon"
    daemon.write_text("#!/bin/sh\nsleep 2\n")
    daemon.chmod(0o755)
    d = subprocess.Popen([str(daemon)])
    ev = agent.wait_for(is_place(lambda pl: "ibus (running)" in pl.get("input_methods", [])),
                        timeout=5, what="Place with ibus running")["place"]
    assert ev["change"] == "input_methods"
    d.wait(10)
    agent.wait_for(is_place(lambda pl: pl.get("input_methods") == ["ibus"]
                            and pl.get("change") == "input_methods"), timeout=5,
                   what="Place after ibus exited")

    (root / "etc" / "resolv.conf").write_text("# dhcp\nnameserver 175.45.178.1\n")
    ev = agent.wait_for(is_place(lambda pl: pl.get("dns_servers") == ["175.45.178.1"]),
                        timeout=5, what="Place after the DNS change")["place"]
    assert ev["change"] == "dns"
    agent.stop()
