#!/usr/bin/python3
"""ab_bpf.py - BPF time per loopback connect of several agent builds, alternating in one run.

    sudo bench/ab_bpf.py ROUNDS NAME=AGENT_BINARY [NAME=AGENT_BINARY ...]

Each round starts every build in random order (`debug --json`, output discarded), waits 2.5 s past
its live-hooks line, runs build/bench/connect_rate at 10k/s for 4 s, and sums the run time of the
build's own BPF programs (bench.py snapshot: found through its fds, kernel.bpf_stats_enabled=1 for
the run) over the connects. Prints per build the total per round and each program's median. Because
the builds alternate within each round, their difference is not the host's drift from one minute to
the next (BENCHMARKS.md). Build the binaries to compare from commits in separate worktrees (make
build/ghostwatch).
"""
import json
import os
import random
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import bench  # noqa: E402

RATE, SECONDS, SETTLE = 10000, 4, 2.5


def one_run(binary):
    with bench.agent_running(binary, SETTLE) as agent:
        before = bench.snapshot(str(agent.pid))
        loop = json.loads(subprocess.run(
            [os.path.join(ROOT, "build/bench/connect_rate"), "--rate", str(RATE), "--seconds",
             str(SECONDS)], capture_output=True, text=True, check=True).stdout)
        after = bench.snapshot(str(agent.pid))
    per_prog = {}
    for pid, pe in after["progs"].items():
        pb = before["progs"].get(pid, {"run_time_ns": 0, "run_cnt": 0})
        if (pe["run_cnt"] - pb["run_cnt"]) / loop["ops"] > 0.5:  # the connect path's programs
            per_prog[pe["name"]] = (pe["run_time_ns"] - pb["run_time_ns"]) / loop["ops"]
    return per_prog


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rounds = int(sys.argv[1])
    builds = dict(arg.split("=", 1) for arg in sys.argv[2:])
    was = subprocess.run(["sysctl", "-n", "kernel.bpf_stats_enabled"], capture_output=True,
                         text=True).stdout.strip() or "0"
    subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=1"], check=True)
    results = {name: [] for name in builds}
    try:
        for _ in range(rounds):
            for name in random.sample(list(builds), len(builds)):
                results[name].append(one_run(builds[name]))
    finally:
        subprocess.run(["sysctl", "-qw", f"kernel.bpf_stats_enabled={was}"])
    for name, runs in results.items():
        totals = [round(sum(r.values())) for r in runs]
        progs = sorted({p for r in runs for p in r})
        medians = " ".join(f"{p}={statistics.median(r.get(p, 0) for r in runs):.0f}"
                           for p in progs)
        print(f"{name}: ns per connect by round {totals}; median {statistics.median(totals):.0f}; "
              f"{medians}")


if __name__ == "__main__":
    main()
