#!/usr/bin/python3
"""BPF cost of input cadence per input event, measured in the QEMU guest (Debian 6.1 kernel, where
fentry/input_handle_event is live), with kernel.bpf_stats_enabled=1.

    make && make vm && tests/vm/bench_cadence.py [EVENTS] [ROUNDS]

A uinput device (gw-uinput) writes EVENTS events back to back (relative motion and button
press/release pairs, each followed by a SYN_REPORT, so half the calls are the early-exit SYN path
as in real input). Per round: the writer alone (baseline), then with the agent; the agent's final
stats carry the program's cumulative run_cnt and run_time_ns (cadence_bpf_run_*). The guest runs
under TCG, which emulates the JIT's x86 code: the same CPU-bound reference (sha256sum of 32 MiB) is
timed on the host and in the guest, and the guest figure divided by that factor estimates the cost
on real hardware. Prints a Markdown table for BENCHMARKS.md.
"""
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guest import Guest  # noqa: E402

EVENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3


def steps(n):
    out = []
    for i in range(n // 4):
        if i % 2:
            out += ["rel:0:3", "syn", "rel:0:-3", "syn"]
        else:
            out += ["btn:272:1", "syn", "btn:272:0", "syn"]  # BTN_LEFT
    return out


def guest_seconds(vm, cmd):
    """Wall time of `cmd` inside the guest (busybox time -p)."""
    rc, out = vm.sh(f"time -p {cmd} >/dev/null", timeout=600)
    m = re.search(r"real\s+([\d.]+)", out)
    if rc != 0 or not m:
        raise RuntimeError(f"{cmd[:80]}...: rc {rc}: {out[-400:]}")
    return float(m.group(1))


def host_reference_s():
    with tempfile.NamedTemporaryFile() as f:
        f.write(b"\0" * (32 << 20))
        f.flush()
        t0 = time.monotonic()
        subprocess.run(["busybox", "sha256sum", f.name], check=True, capture_output=True)
        return time.monotonic() - t0


def counters(stats_event):
    return {c["name"]: int(c["value"]) for c in stats_event["stats"].get("events", [])}


def main():
    argv = " ".join(["gw-uinput", "--kind", "mouse_rel", "--hold", "0", *steps(EVENTS)])
    rows = []
    with Guest() as vm:
        vm.check("dd if=/dev/zero of=/tmp/ref bs=1M count=32 2>/dev/null")
        vm.check("echo 1 > /proc/sys/kernel/bpf_stats_enabled")
        for r in range(ROUNDS):
            # the TCG factor of this round, next to its measurement: the host is shared and noisy
            guest_ref = min(guest_seconds(vm, "sha256sum /tmp/ref") for _ in range(2))
            host_ref = min(host_reference_s() for _ in range(2))
            base = guest_seconds(vm, argv)
            vm.start_agent(["debug", "--json", "--stats-interval=0", "--cadence-window=1"])
            vm.wait_for_event(lambda e: e["type"] == "stats", timeout=60, what="start stats")
            mark = len(vm.agent_events())
            with_agent = guest_seconds(vm, argv)
            time.sleep(1.5)
            vm.stop_agent()
            final = [e for e in vm.agent_events()[mark:] if e["type"] == "stats"][-1]
            c = counters(final)
            cnt, ns = c.get("cadence_bpf_run_cnt", 0), c.get("cadence_bpf_run_time_ns", 0)
            windows = [e["cadence"] for e in vm.agent_events()[mark:] if e["type"] == "cadence"]
            counted = sum(w["events"] for w in windows)
            rows.append((r + 1, guest_ref / host_ref, base, with_agent, cnt, ns, counted))
            print(f"round {r + 1}: tcg {guest_ref / host_ref:.1f}x, writer {base:.2f} s alone, "
                  f"{with_agent:.2f} s with the agent; prog runs {cnt}, {ns} ns, events counted "
                  f"{counted}", file=sys.stderr)
    print(f"{EVENTS} events written per round by one uinput writer (half SYN_REPORT), "
          f"{ROUNDS} rounds\n")
    print("| round | TCG factor | writer alone (s) | with agent (s) | prog runs | ns/run (TCG) "
          "| ns/counted event (TCG) | est. native ns/run | est. native ns/counted event |")
    print("|---|---|---|---|---|---|---|---|---|")
    natives = []
    for r, tcg, base, wa, cnt, ns, counted in rows:
        per = ns / cnt if cnt else float("nan")
        per_ev = ns / counted if counted else float("nan")
        natives.append((per / tcg, per_ev / tcg))
        print(f"| {r} | {tcg:.1f}x | {base:.2f} | {wa:.2f} | {cnt} | {per:.0f} | {per_ev:.0f} | "
              f"{per / tcg:.0f} | {per_ev / tcg:.0f} |")
    natives.sort()
    mid = natives[len(natives) // 2]
    print(f"\nmedian est. native: {mid[0]:.0f} ns per program run, {mid[1]:.0f} ns per counted event")


if __name__ == "__main__":
    main()
