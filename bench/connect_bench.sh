#!/usr/bin/env bash
# bench/connect_bench.sh - the network benchmark: loopback TCP connects at fixed rates, without the
# agent and with it, plus an unpaced run for the ceiling. Prints a markdown table (the BENCHMARKS.md
# "Network" section) and writes build/bench/net_raw.jsonl.
#
# Per rate and configuration: the loop's CPU per connect (on loopback the kernel's TCP work, and
# the BPF programs it triggers, run in the loop's own threads, so this is where the agent's in-kernel
# cost shows), the slowdown ratio (with/without), the agent's own CPU per connect (from
# /proc/PID/stat), BPF run time per program run (kernel.bpf_stats_enabled=1, restored on exit), and
# the drops from the agent's summary line.
#
# Knobs: NET_BENCH_RATES (default "2000 10000"), NET_BENCH_SECONDS (5), NET_BENCH_RUNS (2),
#        NET_BENCH_AGENT (default "build/ghostwatch debug --json").
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
OUT=$BUILD/bench
RATES=${NET_BENCH_RATES:-2000 10000}
SECS=${NET_BENCH_SECONDS:-5}
RUNS=${NET_BENCH_RUNS:-2}
read -r -a AGENT <<<"${NET_BENCH_AGENT:-$BUILD/ghostwatch debug --json}"
PY=/usr/bin/python3

[[ $(id -u) -eq 0 ]] || { echo "connect_bench: needs root" >&2; exit 1; }
mkdir -p "$OUT"
cc -O2 -Wall -Wextra -o "$OUT/net_connect_loop" bench/net_connect_loop.c -lpthread

orig_stats=$(sysctl -n kernel.bpf_stats_enabled)
agent_pid=
cleanup() {
	[[ -n $agent_pid ]] && kill -INT "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
	sysctl -q -w kernel.bpf_stats_enabled="$orig_stats"
}
trap cleanup EXIT
sysctl -q -w kernel.bpf_stats_enabled=1

# Sum of run_time_ns and run_cnt over the network programs (names start gw_tcp/gw_udp/gw_dns).
bpf_totals() {
	bpftool prog show -j | $PY -c '
import json, sys
t = c = 0
for p in json.load(sys.stdin):
    if p.get("name", "").startswith(("gw_tcp", "gw_udp", "gw_dns")):
        t += p.get("run_time_ns", 0); c += p.get("run_cnt", 0)
print(t, c)'
}

agent_cpu_us() { # utime+stime of the agent, in µs
	awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1e6 / hz }' "/proc/$agent_pid/stat"
}

raw=$OUT/net_raw.jsonl
: >"$raw"
for round in $(seq "$RUNS"); do
	for rate in $RATES 0; do
		base=$("$OUT/net_connect_loop" "$rate" "$SECS")
		echo "{\"round\":$round,\"config\":\"baseline\",\"loop\":$base}" >>"$raw"

		"${AGENT[@]}" >/dev/null 2>"$OUT/net_agent.err" &
		agent_pid=$!
		for _ in $(seq 100); do grep -q "live hooks" "$OUT/net_agent.err" && break; sleep 0.1; done
		sleep 1
		read -r t0 c0 < <(bpf_totals)
		a0=$(agent_cpu_us)
		with=$("$OUT/net_connect_loop" "$rate" "$SECS")
		sleep 0.5 # let the agent drain what the loop produced
		a1=$(agent_cpu_us)
		read -r t1 c1 < <(bpf_totals)
		kill -INT "$agent_pid"
		wait "$agent_pid" || true
		agent_pid=
		drops=$(grep -o 'drops .*(total [0-9]*)' "$OUT/net_agent.err" | grep -o 'total [0-9]*' | cut -d' ' -f2)
		echo "{\"round\":$round,\"config\":\"agent\",\"loop\":$with,\"agent_cpu_us\":$(
			$PY -c "print($a1-$a0)"),\"bpf_ns\":$((t1 - t0)),\"bpf_runs\":$((c1 - c0)),\"drops\":${drops:-null}}" >>"$raw"
	done
done

$PY - "$raw" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = statistics.median
print("| target connects/s | achieved (base / agent) | loop CPU µs/connect (base / agent) | slowdown | agent CPU µs/connect | BPF ns/run | BPF runs/connect | drops |")
print("|---|---|---|---|---|---|---|---|")
for rate in sorted({r["loop"]["target_rate"] for r in rows}, key=lambda x: (x == 0, x)):
    b = [r for r in rows if r["loop"]["target_rate"] == rate and r["config"] == "baseline"]
    a = [r for r in rows if r["loop"]["target_rate"] == rate and r["config"] == "agent"]
    per = lambda rs: med(r["loop"]["cpu_us"] / r["loop"]["connects"] for r in rs)
    bc, ac = per(b), per(a)
    ach_b = med(r["loop"]["achieved_rate"] for r in b)
    ach_a = med(r["loop"]["achieved_rate"] for r in a)
    # paced runs: cost per connect; unpaced: throughput
    slow = ac / bc if rate else ach_b / ach_a
    agent = med(r["agent_cpu_us"] / r["loop"]["connects"] for r in a)
    bpf = med(r["bpf_ns"] / max(r["bpf_runs"], 1) for r in a)
    runs = med(r["bpf_runs"] / r["loop"]["connects"] for r in a)
    drops = max((r["drops"] or 0) for r in a)
    label = f"{rate}" if rate else "unpaced (ceiling)"
    print(f"| {label} | {ach_b:.0f} / {ach_a:.0f} | {bc:.1f} / {ac:.1f} | {slow:.3f} | {agent:.2f} | {bpf:.0f} | {runs:.1f} | {drops} |")
PY
