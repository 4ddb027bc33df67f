#!/usr/bin/env bash
# bench/run.sh - `make bench`: each workload at fixed rates, without the agent and with it, repeated
# in rounds; writes build/bench/raw.jsonl (one line per run) and build/bench/results.md (medians),
# and prints the table.
#
# Knobs (environment):
#   BENCH_WORKLOADS      workloads to run, in order              (default: idle exec)
#   BENCH_EXEC_RATES     exec/s                                  (default: 200 500 1000)
#   BENCH_CONNECT_RATES  loopback connects/s                     (default: 2000 10000)
#   BENCH_SECONDS        seconds per run                         (default: 10)
#   BENCH_RUNS           rounds; each runs every configuration   (default: 3)
#   BENCH_AGENT          agent command line, stdout to /dev/null (default: build/ghostwatch debug --json)
#   BENCH_VARIANTS       extra agent configurations, ';'-separated "name=extra args"; "agent" (no
#                        extra args) always runs. Default: wake-every-record=--wakeup-bytes=0, the
#                        ring buffer waking the reader on every record, to show what the
#                        BPF_RB_NO_WAKEUP discipline saves. BENCH_VARIANTS= (empty) runs "agent" only.
#   BENCH_SETTLE         seconds to let the agent finish starting (/proc seed) before measuring (1)
#   BENCH_PIN            CPU list for the workload generator (taskset -c), e.g. 1; empty: not pinned.
#                        On this 2-core VM a connect loop whose client and accept threads wander
#                        between CPUs varies by up to ±15% from run to run without any agent; pinned,
#                        about half that. The agent is not pinned.
#   BENCH_STATS_CONFIG   name of the extra configuration that runs the plain agent with
#                        kernel.bpf_stats_enabled=1, the only one whose BPF ns/run is measured
#                        (default: bpf-stats; empty: none). Every other run has the stats off: they
#                        cost two clock reads per program run, which would count in the slowdown.
#
# A workload is two functions: workload_<name>_rates (prints its rates) and
# workload_<name>_run RATE SECONDS (runs the generator, prints its one JSON line). Add both and name
# the workload in BENCH_WORKLOADS. A workload_<name>_no_baseline function skips the no-agent run.
#
# Needs root: kernel.bpf_stats_enabled is set to 0, to 1 for the stats configuration only, and put
# back as it was on any exit.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
OUT=$BUILD/bench
PY=/usr/bin/python3
WORKLOADS=${BENCH_WORKLOADS:-idle exec}
SECS=${BENCH_SECONDS:-10}
RUNS=${BENCH_RUNS:-3}
SETTLE=${BENCH_SETTLE:-1}
read -r -a AGENT <<<"${BENCH_AGENT:-$BUILD/ghostwatch debug --json}"
PIN=${BENCH_PIN:+taskset -c $BENCH_PIN}

# --- workloads -------------------------------------------------------------------------------------
# idle: no load, so the agent's floor (timers, background activity of this shared host).
workload_idle_rates() { echo 0; }
workload_idle_no_baseline() { :; }
workload_idle_run() {
	sleep "$2"
	printf '{"workload":"idle","target_rate":0,"ops":0,"failures":0,"wall_s":%s,' "$2"
	printf '"achieved_rate":0,"cpu_self_us":0,"cpu_children_us":0,"cpu_total_us":0,"late_ticks":0}\n'
}

workload_exec_rates() { echo "${BENCH_EXEC_RATES:-200 500 1000}"; }
workload_exec_run() { $PIN "$OUT/exec_rate" --rate "$1" --seconds "$2"; }

workload_connect_rates() { echo "${BENCH_CONNECT_RATES:-2000 10000}"; }
workload_connect_run() { $PIN "$OUT/connect_rate" --rate "$1" --seconds "$2"; }

# --- plumbing --------------------------------------------------------------------------------------
die() { echo "bench: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "needs root (BPF, kernel.bpf_stats_enabled): sudo make bench"
[[ -x ${AGENT[0]} ]] || command -v "${AGENT[0]}" >/dev/null || die "no agent at ${AGENT[0]}; run make"
for w in $WORKLOADS; do
	declare -F "workload_${w}_run" >/dev/null || die "unknown workload '$w'"
done

mkdir -p "$OUT/logs"
RAW=$OUT/raw.jsonl
RESULTS=$OUT/results.md
: >"$RAW"

AGENT_PID=
STATS_HOLDER_PID=
STATS_BEFORE=$(sysctl -n kernel.bpf_stats_enabled)
stats_off() {
	if [[ -n $STATS_HOLDER_PID ]]; then
		kill -TERM "$STATS_HOLDER_PID" 2>/dev/null || true
		wait "$STATS_HOLDER_PID" 2>/dev/null || true
		STATS_HOLDER_PID=
	fi
	sysctl -q -w kernel.bpf_stats_enabled=0
}
# Others on this host flip the sysctl too; a BPF_ENABLE_STATS fd keeps the stats on regardless.
stats_on() {
	local ready=$OUT/stats-holder.ready i
	sysctl -q -w kernel.bpf_stats_enabled=1
	: >"$ready"
	$PY bench/bench.py hold-stats >"$ready" &
	STATS_HOLDER_PID=$!
	for ((i = 0; i < 300; i++)); do
		grep -qs holding "$ready" && return 0
		kill -0 "$STATS_HOLDER_PID" 2>/dev/null || break
		sleep 0.01
	done
	die "could not enable BPF run-time stats (BPF_ENABLE_STATS)"
}
cleanup() {
	if [[ -n $AGENT_PID ]] && kill -0 "$AGENT_PID" 2>/dev/null; then
		kill -KILL "$AGENT_PID" 2>/dev/null || true
	fi
	[[ -z $STATS_HOLDER_PID ]] || kill -TERM "$STATS_HOLDER_PID" 2>/dev/null || true
	sysctl -q -w kernel.bpf_stats_enabled="$STATS_BEFORE" || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
stats_off

# Agent variants: "agent" plus BENCH_VARIANTS, plus the stats configuration. Parallel arrays: name,
# extra args, whether BPF run-time stats are on.
VARIANT_NAMES=(agent)
VARIANT_ARGS=("")
VARIANT_STATS=(0)
IFS=';' read -r -a extra <<<"${BENCH_VARIANTS-wake-every-record=--wakeup-bytes=0}"
for v in "${extra[@]}"; do
	[[ -n $v ]] || continue
	VARIANT_NAMES+=("${v%%=*}")
	VARIANT_ARGS+=("${v#*=}")
	VARIANT_STATS+=(0)
done
STATS_CONFIG=${BENCH_STATS_CONFIG-bpf-stats}
if [[ -n $STATS_CONFIG ]]; then
	VARIANT_NAMES+=("$STATS_CONFIG")
	VARIANT_ARGS+=("")
	VARIANT_STATS+=(1)
fi

# Ready = the agent has printed its "live hooks:" line (every hook attached or given up on; holding
# a first program fd is too early: the other objects' verification then still overlaps the
# measurement), then BENCH_SETTLE more seconds for its /proc seed. A stand-in that prints no such
# line (e.g. BENCH_AGENT="sleep 1000") is measured anyway after 3 s.
wait_agent_ready() {
	local pid=$1 log=$2 i
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		if grep -qs 'live hooks:' "$log"; then
			sleep "$SETTLE"
			return 0
		fi
		sleep 0.01
	done
	echo "bench: agent $pid printed no live-hooks line after 3 s; measuring it anyway" >&2
}

# SIGTERM (a background job of a non-interactive shell starts with SIGINT ignored), then up to 5 s
# for the summary; sets AGENT_RC to its exit status (137 if it had to be killed). Not called in a
# $(...) subshell: only the shell that started the agent can wait for it.
stop_agent() {
	local pid=$1 i
	AGENT_RC=0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "bench: agent $pid ignored SIGTERM for 5 s; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || AGENT_RC=$?
}

run_baseline() {
	local w=$1 rate=$2 run=$3 loop
	loop=$("workload_${w}_run" "$rate" "$SECS")
	$PY bench/bench.py record "$w" "$rate" "$run" baseline "$loop" >>"$RAW"
	echo "  round $run $w $rate/s no agent: $loop" >&2
}

run_with_agent() {
	local w=$1 rate=$2 run=$3 name=$4 args=$5 stats=$6 log before after loop summary foreign
	local -a extra_args
	read -r -a extra_args <<<"$args"
	[[ $stats -eq 0 ]] || stats_on
	log=$OUT/logs/$w-$rate-$name-$run.stderr
	"${AGENT[@]}" "${extra_args[@]}" >/dev/null 2>"$log" &
	AGENT_PID=$!
	wait_agent_ready "$AGENT_PID" "$log" || die "agent exited at start; see $log"
	foreign=$($PY bench/bench.py foreign-progs "$AGENT_PID")
	before=$($PY bench/bench.py snapshot "$AGENT_PID")
	loop=$("workload_${w}_run" "$rate" "$SECS")
	after=$($PY bench/bench.py snapshot "$AGENT_PID")
	[[ $stats -eq 0 ]] || stats_off
	stop_agent "$AGENT_PID"
	AGENT_PID=
	summary=$($PY bench/bench.py agent-summary "$log")
	$PY bench/bench.py record "$w" "$rate" "$run" "$name" "$loop" \
		"$before" "$after" "$summary" "$foreign" "$AGENT_RC" >>"$RAW"
	echo "  round $run $w $rate/s $name: $loop" >&2
}

# --- main ------------------------------------------------------------------------------------------
START=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench: workloads '$WORKLOADS', $SECS s per run, $RUNS rounds, agent: ${AGENT[*]}" >&2
for w in $WORKLOADS; do
	for rate in $("workload_${w}_rates"); do
		for ((run = 1; run <= RUNS; run++)); do
			# Even rounds run the configurations in reverse order (ABBA): a drift of the host
			# within a round then weighs on every configuration alike over two rounds.
			order=(-1 "${!VARIANT_NAMES[@]}")
			((run % 2)) || order=($(printf '%s\n' "${order[@]}" | tac))
			for i in "${order[@]}"; do
				if ((i < 0)); then
					declare -F "workload_${w}_no_baseline" >/dev/null ||
						run_baseline "$w" "$rate" "$run"
				else
					run_with_agent "$w" "$rate" "$run" "${VARIANT_NAMES[$i]}" \
						"${VARIANT_ARGS[$i]}" "${VARIANT_STATS[$i]}"
				fi
			done
		done
	done
done

{
	echo "# ghostwatch bench, $START"
	echo
	echo "Host: $(uname -r), $(nproc) CPUs, load average at start $LOAD_START," \
		"at end $(cut -d' ' -f1-3 /proc/loadavg). Agent: \`${AGENT[*]} > /dev/null\`."
	for i in "${!VARIANT_NAMES[@]}"; do
		[[ $i -eq 0 || ${VARIANT_STATS[$i]} -eq 1 ]] ||
			echo "Variant ${VARIANT_NAMES[$i]}: extra args \`${VARIANT_ARGS[$i]}\`."
	done
	[[ -z $PIN ]] || echo "Workload generator pinned: \`$PIN\`; configurations in ABBA order."
	[[ -n $PIN ]] || echo "Configurations in ABBA order (reversed every other round)."
	echo "Workloads: $WORKLOADS; $SECS s per run; kernel.bpf_stats_enabled=1 only in the" \
		"${STATS_CONFIG:-(none)} configuration (the plain agent), 0 in every other run."
	echo
	$PY bench/bench.py report "$RAW"
} >"$RESULTS"
cat "$RESULTS"
