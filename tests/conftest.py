"""Shared pytest helpers: start the real agent, collect what it emits, wait for events.

The agent under test is build/asan/ghostwatch (sanitizers on) unless GW_AGENT names another binary.
"""
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("BUILD", ROOT / "build"))
AGENT = Path(os.environ.get("GW_AGENT", BUILD / "asan" / "ghostwatch"))


class Agent:
    """A running `ghostwatch debug --json`, its NDJSON parsed as it arrives."""

    def __init__(self, *args, binary=AGENT, ready_timeout=30, env=None):
        self.events = []
        self.raw_lines = []
        self.bad_lines = []
        self.stderr_lines = []
        self._cond = threading.Condition()
        run_env = dict(os.environ)
        # LeakSanitizer: libbpf's one-time allocations are not ours to chase at exit.
        run_env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        if env:
            run_env.update(env)
        self.proc = subprocess.Popen([str(binary), "debug", "--json", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=run_env)
        self._out = threading.Thread(target=self._read_stdout, daemon=True)
        self._err = threading.Thread(target=self._read_stderr, daemon=True)
        self._out.start()
        self._err.start()
        self.wait_ready(ready_timeout)

    def _read_stdout(self):
        for raw in self.proc.stdout:
            with self._cond:
                self.raw_lines.append(raw)
                try:
                    self.events.append(json.loads(raw))
                except ValueError:
                    self.bad_lines.append(raw)
                self._cond.notify_all()

    def _read_stderr(self):
        for raw in self.proc.stderr:
            with self._cond:
                self.stderr_lines.append(raw.decode(errors="replace"))
                self._cond.notify_all()

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        with self._cond:
            while not any("live hooks" in l for l in self.stderr_lines):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("agent did not start: " + "".join(self.stderr_lines))
                self._cond.wait(0.1)

    @property
    def stderr(self):
        with self._cond:
            return "".join(self.stderr_lines)

    def hooks(self):
        line = next(l for l in self.stderr_lines if "live hooks" in l)
        return dict(kv.split("=", 1) for kv in line.split("live hooks:")[1].split())

    def find(self, pred):
        with self._cond:
            return [e for e in self.events if pred(e)]

    def wait_for(self, pred, timeout=5.0, what="event"):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for e in self.events:
                    if pred(e):
                        return e
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    tail = [json.dumps(e)[:300] for e in self.events[-5:]]
                    raise AssertionError(f"no {what} within {timeout}s; last events: {tail}; "
                                         f"stderr: {''.join(self.stderr_lines)[-2000:]}")
                self._cond.wait(0.1)

    def stop(self, sig=signal.SIGINT, timeout=10):
        """Stops the agent, returns (exit code, final stats event or None)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout)
        self._out.join(5)
        self._err.join(5)
        stats = [e for e in self.events if e.get("type") == "stats"]
        return rc, (stats[-1] if stats else None)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def agent_factory():
    started = []

    def start(*args, **kw):
        a = Agent(*args, **kw)
        started.append(a)
        return a

    yield start
    for a in started:
        a.kill()


@pytest.fixture
def agent(agent_factory):
    return agent_factory()


def exec_of(pid, marker=None):
    """Predicate: the exec event of pid (optionally with marker in argv)."""
    def pred(e):
        if e.get("type") != "exec":
            return False
        p = e["exec"]["process"]
        return p["pid"] == pid and (marker is None or marker in p.get("argv", []))
    return pred


def exit_of(pid):
    return lambda e: e.get("type") == "exit" and e["exit"]["process"]["pid"] == pid


def counter(stats_event, field, name):
    for c in stats_event["stats"].get(field, []):
        if c["name"] == name:
            return int(c["value"])
    return 0
