"""Input cadence on this host: every flavour of the input hook is refused (fentry EPERM, no kprobes,
no input devices), so the signal must be reported unavailable, with each refusal, and the agent must
keep running. The real path (fentry and kprobe on the Debian 6.1 kernel, jiggles, typing, uinput)
is tested in the QEMU guest: tests/vm/test_cadence.py.
"""
import subprocess

from conftest import AGENT, counter


def _cadence_status(stats):
    return next(h for h in stats["stats"]["hooks"] if h["signal"] == "input_cadence")


def test_cadence_unavailable_with_every_refusal(agent):
    status = agent.hooks().get("input_cadence")
    if status != "none":
        # a kernel that does accept an input hook: then it must be one of the chain
        assert status.split("/")[0] in ("fentry", "kprobe"), agent.stderr
        return
    assert "input cadence unavailable" in agent.stderr
    stats = agent.wait_for(lambda e: e.get("type") == "stats", what="stats")
    st = _cadence_status(stats)
    assert st["hook"] == "none"
    for flavour in ("fentry/input_handle_event", "fentry/input_event", "kprobe/input_handle_event",
                    "kprobe/input_event"):
        assert flavour in st["error"], st
    # nothing measured, nothing dropped, and the rest of the agent runs on
    rc, final = agent.stop()
    assert rc == 0
    assert counter(final, "events", "cadence_window") == 0
    assert counter(final, "drops", "cadence_window") == 0
    assert counter(final, "drops", "cadence_state") == 0
    assert not agent.find(lambda e: e.get("type") == "cadence")


def test_cadence_off_by_configuration(agent_factory):
    agent = agent_factory("--cadence-window=0")
    assert agent.hooks().get("input_cadence") == "none"
    stats = agent.wait_for(lambda e: e.get("type") == "stats", what="stats")
    assert _cadence_status(stats)["error"] == "disabled by configuration"
    assert agent.stop()[0] == 0


def test_bad_cadence_flags():
    for flag in ("--cadence-hooks=uprobe", "--cadence-window=-1", "--cadence-idle=x"):
        r = subprocess.run([str(AGENT), "debug", flag], capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, (flag, r.stderr)
        assert "--cadence-" in r.stderr, r.stderr
