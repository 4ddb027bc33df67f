"""Runs each libFuzzer target briefly (GW_FUZZ_SECONDS, default 10 s) over its seed corpus.

A crash, leak or sanitizer report fails the test. For a longer campaign:
    build/fuzz/fuzz_X -max_total_time=600 tests/fuzz/corpus/fuzz_X
"""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("BUILD", ROOT / "build"))
TARGETS = sorted((BUILD / "fuzz").glob("fuzz_*")) if (BUILD / "fuzz").is_dir() else []
SECONDS = int(os.environ.get("GW_FUZZ_SECONDS", "10"))


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_fuzz_target_survives(target):
    seeds = ROOT / "tests" / "fuzz" / "corpus" / target.name
    with tempfile.TemporaryDirectory() as work:
        corpus = Path(work) / "corpus"
        if seeds.is_dir():
            shutil.copytree(seeds, corpus)
        else:
            corpus.mkdir()
        r = subprocess.run([str(target), f"-max_total_time={SECONDS}", "-timeout=5",
                            "-rss_limit_mb=1024", str(corpus)],
                           capture_output=True, text=True, timeout=SECONDS + 120, cwd=work)
    assert r.returncode == 0, r.stderr[-4000:]


def test_fuzz_targets_were_built():
    sources = list(Path(__file__).parent.glob("fuzz_*.c"))
    assert len(TARGETS) == len(sources), f"built {len(TARGETS)} of {len(sources)}: run make fuzz"
