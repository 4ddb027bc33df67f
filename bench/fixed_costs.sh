#!/bin/sh
# fixed_costs.sh - what ghostwatch costs before it sees a single event, at default settings:
#   startup_ms  wall time from exec to the "live hooks:" line on stderr
#   cpu_ms      CPU (user + system) the agent spent by then
#   memlock_kib locked BPF memory: the sum of `memlock` in /proc/PID/fdinfo over the agent's BPF
#               maps and programs, each once (what the memcg is charged)
#   fdsum_kib   the same summed over every fd, a map shared by several objects counted per fd
#   rss_kib     VmRSS from /proc/PID/status once the hooks are live (and after a settling second)
# Each run starts the agent afresh; the median of the runs is printed last, then (with bpftool) the
# first run's BPF maps by locked memory, largest first.
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

# Sum of memlock over the BPF map/prog fds of process $1, in KiB, each map or program once: the
# objects share the ring buffer and drop counters through fds of their own, which the kernel
# charges once.
memlock_kib() {
	for fd in /proc/"$1"/fd/*; do
		link=$(readlink "$fd" 2>/dev/null) || continue
		case $link in
		anon_inode:bpf-map|anon_inode:bpf-prog) ;;
		*) continue ;;
		esac
		sed -n 's/^\(map_id\|prog_id\|memlock\):[[:space:]]*//p' /proc/"$1"/fdinfo/"${fd##*/}" |
			tr '\n' ' '
		echo "$link"
	done | awk '{ key = $3 ":" $2; fds += $1 } !seen[key]++ { total += $1 }
		END { print int(total / 1024), int(fds / 1024) }'
}

# "KiB name" per BPF map fd of process $1 (needs bpftool for the names).
map_breakdown() {
	command -v bpftool >/dev/null || return 0
	for fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = anon_inode:bpf-map ] || continue
		info=/proc/"$1"/fdinfo/"${fd##*/}"
		id=$(sed -n 's/^map_id:[[:space:]]*//p' "$info")
		m=$(sed -n 's/^memlock:[[:space:]]*//p' "$info")
		name=$(bpftool map show id "$id" 2>/dev/null | sed -n 's/.*name \([^ ]*\).*/\1/p')
		echo "$((m / 1024)) ${name:-id$id}"
	done | sort -rn | awk '!seen[$2]++'
}

# "KiB mapping" of process $1's largest resident mappings.
rss_breakdown() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { name = $6 ? $6 : "[anon]" }
	     /^Rss:/ { rss[name] += $2 }
	     END { for (n in rss) print rss[n], n }' /proc/"$1"/smaps | sort -rn | head -8
}

one_run() {
	log=$tmp/err.$1
	run=$1
	shift
	# the line is read from a pipe as it comes: polling the log would spawn processes that take
	# the CPU the agent's start-up needs
	mkfifo "$tmp/fifo.$run"
	start=$(now_ns)
	"$GW" debug --json --stats-interval=0 "$@" >/dev/null 2>"$tmp/fifo.$run" &
	pid=$!
	exec 3<"$tmp/fifo.$run"
	while :; do
		if ! IFS= read -r line <&3; then
			echo "fixed_costs: the agent exited before its hooks were live:" >&2
			cat "$log" >&2
			exit 1
		fi
		printf '%s\n' "$line" >>"$log"
		case $line in *"live hooks:"*) break ;; esac
	done
	ready=$(now_ns)
	cat <&3 >>"$log" &
	exec 3<&-
	# fields 14 and 15 of stat: utime, stime in ticks (the comm has no spaces here)
	set -- $(cut -d' ' -f14,15 /proc/"$pid"/stat)
	cpu_ms=$(((${1} + ${2}) * 1000 / hz))
	sleep 1
	rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' /proc/"$pid"/status)
	mem=$(memlock_kib "$pid")
	if [ "$run" = 1 ]; then
		map_breakdown "$pid" >"$tmp/maps"
		rss_breakdown "$pid" >"$tmp/rss"
	fi
	kill -INT "$pid"
	wait "$pid" 2>/dev/null || true
	echo "$(((ready - start) / 1000000)) $cpu_ms $mem $rss"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

printf '%-6s %10s %7s %11s %9s %8s\n' run startup_ms cpu_ms memlock_kib fdsum_kib rss_kib
i=1
while [ "$i" -le "$RUNS" ]; do
	r=$(one_run "$i" "$@")
	echo "$r" >>"$tmp/all"
	# shellcheck disable=SC2086
	printf '%-6s %10s %7s %11s %9s %8s\n' "$i" $r
	i=$((i + 1))
done
printf '%-6s %10s %7s %11s %9s %8s\n' median \
	"$(cut -d' ' -f1 "$tmp/all" | median)" "$(cut -d' ' -f2 "$tmp/all" | median)" \
	"$(cut -d' ' -f3 "$tmp/all" | median)" "$(cut -d' ' -f4 "$tmp/all" | median)" \
	"$(cut -d' ' -f5 "$tmp/all" | median)"
grep -h "ghostwatch" "$tmp"/err.1 | head -20
if [ -s "$tmp/rss" ]; then
	echo "resident KiB per mapping (first run):"
	cat "$tmp/rss"
fi
if [ -s "$tmp/maps" ]; then
	echo "locked KiB per map (first run):"
	head -15 "$tmp/maps"
fi
