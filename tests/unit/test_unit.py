"""Runs every C unit-test binary (built with ASan/UBSan by `make unit`) as one pytest case each."""
import os
import subprocess
from pathlib import Path

import pytest

BUILD = Path(os.environ.get("BUILD", Path(__file__).resolve().parents[2] / "build"))
BINS = sorted((BUILD / "tests").glob("test_*")) if (BUILD / "tests").is_dir() else []


@pytest.mark.parametrize("binary", BINS, ids=[b.name for b in BINS])
def test_unit_binary(binary):
    r = subprocess.run([str(binary)], capture_output=True, text=True, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "not ok" not in r.stdout, out
    assert ", 0 failed" in r.stdout, out


def test_unit_binaries_were_built():
    sources = list((Path(__file__).parent).glob("test_*.c"))
    assert len(BINS) == len(sources), f"built {len(BINS)} of {len(sources)} unit tests: run make unit"
