#!/usr/bin/python3
"""ab_loop.py - what several agent builds cost the loopback connect loop, alternating in one run.

    sudo bench/ab_loop.py ROUNDS NAME=AGENT_BINARY [NAME=AGENT_BINARY ...]

Each round runs build/bench/connect_rate at 10k/s for 3 s pinned to CPU 1, once without an agent
and once under each build (`debug --json`, output discarded, measured from 1 s after its live-hooks
line), in a random order. Prints each round's loop CPU per connect and ratios to the no-agent run,
then the medians. Where bench/ab_bpf.py compares the builds' BPF run time (precise, but blind to
what the programs cost the kernel after they return), this compares what the loop pays (the
issue's measure, but one round's ratio on this host varies by ±6-8 %: use 15 rounds or more).
Build the binaries to compare from commits in separate worktrees (make build/ghostwatch).
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

RATE, SECONDS, SETTLE, CPU = 10000, 3, 1.0, "1"


def loop_us_per_op():
    out = subprocess.run(["taskset", "-c", CPU, os.path.join(ROOT, "build/bench/connect_rate"),
                          "--rate", str(RATE), "--seconds", str(SECONDS)],
                         capture_output=True, text=True, check=True).stdout
    d = json.loads(out)
    return d["cpu_total_us"] / d["ops"]


def under_agent(binary):
    with bench.agent_running(binary, SETTLE):
        return loop_us_per_op()


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rounds = int(sys.argv[1])
    builds = dict(arg.split("=", 1) for arg in sys.argv[2:])
    names = ["none", *builds]
    res = {n: [] for n in names}
    for r in range(rounds):
        order = names[:]
        random.shuffle(order)
        for n in order:
            res[n].append(loop_us_per_op() if n == "none" else under_agent(builds[n]))
        print(f"round {r + 1}: " + " ".join(f"{n}={res[n][-1]:.1f}" for n in names) + "  " +
              " ".join(f"{n}/none={res[n][-1] / res['none'][-1]:.3f}" for n in builds),
              flush=True)
    for n in names:
        print(f"{n}: loop CPU per connect, median {statistics.median(res[n]):.2f} us")
    for n in builds:
        ratios = [a / b for a, b in zip(res[n], res["none"])]
        print(f"{n}/none: median {statistics.median(ratios):.3f}, rounds "
              + " ".join(f"{x:.3f}" for x in ratios))


if __name__ == "__main__":
    main()
