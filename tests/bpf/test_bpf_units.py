"""Runs every case of every BPF unit-test runner (built by `make bpf-units`) as its own pytest case,
so a failure names the transition: `test_bpf_unit[cadence/motion_after_gap_ends_burst]`.

Each runner (build/tests/bpf/test_X, from tests/bpf/test_X.c and test_X.bpf.c) loads its test
object and drives the logic of a bpf/lib header through BPF_PROG_TEST_RUN. They load BPF: run them
under the shared lock (flock /tmp/gw-e2e.lock tools/run-tests.sh tests/bpf).
"""
import os
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
BUILD = Path(os.environ.get("BUILD", HERE.parents[1] / "build"))
RUNNERS = sorted(p.name[:-len(".bpf.c")] for p in HERE.glob("test_*.bpf.c"))


def _cases():
    params = []
    for runner in RUNNERS:
        binary = BUILD / "tests" / "bpf" / runner
        short = runner[len("test_"):]
        if not binary.exists():
            params.append(pytest.param(binary, None, id=f"{short}/not-built"))
            continue
        listed = subprocess.run([str(binary), "--list"], capture_output=True, text=True,
                                timeout=30)
        names = listed.stdout.split() if listed.returncode == 0 else []
        if not names:
            params.append(pytest.param(binary, None, id=f"{short}/no-cases"))
        params += [pytest.param(binary, name, id=f"{short}/{name}") for name in names]
    return params


@pytest.mark.parametrize("binary,case", _cases())
def test_bpf_unit(binary, case):
    assert binary.exists(), f"{binary} was not built: run make bpf-units"
    assert case, f"{binary} --list named no cases"
    if os.geteuid() != 0:
        pytest.skip("loading BPF needs root")
    r = subprocess.run([str(binary), case], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and f"ok {case}\n" in r.stdout, r.stdout + r.stderr


def test_every_runner_has_a_test_object():
    runners = sorted(p.stem for p in HERE.glob("test_*.c") if not p.name.endswith(".bpf.c"))
    assert runners == RUNNERS, "each tests/bpf/test_X.c needs its test_X.bpf.c and back"
