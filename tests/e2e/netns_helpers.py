"""Network namespaces, veth links and helper processes shared by the network and detection e2e tests.

Namespaces are named gwt-<role>-<tag>, use 10.231.x.y addresses, carry traffic only between this
host and themselves, and are deleted after each test (also on failure) by the `netns` fixture.
"""
import random
import subprocess
import textwrap
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PY = "/usr/bin/python3"
DNS_RESPONDER = HERE / "dns_responder.py"


def run_script(code, *args, netns=None, timeout=60):
    """Runs a Python snippet as its own process (argv carries a marker); returns (pid, stdout)."""
    cmd = [PY, "-c", textwrap.dedent(code), *args]
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, f"script failed: {err}"
    return p.pid, out


@contextmanager
def held_script(code, *args, netns=None):
    """Starts a Python snippet (argv carries a marker) that holds something open until its stdin
    says go (see go()); yields the process, killed on the way out if it is still running."""
    cmd = [PY, "-c", textwrap.dedent(code), *args]
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        yield p
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def go(p):
    """Lets a held_script() go on past the stdin line it waits for."""
    assert p.poll() is None, "the held script ended before it was let go"
    p.stdin.write("go\n")
    p.stdin.flush()


def sh(*cmd):
    subprocess.run(cmd, check=True, capture_output=True)


def start_in_ns(ns, *cmd):
    """Starts a helper inside ns and waits for its "ready" line."""
    p = subprocess.Popen(["ip", "netns", "exec", ns, *cmd], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    assert line.strip() == "ready", p.stderr.read() if p.poll() is not None else line
    return p


class Netns:
    """Network namespaces and veth links made for one test; everything is removed on close()."""

    def __init__(self):
        self.names = []
        self.tag = uuid.uuid4().hex[:6]

    def subnet(self):
        return f"10.231.{random.randint(1, 250)}"

    def add(self, role):
        name = f"gwt-{role}-{self.tag}"
        sh("ip", "netns", "add", name)
        self.names.append(name)
        sh("ip", "-n", name, "link", "set", "lo", "up")
        return name

    def link_host(self, ns):
        """veth between this host and ns: returns (host_ip, ns_ip)."""
        net, a, b = self.subnet(), f"gwh{self.tag}{len(self.names)}", f"gwn{self.tag}{len(self.names)}"
        sh("ip", "link", "add", a, "type", "veth", "peer", "name", b, "netns", ns)
        sh("ip", "addr", "add", f"{net}.1/30", "dev", a)
        sh("ip", "link", "set", a, "up")
        sh("ip", "-n", ns, "addr", "add", f"{net}.2/30", "dev", b)
        sh("ip", "-n", ns, "link", "set", b, "up")
        return f"{net}.1", f"{net}.2"

    def link_pair(self, ns_a, ns_b):
        """veth between two namespaces: returns (ip_a, ip_b)."""
        net, a, b = self.subnet(), f"gwa{self.tag}", f"gwb{self.tag}"
        sh("ip", "link", "add", a, "netns", ns_a, "type", "veth", "peer", "name", b, "netns", ns_b)
        sh("ip", "-n", ns_a, "addr", "add", f"{net}.1/30", "dev", a)
        sh("ip", "-n", ns_a, "link", "set", a, "up")
        sh("ip", "-n", ns_b, "addr", "add", f"{net}.2/30", "dev", b)
        sh("ip", "-n", ns_b, "link", "set", b, "up")
        return f"{net}.1", f"{net}.2"

    def resolv_conf(self, ns, nameserver):
        d = Path("/etc/netns") / ns
        d.mkdir(parents=True, exist_ok=True)
        (d / "resolv.conf").write_text(f"nameserver {nameserver}\noptions timeout:2 attempts:1\n")

    def close(self):
        for name in self.names:
            for pid in subprocess.run(["ip", "netns", "pids", name], capture_output=True,
                                      text=True).stdout.split():
                subprocess.run(["kill", "-9", pid], capture_output=True)
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
            d = Path("/etc/netns") / name
            if d.is_dir():
                for f in d.iterdir():
                    f.unlink()
                d.rmdir()


@pytest.fixture
def netns():
    n = Netns()
    yield n
    n.close()
