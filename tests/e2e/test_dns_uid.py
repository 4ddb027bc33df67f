"""DNS names are kept per uid, end to end: an unprivileged user's own lookup that maps the address
a root process connects to onto a benign name must not rename root's connection (the agent's
cache was global, last writer wins). Real processes of two uids (setpriv), a real DNS responder in
a network namespace, assertions on the Connection events and AgentStats the agent emitted.
"""
import pwd
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import counter  # noqa: E402
from netns_helpers import PY, netns, run_script, start_in_ns  # noqa: E402,F401
from test_network import RMM_NAME, connects, dns_agent, flows, marker  # noqa: E402

HERE = Path(__file__).resolve().parent
BENIGN = "updates.benign-cdn.test"
NOBODY = 65534
OTHER = 65533  # a second unprivileged uid that looks nothing up

LOOKUP = """
    import socket, sys
    print(socket.getaddrinfo(sys.argv[2], 8443, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])
"""
CONNECT = """
    import socket, sys
    c = socket.create_connection((sys.argv[2], 8443), timeout=10); c.sendall(b"x"); c.close()
"""


def run_as(uid, ns, code, *args):
    """Runs a Python snippet as `uid` (and gid) inside ns; returns (pid, stdout)."""
    cmd = ["ip", "netns", "exec", ns, "setpriv", f"--reuid={uid}", f"--regid={uid}",
           "--clear-groups", PY, "-c", textwrap.dedent(code), marker(), *args]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         cwd="/")
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, f"script as uid {uid} failed: {err}"
    return p.pid, out


@pytest.mark.parametrize("dns_mode", ["recv", "cgroup_skb"])
def test_another_uid_cannot_rename_roots_connection(agent_factory, netns, dns_mode):
    agent = dns_agent(agent_factory, dns_mode)
    client_ns, server_ns = netns.add("cli"), netns.add("dns")
    client_ip, server_ip = netns.link_pair(client_ns, server_ns)
    netns.resolv_conf(client_ns, server_ip)
    # the responder answers both names with the one address: the relay's, and the user's
    # benign-looking name for it
    server = start_in_ns(server_ns, PY, str(HERE / "dns_responder.py"), server_ip, server_ip,
                         "8443", BENIGN)
    try:
        _, out = run_script(LOOKUP, marker(), RMM_NAME, netns=client_ns)
        assert out.strip() == server_ip
        # after root's lookup: under one global cache this last answer renamed the address
        _, out = run_as(NOBODY, client_ns, LOOKUP, BENIGN)
        assert out.strip() == server_ip
        root_pid, _ = run_script(CONNECT, marker(), server_ip, netns=client_ns)
        user_pid, _ = run_as(NOBODY, client_ns, CONNECT, server_ip)
        other_pid, _ = run_as(OTHER, client_ns, CONNECT, server_ip)
        c = agent.wait_for(connects(agent, root_pid, remote_port=8443), what="root's connect")
        assert c["connect"]["dns_name"] == RMM_NAME, c
        c = agent.wait_for(connects(agent, user_pid, remote_port=8443), what="user's connect")
        assert c["connect"]["dns_name"] == BENIGN, c
        # a uid with no lookup of its own gets root's name, never another user's
        c = agent.wait_for(connects(agent, other_pid, remote_port=8443), what="other connect")
        assert c["connect"]["dns_name"] == RMM_NAME, c
        # the flows (flushed after each process's exit) carry the same names
        for pid, name in ((root_pid, RMM_NAME), (user_pid, BENIGN), (other_pid, RMM_NAME)):
            f = agent.wait_for(flows(pid, remote_port=8443), timeout=8, what="flow")["flow"]
            assert f["dns_name"] == name, f
    finally:
        server.kill()
        server.wait()
    rc, stats = agent.stop()
    assert rc == 0
    assert counter(stats, "network", "dns_cache_overrides_refused") >= 1
    assert counter(stats, "network", "dns_cache_shared_hits") >= 1


def start_stub(ns, upstream):
    """dnsmasq as a caching-off stub resolver on 127.0.0.1:53 inside ns, under its own account."""
    p = subprocess.Popen(["ip", "netns", "exec", ns, "dnsmasq", "--keep-in-foreground",
                          "--conf-file=/dev/null", "--user=dnsmasq", "--no-resolv", "--no-hosts",
                          f"--server={upstream}", "--listen-address=127.0.0.1",
                          "--bind-interfaces", "--cache-size=0", "--pid-file="],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert p.poll() is None, f"dnsmasq exited: {p.stderr.read()}"
        probe = subprocess.run(["ip", "netns", "exec", ns, "ss", "-Hlun", "sport", "= :53"],
                               capture_output=True, text=True)
        if "127.0.0.1:53" in probe.stdout:
            return p
        time.sleep(0.1)
    p.kill()
    raise AssertionError("dnsmasq did not listen on 127.0.0.1:53")


@pytest.mark.parametrize("dns_mode", ["recv", "cgroup_skb"])
def test_stub_resolver_clients_keep_their_own_names(agent_factory, netns, dns_mode):
    """Through a local stub resolver (dnsmasq, as systemd-resolved's 127.0.0.53 works) the capture
    sees two reads: the resolver's of the upstream answer, under its account (a shared uid), and
    each client's of the forwarded answer over loopback, under the client's uid. The client's own
    name wins; the resolver's names a uid without one, after root's."""
    if not shutil.which("dnsmasq"):
        pytest.skip("dnsmasq is not installed (tools/deps.sh installs dnsmasq-base): the stub "
                    "resolver path is untested; test_another_uid_cannot_rename_roots_connection "
                    "still covers per-uid names")
    try:
        pwd.getpwnam("dnsmasq")
    except KeyError:
        pytest.skip("no dnsmasq account: the stub resolver path is untested")
    agent = dns_agent(agent_factory, dns_mode)
    client_ns, server_ns = netns.add("cli"), netns.add("dns")
    client_ip, server_ip = netns.link_pair(client_ns, server_ns)
    netns.resolv_conf(client_ns, "127.0.0.1")
    server = start_in_ns(server_ns, PY, str(HERE / "dns_responder.py"), server_ip, server_ip,
                         "8443", BENIGN)
    stub = start_stub(client_ns, server_ip)
    try:
        # before root looked anything up, the resolver's own read is all a lookup-less uid has
        _, out = run_as(NOBODY, client_ns, LOOKUP, BENIGN)
        assert out.strip() == server_ip
        early_pid, _ = run_as(OTHER, client_ns, CONNECT, server_ip)
        c = agent.wait_for(connects(agent, early_pid, remote_port=8443), what="early connect")
        assert c["connect"]["dns_name"] == BENIGN, c
        _, out = run_script(LOOKUP, marker(), RMM_NAME, netns=client_ns)
        assert out.strip() == server_ip
        # the resolver's latest upstream answer is the user's again
        run_as(NOBODY, client_ns, LOOKUP, BENIGN)
        root_pid, _ = run_script(CONNECT, marker(), server_ip, netns=client_ns)
        user_pid, _ = run_as(NOBODY, client_ns, CONNECT, server_ip)
        other_pid, _ = run_as(OTHER, client_ns, CONNECT, server_ip)
        c = agent.wait_for(connects(agent, root_pid, remote_port=8443), what="root's connect")
        assert c["connect"]["dns_name"] == RMM_NAME, c
        c = agent.wait_for(connects(agent, user_pid, remote_port=8443), what="user's connect")
        assert c["connect"]["dns_name"] == BENIGN, c
        c = agent.wait_for(connects(agent, other_pid, remote_port=8443), what="other connect")
        assert c["connect"]["dns_name"] == RMM_NAME, c
    finally:
        for p in (stub, server):
            p.kill()
            p.wait()
    rc, stats = agent.stop()
    assert rc == 0
    assert counter(stats, "network", "dns_cache_shared_hits") >= 2
    assert counter(stats, "network", "dns_cache_overrides_refused") >= 1


# In a user namespace of its own the user is "root" there: a server of its own on 127.0.0.1:53 of
# its own network namespace answers its own query, from a socket connected as glibc's are.
USERNS_LOOKUP = """
    import socket, struct, subprocess, sys, time
    sys.path.insert(0, sys.argv[4])
    from dns_responder import encode_name
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    srv = subprocess.Popen([sys.executable, sys.argv[4] + "/dns_responder.py", "127.0.0.1",
                            sys.argv[3], "8053", sys.argv[2]], stdout=subprocess.PIPE, text=True)
    assert srv.stdout.readline().strip() == "ready"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", 53))
    s.send(b"\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00" + encode_name(sys.argv[2]) +
           b"\\x00\\x01\\x00\\x01")
    s.settimeout(5)
    print(len(s.recv(512)))
    srv.kill()
"""


@pytest.mark.parametrize("dns_mode", ["recv", "cgroup_skb"])
def test_user_namespace_root_is_not_root(agent_factory, netns, dns_mode):
    """A user who is root only in a user namespace of their own is not root for the name cache:
    the cgroup_skb fallback takes the asker's uid from the sock_addr hooks, not the socket's uid
    as its namespace's owner sees it (0 here)."""
    probe = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                            "unshare", "--user", "--map-root-user", "--net", "true"],
                           capture_output=True, text=True, cwd="/")
    if probe.returncode:
        pytest.skip("unprivileged user namespaces are off on this host, so this attack cannot be "
                    f"made here ({probe.stderr.strip()}); the other tests cover per-uid names")
    agent = dns_agent(agent_factory, dns_mode)
    client_ns, server_ns = netns.add("cli"), netns.add("dns")
    client_ip, server_ip = netns.link_pair(client_ns, server_ns)
    netns.resolv_conf(client_ns, server_ip)
    server = start_in_ns(server_ns, PY, str(HERE / "dns_responder.py"), server_ip, server_ip,
                         "8443")
    try:
        _, out = run_script(LOOKUP, marker(), RMM_NAME, netns=client_ns)
        assert out.strip() == server_ip
        cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
               "unshare", "--user", "--map-root-user", "--net", PY, "-c",
               textwrap.dedent(USERNS_LOOKUP), marker(), BENIGN, server_ip, str(HERE)]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd="/")
        assert p.returncode == 0 and int(p.stdout) > 12, p.stderr
        root_pid, _ = run_script(CONNECT, marker(), server_ip, netns=client_ns)
        c = agent.wait_for(connects(agent, root_pid, remote_port=8443), what="root's connect")
        assert c["connect"]["dns_name"] == RMM_NAME, c
    finally:
        server.kill()
        server.wait()
    rc, stats = agent.stop()
    assert rc == 0
    # the user's answer was seen and kept apart
    assert counter(stats, "network", "dns_cache_overrides_refused") >= 1
