#!/usr/bin/env bash
# bench/run.sh - `make bench`: today's agent, the agent at a baseline ref and the peer tools a user
# would compare it with, each attached in turn to the same fixed-rate loop, alternated with the loop
# alone in rounds; then the fixed costs (start-up, memory, idle wakeups) of each; then auditd's rounds.
# Writes build/bench/raw.jsonl (one line per run), build/bench/fixed.jsonl and
# build/bench/results.md (medians), and prints the tables.
#
# Knobs (environment):
#   BENCH_WORKLOADS      workloads to run, in order              (default: exec connect bulk)
#   BENCH_EXEC_RATES     exec/s                                  (default: 2000)
#   BENCH_CONNECT_RATES  loopback connects/s                     (default: 10000)
#   BENCH_SECONDS        seconds per run                         (default: 10)
#   BENCH_BULK_MIB       MiB the bulk workload moves through one loopback connection per run
#                        (default: 2048; it takes what it takes, BENCH_SECONDS does not apply)
#   BENCH_RUNS           rounds; each runs every configuration   (default: 5)
#   BENCH_AGENT          today's agent command line, stdout to /dev/null
#                        (default: build/ghostwatch debug --json)
#   BENCH_BASE_REF       the baseline: a git ref built by bench/base.sh into build/bench-base and
#                        run as "base" with the same arguments (default: 74a7b83, main before the
#                        house restructuring). BENCH_BASE_REF=none: no baseline agent.
#   BENCH_PEERS          peer tools, each attached like the agent: execsnoop (exec), tcplife and
#                        tcpstates (connect) from libbpf-tools, auditd with an execve or connect
#                        rule (default: all four; empty: none). auditd runs in rounds of its own
#                        after everything else (see audit_stop).
#   BENCH_FIXED          1: measure the fixed costs of base, agent and execsnoop (default 1)
#   BENCH_IDLE_SECONDS   the idle window of the fixed costs           (default: 30)
#   BENCH_FIXED_RUNS     agent starts of bench/fixed_costs.sh per ghostwatch build, whose
#                        medians join the fixed-costs table when that script exists (default: 3)
#   BENCH_VARIANTS       extra configurations of today's agent, ';'-separated "name=extra args"
#                        (default: no-proto-id=--no-proto-id, the agent without the first-bytes
#                        capture), e.g. wake-every-record=--wakeup-bytes=0.
#   BENCH_AGAINST        the configuration the "against" column compares today's agent with in
#                        the same round (default: base), e.g. no-proto-id
#   BENCH_OUT            where the results go (default: build/bench)
#   BENCH_SETTLE         seconds to let a tool finish starting (/proc seed) before measuring (1)
#   BENCH_PIN            CPU list for the workload generator (taskset -c), e.g. 1; empty: not pinned.
#                        On this 2-core VM a connect loop whose client and accept threads wander
#                        between CPUs varies by up to ±15% from run to run without any agent; pinned,
#                        about half that. The tools are not pinned.
#   BENCH_STATS_CONFIG   name of an extra configuration that runs today's agent with
#                        kernel.bpf_stats_enabled=1, the only one whose BPF ns/run is measured
#                        (default: none). Every other run has the stats off: they cost two clock
#                        reads per program run, which would count in the slowdown.
#
# A workload is two functions: workload_<name>_rates (prints its rates) and
# workload_<name>_run RATE SECONDS (runs the generator, prints its one JSON line). Add both and name
# the workload in BENCH_WORKLOADS. A workload_<name>_no_baseline function skips the no-agent run;
# audit_rule_<name> prints the auditctl rule auditd is measured with.
#
# Needs root: kernel.bpf_stats_enabled is set to 0 (to 1 for the stats configuration only) and put
# back as it was on any exit; auditd's rules are removed on any exit.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
GEN=$BUILD/bench
OUT=${BENCH_OUT:-$BUILD/bench}
PY=/usr/bin/python3
WORKLOADS=${BENCH_WORKLOADS:-exec connect bulk}
SECS=${BENCH_SECONDS:-10}
RUNS=${BENCH_RUNS:-5}
SETTLE=${BENCH_SETTLE:-1}
IDLE_SECS=${BENCH_IDLE_SECONDS:-30}
FIXED_RUNS=${BENCH_FIXED_RUNS:-3}
BASE_REF=${BENCH_BASE_REF:-74a7b83}
PEERS=${BENCH_PEERS-execsnoop tcplife tcpstates auditd}
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

workload_exec_rates() { echo "${BENCH_EXEC_RATES:-2000}"; }
workload_exec_run() { $PIN "$GEN/exec_rate" --rate "$1" --seconds "$2"; }
audit_rule_exec() { echo "-a always,exit -F arch=b64 -S execve -k gw-bench"; }

workload_connect_rates() { echo "${BENCH_CONNECT_RATES:-10000}"; }
workload_connect_run() { $PIN "$GEN/connect_rate" --rate "$1" --seconds "$2"; }
audit_rule_connect() { echo "-a always,exit -F arch=b64 -S connect -k gw-bench"; }

# bulk: one loopback connection moving BENCH_BULK_MIB MiB in 1 MiB writes, unpaced: achieved/s is
# MiB/s, and the loop CPU per op is per MiB (the per-packet cost of the cgroup_skb programs).
workload_bulk_rates() { echo 0; }
workload_bulk_run() { $PIN "$GEN/bulk_rate" --mib "${BENCH_BULK_MIB:-2048}"; }

# --- peers: the tools a user would compare ghostwatch with, and the workload each one watches ------
peer_workloads() {
	case $1 in
	execsnoop) echo exec ;;
	tcplife | tcpstates) echo connect ;;
	auditd) echo exec connect ;;
	*) return 1 ;;
	esac
}
peer_binary() {
	case $1 in
	auditd) echo /sbin/auditd ;;
	*) echo "/usr/sbin/$1" ;;
	esac
}

# --- plumbing --------------------------------------------------------------------------------------
die() { echo "bench: $*" >&2; exit 1; }
loud() { printf '\nbench: *** %s ***\n\n' "$*" >&2; }

[[ $(id -u) -eq 0 ]] || die "needs root (BPF, kernel.bpf_stats_enabled): sudo make bench"
[[ -x ${AGENT[0]} ]] || command -v "${AGENT[0]}" >/dev/null || die "no agent at ${AGENT[0]}; run make"
for w in $WORKLOADS; do
	declare -F "workload_${w}_run" >/dev/null || die "unknown workload '$w'"
done

mkdir -p "$OUT/logs"
RAW=$OUT/raw.jsonl
FIXED=$OUT/fixed.jsonl
RESULTS=$OUT/results.md
NOTES=$OUT/notes.txt
: >"$RAW"
: >"$FIXED"
: >"$NOTES"
note() { echo "$*" >>"$NOTES"; loud "$*"; }

AGENT_PID=
AUDIT_ON=0
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

# --- auditd ----------------------------------------------------------------------------------------
# Once the audit subsystem has been enabled, the kernel gives every new task an audit context until
# reboot, which costs every later exec (~14% on this loop) whether or not a rule matches; a
# "never,task" rule spares new tasks that. So auditd's rounds run last, and audit_stop leaves the
# kernel with auditing off, no rule but "never,task", and no daemon.
audit_usable() {
	command -v auditctl >/dev/null && [[ -x $(peer_binary auditd) ]] || return 1
	# Someone else's audit setup (a running auditd, rules of their own) is left alone.
	[[ $(auditctl -s | awk '$1 == "pid" { print $2 }') == 0 ]] || return 1
	! auditctl -l | grep -v -e '^No rules' -e '^-a never,task' | grep -q .
}
audit_start() {
	local workload=$1 log=$2 rule i
	rule=$(audit_rule_"$workload")
	AUDIT_ON=1
	auditctl -D >/dev/null
	"$(peer_binary auditd)" -n >/dev/null 2>"$log" &
	AGENT_PID=$!
	# auditd registers itself with the kernel once it is ready to receive records.
	for ((i = 0; i < 300; i++)); do
		[[ $(auditctl -s | awk '$1 == "pid" { print $2 }') == "$AGENT_PID" ]] && break
		kill -0 "$AGENT_PID" 2>/dev/null || return 1
		sleep 0.01
	done
	# shellcheck disable=SC2086
	auditctl $rule >/dev/null
	auditctl -e 1 >/dev/null
	sleep "$SETTLE"
}
audit_stop() {
	auditctl -D >/dev/null 2>&1 || true
	auditctl -a never,task >/dev/null 2>&1 || true
	auditctl -e 0 >/dev/null 2>&1 || true
	AUDIT_ON=0
}

cleanup() {
	if [[ -n $AGENT_PID ]] && kill -0 "$AGENT_PID" 2>/dev/null; then
		kill -KILL "$AGENT_PID" 2>/dev/null || true
	fi
	for pid in ${FIXED_PIDS:-}; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	[[ $AUDIT_ON -eq 0 ]] || audit_stop
	[[ -z $STATS_HOLDER_PID ]] || kill -TERM "$STATS_HOLDER_PID" 2>/dev/null || true
	sysctl -q -w kernel.bpf_stats_enabled="$STATS_BEFORE" || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
stats_off

# --- configurations --------------------------------------------------------------------------------
# Parallel arrays: name, command line, extra args, BPF stats on, kind (ghostwatch, peer, audit), and
# the workloads it runs in (empty: all).
CONF_NAMES=()
CONF_CMDS=()
CONF_ARGS=()
CONF_STATS=()
CONF_KINDS=()
CONF_ONLY=()
add_conf() {
	CONF_NAMES+=("$1")
	CONF_CMDS+=("$2")
	CONF_ARGS+=("$3")
	CONF_STATS+=("$4")
	CONF_KINDS+=("$5")
	CONF_ONLY+=("$6")
}

BASE_BIN=
if [[ $BASE_REF != none ]]; then
	BASE_BIN=$(BENCH_BASE_REF=$BASE_REF BUILD=$BUILD bench/base.sh) || die "no baseline agent"
	add_conf base "$BASE_BIN ${AGENT[*]:1}" "" 0 ghostwatch ""
fi
add_conf agent "${AGENT[*]}" "" 0 ghostwatch ""
IFS=';' read -r -a extra <<<"${BENCH_VARIANTS-no-proto-id=--no-proto-id}"
for v in "${extra[@]}"; do
	[[ -n $v ]] || continue
	add_conf "${v%%=*}" "${AGENT[*]}" "${v#*=}" 0 ghostwatch ""
done
STATS_CONFIG=${BENCH_STATS_CONFIG-}
[[ -z $STATS_CONFIG ]] || add_conf "$STATS_CONFIG" "${AGENT[*]}" "" 1 ghostwatch ""
AUDIT=0
for p in $PEERS; do
	only=$(peer_workloads "$p") || die "unknown peer '$p' (BENCH_PEERS)"
	if [[ $p == auditd ]]; then
		if audit_usable; then
			AUDIT=1
		else
			note "auditd not measured: auditctl or auditd missing (apt-get install auditd), or" \
				"audit is in use on this host (auditctl -s, auditctl -l)"
		fi
		continue
	fi
	if [[ ! -x $(peer_binary "$p") ]]; then
		note "$p not measured: $(peer_binary "$p") missing (apt-get install libbpf-tools)"
		continue
	fi
	add_conf "$p" "$(peer_binary "$p")" "" 0 peer "$only"
done

# Ready = a ghostwatch agent has printed its "live hooks:" line (every hook attached or given up on;
# holding a first program fd is too early: the other objects' verification then still overlaps the
# measurement), or a peer its first line of output (its header, printed once attached); then
# BENCH_SETTLE more seconds for the agent's /proc seed. A tool that prints neither within 10 s is
# measured anyway.
wait_ready() {
	local pid=$1 kind=$2 log=$3 out=$4 i
	for ((i = 0; i < 1000; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		if [[ $kind == ghostwatch ]]; then
			grep -qs 'live hooks:' "$log" && return 0
		elif [[ -s $out ]]; then
			return 0
		fi
		sleep 0.01
	done
	echo "bench: $pid printed no ready line after 10 s; measuring it anyway" >&2
}

# Starts configuration $1 for workload $2, logs under $3.*; sets AGENT_PID, returns once ready.
start_tool() {
	local i=$1 workload=$2 log=$3 kind=${CONF_KINDS[$1]}
	local -a cmd extra_args
	if [[ $kind == audit ]]; then
		audit_start "$workload" "$log.stderr"
		return
	fi
	read -r -a cmd <<<"${CONF_CMDS[$i]}"
	read -r -a extra_args <<<"${CONF_ARGS[$i]}"
	if [[ $kind == ghostwatch ]]; then
		"${cmd[@]}" "${extra_args[@]}" >/dev/null 2>"$log.stderr" &
	else
		# Line-buffered, as on a terminal: the header then marks the moment it is attached.
		stdbuf -oL "${cmd[@]}" "${extra_args[@]}" >"$log.stdout" 2>"$log.stderr" &
	fi
	AGENT_PID=$!
	wait_ready "$AGENT_PID" "$kind" "$log.stderr" "$log.stdout"
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

run_with_tool() {
	local w=$1 rate=$2 run=$3 i=$4 name=${CONF_NAMES[$4]} kind=${CONF_KINDS[$4]}
	local log before after loop summary foreign
	[[ ${CONF_STATS[$i]} -eq 0 ]] || stats_on
	log=$OUT/logs/$w-$rate-$name-$run
	rm -f "$log.stdout" "$log.stderr"
	if ! start_tool "$i" "$w" "$log"; then
		[[ $kind != audit ]] || audit_stop
		die "$name exited at start; see $log.stderr"
	fi
	foreign=$($PY bench/bench.py foreign-progs "$AGENT_PID")
	before=$($PY bench/bench.py snapshot "$AGENT_PID")
	loop=$("workload_${w}_run" "$rate" "$SECS")
	after=$($PY bench/bench.py snapshot "$AGENT_PID")
	[[ ${CONF_STATS[$i]} -eq 0 ]] || stats_off
	[[ $kind != audit ]] || audit_stop
	stop_agent "$AGENT_PID"
	AGENT_PID=
	rm -f "$log.stdout" # a peer's event lines: thousands, and only its first one was needed
	summary=$($PY bench/bench.py agent-summary "$log.stderr")
	BENCH_KIND=$kind $PY bench/bench.py record "$w" "$rate" "$run" "$name" "$loop" \
		"$before" "$after" "$summary" "$foreign" "$AGENT_RC" >>"$RAW"
	echo "  round $run $w $rate/s $name: $loop" >&2
}

# Rounds of the loop alone and with each configuration in $@ (indices), for every workload.
run_rounds() {
	local w rate run i
	for w in $WORKLOADS; do
		for rate in $("workload_${w}_rates"); do
			for ((run = 1; run <= RUNS; run++)); do
				# Even rounds run the configurations in reverse order (ABBA): a drift of the
				# host within a round then weighs on every configuration alike over two rounds.
				local -a order=(-1)
				for i in "$@"; do
					[[ -z ${CONF_ONLY[$i]} || " ${CONF_ONLY[$i]} " == *" $w "* ]] &&
						order+=("$i")
				done
				((${#order[@]} > 1)) || continue 2
				((run % 2)) || order=($(printf '%s\n' "${order[@]}" | tac))
				for i in "${order[@]}"; do
					if ((i < 0)); then
						declare -F "workload_${w}_no_baseline" >/dev/null ||
							run_baseline "$w" "$rate" "$run"
					else
						run_with_tool "$w" "$rate" "$run" "$i"
					fi
				done
			done
		done
	done
}

# --- fixed costs -----------------------------------------------------------------------------------
# Each tool started alone and timed to its ready line, then all of them left idle together for
# BENCH_IDLE_SECONDS: RSS, locked BPF memory, and wakeups (voluntary context switches) per second.
FIXED_PIDS=
fixed_costs() {
	local i name log t0 t1 ready pid
	local -a idx=() pids=() startup=() readies=() befores=()
	for i in "${!CONF_NAMES[@]}"; do
		case ${CONF_KINDS[$i]}:${CONF_NAMES[$i]} in
		ghostwatch:base | ghostwatch:agent | peer:execsnoop) idx+=("$i") ;;
		esac
	done
	for i in "${idx[@]}"; do
		name=${CONF_NAMES[$i]}
		log=$OUT/logs/fixed-$name
		rm -f "$log.stdout" "$log.stderr"
		t0=$(date +%s%N)
		start_tool "$i" idle "$log" || die "$name exited at start; see $log.stderr"
		t1=$(date +%s%N)
		pids+=("$AGENT_PID")
		FIXED_PIDS+=" $AGENT_PID"
		startup+=($(((t1 - t0) / 1000000)))
		readies+=("$($PY bench/bench.py fixed "$AGENT_PID")")
		AGENT_PID=
		echo "  fixed costs: $name ready in ${startup[-1]} ms" >&2
	done
	sleep "$SETTLE"
	for pid in "${pids[@]}"; do
		befores+=("$($PY bench/bench.py fixed "$pid")")
	done
	echo "  fixed costs: idle for $IDLE_SECS s" >&2
	sleep "$IDLE_SECS"
	for k in "${!idx[@]}"; do
		i=${idx[$k]}
		after=$($PY bench/bench.py fixed "${pids[$k]}")
		stop_agent "${pids[$k]}"
		local bin=${CONF_CMDS[$i]%% *} sh_out=
		if [[ ${CONF_KINDS[$i]} == ghostwatch ]]; then
			if [[ -x bench/fixed_costs.sh ]]; then
				sh_out=$(GW=$bin bench/fixed_costs.sh "$FIXED_RUNS" 2>&1) ||
					note "GW=$bin bench/fixed_costs.sh failed: $sh_out"
			else
				note "bench/fixed_costs.sh is missing: the fixed costs of $bin are" \
					"bench.py's own measurement only"
			fi
		fi
		$PY - "${CONF_NAMES[$i]}" "$bin" "${startup[$k]}" "${readies[$k]}" "${befores[$k]}" \
			"$after" "$IDLE_SECS" "$sh_out" >>"$FIXED" <<-'PYEOF'
			import json, sys
			name, binary, ms, ready, before, after, secs, sh = sys.argv[1:9]
			print(json.dumps({"tool": name, "binary": binary, "startup_ms": int(ms),
			                  "ready": json.loads(ready), "idle_before": json.loads(before),
			                  "idle_after": json.loads(after), "idle_s": int(secs),
			                  "fixed_costs_sh": sh or None}))
		PYEOF
	done
	FIXED_PIDS=
}

# --- main ------------------------------------------------------------------------------------------
START=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench: workloads '$WORKLOADS', $SECS s per run, $RUNS rounds;" \
	"configurations: ${CONF_NAMES[*]}$([[ $AUDIT -eq 0 ]] || echo ', then auditd')" >&2
run_rounds "${!CONF_NAMES[@]}"
[[ ${BENCH_FIXED:-1} -eq 0 ]] || fixed_costs
if [[ $AUDIT -eq 1 ]]; then
	add_conf auditd "$(peer_binary auditd)" "" 0 audit "$(peer_workloads auditd)"
	export BENCH_PHASE=audit
	run_rounds $((${#CONF_NAMES[@]} - 1))
fi

{
	echo "# ghostwatch bench, $START"
	echo
	echo "Host: $(uname -r), $(nproc) CPUs, load average at start $LOAD_START," \
		"at end $(cut -d' ' -f1-3 /proc/loadavg)."
	for i in "${!CONF_NAMES[@]}"; do
		echo "- ${CONF_NAMES[$i]}: \`${CONF_CMDS[$i]}${CONF_ARGS[$i]:+ ${CONF_ARGS[$i]}}\`" \
			"($([[ ${CONF_KINDS[$i]} == peer ]] && echo "output to a file" ||
				echo "stdout to /dev/null"))"
	done
	[[ -z $BASE_BIN ]] || echo "- base is $BASE_REF ($(cat "$BUILD/bench-base/commit")), built by bench/base.sh."
	[[ $AUDIT -eq 0 ]] || echo "- auditd rule per workload: $(for w in $WORKLOADS; do
		echo -n "$w \`auditctl $(audit_rule_"$w")\`; "; done)in rounds of its own, last."
	[[ -z $PIN ]] || echo "Workload generator pinned: \`$PIN\`; configurations in ABBA order."
	[[ -n $PIN ]] || echo "Configurations in ABBA order (reversed every other round)."
	echo "Workloads: $WORKLOADS; $SECS s per run, $RUNS rounds."
	echo
	$PY bench/bench.py report "$RAW"
	if [[ -s $FIXED ]]; then
		echo
		echo "## Fixed costs"
		echo
		$PY bench/bench.py fixed-report "$FIXED"
	fi
	if [[ -s $NOTES ]]; then
		echo
		sed 's/^/Note: /' "$NOTES"
	fi
} >"$RESULTS"
cat "$RESULTS"
