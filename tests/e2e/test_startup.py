"""Start-up loads each BPF object at most once: a flavour the kernel refuses as a kind of program
(a policy refusing fentry, an iterator it will not run, kprobes it does not have) is refused by a
probe or by what another domain already learnt, not by loading the whole object again. Each load
of an object parses the kernel's BTF, which is how the test counts them."""
import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import AGENT  # noqa: E402

OBJECTS = 7  # process, network, devices, input cadence, tunnel creators, removable storage, latency


def test_each_object_is_loaded_at_most_once(tmp_path):
    trace = tmp_path / "trace"
    p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat", "-o", str(trace),
                        str(AGENT), "debug", "--duration=1", "--json"],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "ASAN_OPTIONS": "detect_leaks=0"})  # LSan: no ptrace
    assert p.returncode == 0, p.stderr
    assert "live hooks" in p.stderr, p.stderr
    parses = sum("/sys/kernel/btf/vmlinux" in line for line in trace.read_text().splitlines())
    # one parse per object loaded, and one for the probes' attach points
    assert 1 <= parses <= OBJECTS + 1, (
        f"the kernel's BTF was parsed {parses} times: an object was loaded again after a "
        f"refusal a probe would have found\n{p.stderr}")
    # a refusal of a program names it and says why
    for part in re.findall(r"program gw_\w+ \([^)]*\): [^;]*", p.stderr):
        assert re.search(r": (load|attach): |: the kernel refuses this kind of program: ", part), part
