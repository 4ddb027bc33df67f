"""RMM tools recognised by their network behaviour, end to end: the real agent, real connections to
test hosts in network namespaces made here, a DNS name served by the test's own responder, and
assertions on the `finding` events (rule, evidence = the connect event) within 2 s.

Namespaces and addresses: tests/e2e/netns_helpers.py (10.231.x.y, removed after each test).
"""
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import ROOT  # noqa: E402
from netns_helpers import DNS_RESPONDER, PY, netns, run_script, start_in_ns  # noqa: E402,F401

FINDING_DEADLINE = 2.0  # seconds from the connection to its finding (issue #6)
ANYDESK_RELAY = "relay-1a2b3c4d.net.anydesk.com"
LOOKALIKE = "evilnet.anydesk.com.attacker.test"
RELAY_PORT = 443


def det_agent(agent_factory, tmp_path):
    rules_d = tmp_path / "rules.d"
    rules_d.mkdir()
    return agent_factory("--rules", str(ROOT / "rules"), "--rules-d", str(rules_d), "--no-forks")


def connect_of(pid, port):
    def pred(e):
        if e.get("type") != "connect":
            return False
        c = e["connect"]
        return (c.get("process") or {}).get("pid") == pid and c.get("remote_port") == port
    return pred


def finding_with_evidence(event_id, rule_id=None):
    def pred(e):
        if e.get("type") != "finding":
            return False
        f = e["finding"]
        return ((rule_id is None or f["rule_id"] == rule_id)
                and event_id in [ev.get("event_id") for ev in f.get("evidence", [])])
    return pred


def wait_finding(agent, rule_id, connect_event, since):
    ev = agent.wait_for(finding_with_evidence(connect_event["event_id"], rule_id),
                        timeout=FINDING_DEADLINE + 1, what=f"finding {rule_id}")
    assert time.monotonic() - since <= FINDING_DEADLINE + 0.5, "finding came too late"
    return ev["finding"]


LISTENER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8)
print("ready", flush=True)
while True:
    c, _ = s.accept(); c.recv(64); c.close()
"""


def test_rustdesk_port_connect_raises_finding(agent_factory, tmp_path, netns):
    agent = det_agent(agent_factory, tmp_path)
    ns = netns.add("rd")
    _, peer_ip = netns.link_host(ns)
    server = start_in_ns(ns, PY, "-c", LISTENER, peer_ip, "21117")
    try:
        pid, _ = run_script(f"""
            import socket
            c = socket.create_connection(("{peer_ip}", 21117), timeout=5); c.sendall(b"x"); c.close()
        """, "gw-det-" + uuid.uuid4().hex[:8])
        t = time.monotonic()
        ev = agent.wait_for(connect_of(pid, 21117), what="connect to 21117")
        c = ev["connect"]
        assert c["remote_address"] == peer_ip and c["protocol"] == "tcp"
        f = wait_finding(agent, "GW-RMM-0204", ev, t)
        assert f["vendor"] == "RustDesk" and f["technique"] == "T1219" and int(f["count"]) >= 1
        assert f["subject"] == c["process"]["exe"], f
    finally:
        server.kill()
        server.wait()


def test_anydesk_relay_name_raises_finding_and_lookalike_none(agent_factory, tmp_path, netns):
    agent = det_agent(agent_factory, tmp_path)
    client_ns, server_ns = netns.add("cli"), netns.add("adk")
    _, server_ip = netns.link_pair(client_ns, server_ns)
    netns.resolv_conf(client_ns, server_ip)
    server = start_in_ns(server_ns, PY, str(DNS_RESPONDER), server_ip, server_ip, str(RELAY_PORT),
                         ANYDESK_RELAY, LOOKALIKE)
    client = """
        import socket, sys
        ip = socket.getaddrinfo(sys.argv[1], {port}, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
        c = socket.create_connection((ip, {port}), timeout=10); c.sendall(b"hello"); c.close()
        print(ip)
    """.format(port=RELAY_PORT)
    try:
        # the look-alike first: anydesk.com is only a label inside it, not its suffix
        pid, out = run_script(client, LOOKALIKE, netns=client_ns)
        assert out.strip() == server_ip
        ev = agent.wait_for(connect_of(pid, RELAY_PORT), what="look-alike connect")
        assert ev["connect"]["dns_name"] == LOOKALIKE, ev
        time.sleep(FINDING_DEADLINE)
        assert not agent.find(finding_with_evidence(ev["event_id"])), "look-alike raised a finding"
        assert not agent.find(lambda e: e.get("type") == "finding"
                              and e["finding"]["rule_id"] == "GW-RMM-0102")

        pid, out = run_script(client, ANYDESK_RELAY, netns=client_ns)
        t = time.monotonic()
        assert out.strip() == server_ip
        ev = agent.wait_for(connect_of(pid, RELAY_PORT), what="AnyDesk relay connect")
        c = ev["connect"]
        assert c["dns_name"] == ANYDESK_RELAY, c
        f = wait_finding(agent, "GW-RMM-0102", ev, t)
        assert f["vendor"] == "AnyDesk" and f["subject"] == c["process"]["exe"], f
        assert "anydesk.com" in f["matched"], f
    finally:
        server.kill()
        server.wait()
    rc, _ = agent.stop()
    assert rc == 0
