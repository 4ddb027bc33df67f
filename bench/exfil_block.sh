#!/bin/bash
# exfil_block.sh - the removable-storage hook's cost per block request (BENCHMARKS.md): ROUNDS of
# N direct 4 KiB writes (one request each) to a loop device without and with the release agent,
# then the hook's own run count and time from kernel.bpf_stats_enabled. Run as root, under
# /tmp/gw-e2e.lock: `flock /tmp/gw-e2e.lock bench/exfil_block.sh`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GW=${GW:-$ROOT/build/ghostwatch}
N=${N:-40000}
ROUNDS=${ROUNDS:-5}
work=$(mktemp -d)
truncate -s 256M "$work/img"
loop=$(losetup --find --show "$work/img")
trap 'kill -INT ${pid:-0} 2>/dev/null || true; losetup -d "$loop"; sysctl -qw kernel.bpf_stats_enabled=0; rm -rf "$work"' EXIT

per_request() {
	local s
	s=$(date +%s%N)
	dd if=/dev/zero of="$loop" bs=4k count="$N" oflag=direct status=none
	echo $((($(date +%s%N) - s) / N))
}

sysctl -qw kernel.bpf_stats_enabled=1
for round in $(seq "$ROUNDS"); do
	without=$(per_request)
	"$GW" debug --json --no-forks --no-network --cadence-window=0 --stats-interval=0 \
		>"$work/out" 2>"$work/err" &
	pid=$!
	for _ in $(seq 100); do grep -q "live hooks" "$work/err" && break; sleep 0.1; done
	with=$(per_request)
	kill -INT "$pid"
	wait "$pid"
	pid=
	runs=$(grep -o '"name":"exfil_bpf_run_cnt","value":"[0-9]*"' "$work/out" | tail -1 |
	       grep -o '[0-9]*"$' | tr -d '"')
	ns=$(grep -o '"name":"exfil_bpf_run_time_ns","value":"[0-9]*"' "$work/out" | tail -1 |
	     grep -o '[0-9]*"$' | tr -d '"')
	echo "round $round: ns/request without=$without with=$with; hook ran $runs times," \
	     "$((ns / (runs ? runs : 1))) ns per run"
done
