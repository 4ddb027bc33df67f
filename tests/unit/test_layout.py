"""The include rule of agent/ (tools/check-layout.sh): domains depend on core/ and common/ only."""
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "tools" / "check-layout.sh"


def run_check(root):
    return subprocess.run(["sh", str(CHECK), str(root)], capture_output=True, text=True, timeout=60)


def write(root, rel, text):
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def clean_tree(root):
    write(root, "agent/main.c", '#include "net/network.h"\n#include "devices/devices.h"\n')
    write(root, "agent/core/agent.h", '#include "arena.h"\n#include "common/log.h"\n')
    write(root, "agent/core/arena.h", "")
    write(root, "agent/net/network.h", '#include "core/agent.h"\n#include "flow_table.h"\n')
    write(root, "agent/net/flow_table.h", "")
    write(root, "agent/devices/devices.h", '#include "core/agent.h"\n')
    write(root, "common/log.h", "#include <stdio.h>\n")


def test_clean_tree_passes(tmp_path):
    clean_tree(tmp_path)
    r = run_check(tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == ""


def test_each_breach_fails_and_is_named(tmp_path):
    clean_tree(tmp_path)
    write(tmp_path, "agent/devices/devices.c", '#include "devices.h"\n\n#include "net/network.h"\n')
    write(tmp_path, "agent/core/agent.c", '#include "agent.h"\n#include "devices/devices.h"\n')
    write(tmp_path, "common/text.h", '#include "core/agent.h"\n')
    r = run_check(tmp_path)
    assert r.returncode == 1, r.stdout
    lines = sorted(r.stdout.splitlines())
    assert lines == [
        'agent/core/agent.c:2: core/ includes the domain header "devices/devices.h"',
        'agent/devices/devices.c:3: the devices domain includes the net domain\'s "net/network.h"',
        'common/text.h:1: common/ includes the agent\'s "core/agent.h"',
    ], r.stdout


def test_a_domain_cannot_climb_into_the_composition_root(tmp_path):
    clean_tree(tmp_path)
    write(tmp_path, "agent/app.h", "")
    write(tmp_path, "agent/net/network.c", '#include "app.h"\n')
    r = run_check(tmp_path)
    assert r.returncode == 1
    assert 'agent/net/network.c:1: includes the composition root\'s "app.h"' in r.stdout


def test_the_agent_keeps_the_rule():
    r = run_check(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
