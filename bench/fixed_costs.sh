#!/bin/sh
# fixed_costs.sh - what ghostwatch costs before it sees a single event, at default settings:
#   startup_ms  wall time from exec to the "live hooks:" line on stderr
#   cpu_ms      CPU (user + system) the agent spent by then
#   memlock_kib locked BPF memory: the sum of `memlock` in /proc/PID/fdinfo over the agent's BPF
#               map and program fds (what RLIMIT_MEMLOCK / the memcg charge counts)
#   rss_kib     VmRSS from /proc/PID/status once the hooks are live (and after a settling second)
# Each run starts the agent afresh; the median of the runs is printed last.
#
# usage: sudo bench/fixed_costs.sh [runs] [-- extra ghostwatch debug options]
#   GW=path/to/ghostwatch (default build/ghostwatch)
set -eu

GW=${GW:-build/ghostwatch}
RUNS=${1:-5}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
[ -x "$GW" ] || { echo "fixed_costs: no agent at $GW (make first)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "fixed_costs: needs root (BPF)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
hz=$(getconf CLK_TCK)

now_ns() { date +%s%N; }

# Sum of memlock over the BPF map/prog fds of process $1, in KiB.
memlock_kib() {
	total=0
	for fd in /proc/"$1"/fd/*; do
		link=$(readlink "$fd" 2>/dev/null) || continue
		case $link in
		anon_inode:bpf-map|anon_inode:bpf-prog) ;;
		*) continue ;;
		esac
		m=$(sed -n 's/^memlock:[[:space:]]*//p' /proc/"$1"/fdinfo/"${fd##*/}" 2>/dev/null)
		total=$((total + ${m:-0}))
	done
	echo $((total / 1024))
}

one_run() {
	log=$tmp/err.$1
	shift
	start=$(now_ns)
	"$GW" debug --json --stats-interval=0 "$@" >/dev/null 2>"$log" &
	pid=$!
	until grep -q "live hooks:" "$log" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "fixed_costs: the agent exited before its hooks were live:" >&2
			cat "$log" >&2
			exit 1
		fi
		sleep 0.002
	done
	ready=$(now_ns)
	# fields 14 and 15 of stat: utime, stime in ticks (the comm has no spaces here)
	set -- $(cut -d' ' -f14,15 /proc/"$pid"/stat)
	cpu_ms=$(((${1} + ${2}) * 1000 / hz))
	sleep 1
	rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' /proc/"$pid"/status)
	mem=$(memlock_kib "$pid")
	kill -INT "$pid"
	wait "$pid" 2>/dev/null || true
	echo "$(((ready - start) / 1000000)) $cpu_ms $mem $rss"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

printf '%-4s %10s %7s %11s %8s\n' run startup_ms cpu_ms memlock_kib rss_kib
i=1
while [ "$i" -le "$RUNS" ]; do
	r=$(one_run "$i" "$@")
	echo "$r" >>"$tmp/all"
	# shellcheck disable=SC2086
	printf '%-4s %10s %7s %11s %8s\n' "$i" $r
	i=$((i + 1))
done
printf '%-4s %10s %7s %11s %8s\n' median \
	"$(cut -d' ' -f1 "$tmp/all" | median)" "$(cut -d' ' -f2 "$tmp/all" | median)" \
	"$(cut -d' ' -f3 "$tmp/all" | median)" "$(cut -d' ' -f4 "$tmp/all" | median)"
grep -h "ghostwatch" "$tmp"/err.1 | head -20
