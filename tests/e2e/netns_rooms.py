"""Network-namespace "rooms" for place and fleet tests: a router namespace with a bridge and a
gateway address, hosts and LAN gadgets plugged into it by veth, and an agent started inside a host's
namespace with the ordinary test binary. Several rooms side by side model several places (a laptop
farm's shelf, a lone home office) on one machine.

Built on netns_helpers.Netns, so the `netns` fixture removes every namespace after the test.
"""
import os
import stat
import subprocess
from pathlib import Path

from netns_helpers import sh

_rooms = 0


class Room:
    """A LAN: router namespace with bridge br0 at <subnet>.1/24 (the hosts' default gateway)."""

    def __init__(self, netns, subnet):
        global _rooms
        _rooms += 1
        self.netns = netns
        self.subnet = subnet
        self.id = _rooms
        self.router = netns.add(f"room{self.id}")
        self.next_ip = 2
        sh("ip", "-n", self.router, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.router, "addr", "add", f"{subnet}.1/24", "dev", "br0")
        sh("ip", "-n", self.router, "link", "set", "br0", "up")
        self.gateway = f"{subnet}.1"
        self.egress = None  # the room's public address once uplink(nat=True) made one

    def router_mac(self):
        return subprocess.run(
            ["ip", "netns", "exec", self.router, "cat", "/sys/class/net/br0/address"],
            check=True, capture_output=True, text=True).stdout.strip()

    def uplink(self, nat=True):
        """Routes the room to this host: a veth from the router to the host namespace, the router
        forwarding (and, with nat, masquerading: every host of the room then reaches the host
        from one public address, like a flat behind one home router). Returns the host-side
        address the room's hosts reach this host at (a NATS server listening there, say)."""
        up_net = f"10.234.{self.id}"
        host_if, router_if = f"gwup{self.netns.tag}{self.id}", "up0"
        sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", router_if, "netns",
           self.router)
        sh("ip", "addr", "add", f"{up_net}.1/30", "dev", host_if)
        sh("ip", "link", "set", host_if, "up")
        sh("ip", "-n", self.router, "addr", "add", f"{up_net}.2/30", "dev", router_if)
        sh("ip", "-n", self.router, "link", "set", router_if, "up")
        sh("ip", "-n", self.router, "route", "add", "default", "via", f"{up_net}.1")
        sh("ip", "netns", "exec", self.router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        if nat:
            for rule in (["add", "table", "ip", "nat"],
                         ["add", "chain", "ip", "nat", "post",
                          "{ type nat hook postrouting priority 100 ; }"],
                         ["add", "rule", "ip", "nat", "post", "oifname", router_if,
                          "masquerade"]):
                sh("ip", "netns", "exec", self.router, "nft", *rule)
            self.egress = f"{up_net}.2"
        else:
            sh("ip", "route", "add", f"{self.subnet}.0/24", "via", f"{up_net}.2")
            self.egress = None
        return f"{up_net}.1"

    def plug(self, role, mac=None, gateway=True, ns=None):
        """A namespace on the LAN (a new one, or ns): eth0 with the next address (and mac, if
        given), default route through the room's gateway. Returns (namespace, address)."""
        ns = ns or self.netns.add(role)
        ip = f"{self.subnet}.{self.next_ip}"
        port = f"p{self.id}x{self.next_ip}"
        self.next_ip += 1
        sh("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port,
           "netns", self.router)
        if mac:
            sh("ip", "-n", ns, "link", "set", "dev", "eth0", "address", mac)
        sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", self.router, "link", "set", port, "master", "br0")
        sh("ip", "-n", self.router, "link", "set", port, "up")
        if gateway:
            sh("ip", "-n", ns, "route", "add", "default", "via", self.gateway)
        return ns, ip


def agent_binary_in(ns, binary, tmp_path):
    """A wrapper that runs the agent binary inside namespace ns (conftest.Agent runs a binary)."""
    w = Path(tmp_path) / f"agent-in-{ns}"
    w.write_text(f'#!/bin/sh\nexec ip netns exec {ns} {binary} "$@"\n')
    w.chmod(w.stat().st_mode | stat.S_IXUSR)
    return w


def ping(ns, ip):
    """Traffic that makes ns's kernel resolve ip by its own ARP (the agent sends nothing): one
    UDP datagram to the discard port, answered or not, after the kernel learned the MAC."""
    code = ("import socket,sys,time\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "s.sendto(b'x',(sys.argv[1],9))\n"
            "time.sleep(0.2)\n")
    subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", code, ip],
                   check=True, capture_output=True)


def fleet_key(tmp_path, key=b"ghostwatch-test-fleet-key-0123456789"):
    p = Path(tmp_path) / "place.key"
    p.write_bytes(key + b"\n")
    os.chmod(p, 0o600)
    return p, key
