"""Network hooks on a real distro kernel: the stock Debian 12 (6.1) guest of tests/vm.

The host kernel is 6.18; fleet hosts run older distro kernels whose verifiers are stricter in
places (the DNS capture was refused on 6.1 until its length bound was made arithmetic). Every
network signal must load here, for each TCP flavour, and a refused connect must be attributed.
"""
import time

import pytest


TCP_HOOKS = {"auto": "cgroup/connect4,6+post_bind4,6+tp_btf/tcp_destroy_sock",
             "sockops": "sockops+tp_btf/tcp_destroy_sock", "tp_btf": "tp_btf/inet_sock_set_state",
             "tp": "tp/sock/inet_sock_set_state"}


@pytest.mark.parametrize("tcp_hooks", TCP_HOOKS)
def test_network_hooks_load_and_fire_on_debian_6_1(agent_guest, tcp_hooks):
    vm = agent_guest
    vm.start_agent(["debug", "--json", f"--tcp-hooks={tcp_hooks}"])
    stats = vm.wait_for_event(lambda e: e["type"] == "stats", timeout=30, what="startup stats")
    hooks = {h["signal"]: h for h in stats["stats"]["hooks"]}
    assert hooks["tcp"]["hook"] == TCP_HOOKS[tcp_hooks], hooks
    assert hooks["udp"]["hook"].startswith("cgroup/connect4"), hooks
    # 6.1 has no sock_recv_length tracepoint: the per-packet fallback, with the reason reported
    assert hooks["dns"]["hook"].startswith("cgroup_skb/ingress@"), hooks
    assert hooks["dns"]["error"].startswith("tp_btf/sock_recv_length refused"), hooks
    assert hooks["tcp_open_bytes"]["hook"] == "iter/tcp", hooks
    if tcp_hooks == "auto":
        # 6.1 has no bpf_rdonly_cast: the connect flavour walks every socket for open results
        assert hooks["tcp_open_results"]["hook"] == "iter/tcp", hooks
        assert "bpf_rdonly_cast" in hooks["tcp_open_results"]["error"], hooks
    for signal in ("tcp", "udp"):
        assert not hooks[signal]["error"], hooks
    # the startup stats come after the hooks are attached: this connect is seen
    rc, out = vm.sh("busybox nc 127.0.0.1 1 </dev/null; echo done", timeout=20)
    assert "done" in out
    ev = vm.wait_for_event(lambda e: e["type"] == "connect" and
                           e["connect"]["remote_port"] == 1, timeout=20, what="refused connect")
    c = ev["connect"]
    assert c["result"] == "refused" and c["protocol"] == "tcp"
    assert c["process"]["exe"].endswith("busybox"), c
    assert vm.stop_agent() == 0, vm.agent_stderr()
