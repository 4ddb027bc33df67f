#!/usr/bin/env bash
# bench/connect_ab.sh - part of `make bench`: what the network programs cost the loopback connect
# loop, measured by build/bench/connect_ab (programs attached and detached in alternating periods),
# for the agent's programs together (as it loads them here, and with the fallbacks it used before),
# each signal's alone, and the empty-program floor of the hooks in use. Writes
# build/bench/connect_ab.jsonl and prints a table (median ratio of attached to detached CPU per
# connect, its 95 % interval).
#
# Knobs: BENCH_AB_RATE (10000), BENCH_AB_SECONDS per configuration (60), BENCH_PIN (CPU list for
# taskset, default 1: the loop's two threads on one CPU, as in run.sh's pinned runs).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
OUT=$BUILD/bench/connect_ab.jsonl
RATE=${BENCH_AB_RATE:-10000}
SECS=${BENCH_AB_SECONDS:-60}
PIN=${BENCH_PIN-1}
[[ $(id -u) -eq 0 ]] || { echo "connect_ab.sh: needs root (BPF)" >&2; exit 1; }

configs=(
	"all agent programs (connect TCP)|"
	"all, sockops TCP|--tcp-hooks=sockops"
	"all, before: tp_btf TCP, DNS per packet|--tcp-hooks=tp_btf --dns-verify=query"
	"TCP hooks only (connect)|--no-dns --no-udp"
	"TCP hooks only (sockops)|--no-dns --no-udp --tcp-hooks=sockops"
	"TCP hook only (tp_btf set_state)|--no-dns --no-udp --tcp-hooks=tp_btf"
	"TCP sockops against tp_btf, one run|--no-dns --no-udp --tcp-hooks=sockops --against=other-tcp"
	"DNS hooks only (sock_recv_length)|--no-tcp --no-udp"
	"DNS hooks only, cgroup_skb in+out|--no-tcp --no-udp --dns-verify=query"
	"UDP hooks only|--no-tcp --no-dns"
	"empty tp_btf/inet_sock_set_state|--empty=set_state"
	"empty tp_btf/tcp_destroy_sock|--empty=destroy_sock"
	"empty sockops|--empty=sock_ops"
	"empty cgroup_skb in+out|--empty=cgroup_skb"
	"empty cgroup/connect4+6|--empty=connect"
	"all, with the first-bytes capture|--proto-id"
	"first-bytes capture only (send/recv calls)|--no-tcp --no-dns --no-udp --proto-id"
	"first-bytes capture only (cgroup_skb in+out)|--no-tcp --no-dns --no-udp --proto-id=cgroup_skb"
)
: >"$OUT"
printf '| %-42s | %-8s | %-15s | %-7s | %s |\n' "programs attached ($RATE connects/s)" "median" \
	"95 % interval" "pooled" "µs/connect off → on"
printf '|%s|%s|%s|%s|%s|\n' "--------------------------------------------" "----------" "-----------------" \
	"---------" "------------------------"
for c in "${configs[@]}"; do
	name=${c%%|*}
	read -r -a args <<<"${c#*|}"
	# a hook this kernel lacks (no BTF for it, cgroup v2 missing) fails its row, not the bench
	if ! line=$(${PIN:+taskset -c "$PIN"} "$BUILD/bench/connect_ab" --rate "$RATE" \
		--seconds "$SECS" "${args[@]}"); then
		printf '| %-42s | failed: see the message above |\n' "$name"
		continue
	fi
	echo "$line" >>"$OUT"
	/usr/bin/python3 -c '
import json, sys
d = json.loads(sys.argv[2]); lo, hi = d["median_ratio_ci95"]
print("| %-42s | %-8.3f | %.3f–%.3f     | %-7.3f | %.1f → %.1f |" % (sys.argv[1], d["median_ratio"],
      lo, hi, d["pooled_ratio"], d["off_us_per_connect"], d["on_us_per_connect"]))
if d["drops"] or d["failures"]:
    print("connect_ab.sh: %s: %d drops, %d failed connects" % (sys.argv[1], d["drops"], d["failures"]),
          file=sys.stderr)' "$name" "$line"
done
