#!/usr/bin/env bash
# bench/profile.sh - where the agent's userspace time goes: runs it under callgrind (instruction
# counts, repeatable on this noisy VM, unlike time) while bench/exec_rate drives a fixed exec load,
# and prints the top functions by inclusive instruction count.
#
# usage: sudo bench/profile.sh [RATE [SECONDS]]   (default 200 exec/s for 5 s; under callgrind the
# agent runs ~50x slower, so keep the rate modest or it will drop events and profile the drops)
# Env: BENCH_AGENT (default: build/ghostwatch debug --json), output in build/bench/agent.callgrind.
set -euo pipefail
cd "$(dirname "$0")/.."

RATE=${1:-200}
SECS=${2:-5}
OUT=build/bench
read -r -a AGENT <<<"${BENCH_AGENT:-build/ghostwatch debug --json}"
command -v valgrind >/dev/null || { echo "profile: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
[[ -x $OUT/exec_rate ]] || make bench-tools >&2
mkdir -p "$OUT"

valgrind --tool=callgrind --callgrind-out-file="$OUT/agent.callgrind" "${AGENT[@]}" \
	>/dev/null 2>"$OUT/agent.callgrind.log" &
pid=$!
trap 'kill -KILL "$pid" 2>/dev/null || true' EXIT
# Under valgrind, loading takes seconds: wait for the agent's "live hooks" line.
for ((i = 0; i < 600; i++)); do
	grep -q 'live hooks' "$OUT/agent.callgrind.log" && break
	kill -0 "$pid" 2>/dev/null || { cat "$OUT/agent.callgrind.log" >&2; exit 1; }
	sleep 0.1
done
"$OUT/exec_rate" --rate "$RATE" --seconds "$SECS"
kill -TERM "$pid"
wait "$pid" || true
trap - EXIT
grep '^summary:' "$OUT/agent.callgrind.log" || true
callgrind_annotate --inclusive=yes "$OUT/agent.callgrind" | sed -n '/^Ir/,$p' | sed -n 3,40p
