#!/usr/bin/python3
"""bench.py - the measuring half of bench/run.sh (run.sh drives processes, this reads and sums).

  bench.py snapshot PID            one JSON line: PID's CPU time and its BPF programs' run stats
  bench.py foreign-progs PID|-     how many tracing programs are loaded that PID does not own
  bench.py agent-summary LOG...    the agent's final event and drop counters, parsed from its output
  bench.py record ...              one raw result line (see run.sh) from the pieces above
  bench.py report RAW.jsonl        the Markdown tables of medians, to stdout
  bench.py hold-stats              keep BPF run-time stats on until killed (see below)
  bench.py fixed PID               one JSON line: PID's RSS, locked BPF memory, CPU, wakeups so far
  bench.py fixed-report FIXED.jsonl  the fixed-costs table, to stdout

Configurations: "baseline" is the loop alone; every other configuration is the same loop with one
tool attached: ghostwatch at the baseline ref ("base"), today's ("agent"), or a peer (execsnoop,
tcplife, tcpstates, auditd). A record's phase says which baseline runs it pairs with: auditd runs in
rounds of its own, after the others (run.sh).

CPU time: /proc/PID/stat utime+stime tick at 10 ms (CLK_TCK 100), too coarse for an agent that
should use well under 1% of a core over a 10 s window, so the figure used is the sum over the
agent's threads of /proc/PID/task/*/schedstat field 1 (ns on CPU, user + kernel); the stat ticks
are recorded alongside as a cross-check.

BPF programs: the agent's own, found through the prog_id of the bpf-prog and bpf_link fds it holds
(/proc/PID/fdinfo), not by name: on this shared machine other people load programs of the same
name. Their run_time_ns / run_cnt come from `bpftool prog show --json`, and only in the one
configuration run.sh runs with kernel.bpf_stats_enabled=1 (two clock reads per program run would
otherwise count in every slowdown). Other people on this host set and reset that sysctl too, which
switched the stats off in the middle of runs; the sysctl and BPF_ENABLE_STATS each hold their own
reference on the kernel's stats switch, so run.sh also keeps a BPF_ENABLE_STATS fd open (hold-stats)
for that configuration's runs, and a program whose run count did not move is reported as unknown,
never as 0 ns.
"""
import contextlib
import ctypes
import json
import os
import signal
import re
import statistics
import subprocess
import sys
import tempfile
import time

# The configuration "against" compares today's agent with (run.sh: BENCH_AGAINST).
AGAINST = os.environ.get("BENCH_AGAINST", "base")
TRACING_TYPES = {"tracepoint", "raw_tracepoint", "tracing", "kprobe", "perf_event", "lsm"}


def read(path):
    with open(path) as f:
        return f.read()


def cpu_of(pid):
    ns = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            ns += int(read(f"/proc/{pid}/task/{tid}/schedstat").split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that exited between listdir and read
    stat = read(f"/proc/{pid}/stat")
    fields = stat[stat.rindex(")") + 2:].split()  # comm may hold spaces: split after it
    ticks = int(fields[11]) + int(fields[12])   # utime, stime (fields 14 and 15 of stat)
    return ns, ticks * 1_000_000 // os.sysconf("SC_CLK_TCK")


def owned_prog_ids(pid):
    ids = set()
    fddir = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(fddir):
        try:
            m = re.search(r"^prog_id:\s*(\d+)", read(f"{fddir}/{fd}"), re.M)
        except OSError:
            continue
        if m:
            ids.add(int(m.group(1)))
    return ids


def all_progs():
    out = subprocess.run(["bpftool", "prog", "show", "--json"], capture_output=True, text=True)
    try:
        return json.loads(out.stdout or "[]")
    except json.JSONDecodeError:
        return []


def snapshot(pid):
    cpu_ns, cpu_ticks_us = cpu_of(pid)
    ids = owned_prog_ids(pid)
    progs = {}
    for p in all_progs():
        if p.get("id") in ids:
            progs[str(p["id"])] = {
                "name": p.get("name", "?"),
                "type": p.get("type", "?"),
                "run_time_ns": p.get("run_time_ns", 0),
                "run_cnt": p.get("run_cnt", 0),
            }
    hwm = re.search(r"^VmHWM:\s*(\d+)", read(f"/proc/{pid}/status"), re.M)
    return {"cpu_ns": cpu_ns, "cpu_ticks_us": cpu_ticks_us, "progs": progs,
            "rss_hwm_kib": int(hwm.group(1)) if hwm else None}


SYS_BPF_X86_64 = 321
BPF_ENABLE_STATS = 32
BPF_STATS_RUN_TIME = 0


@contextlib.contextmanager
def agent_running(binary, settle):
    """`binary debug --json` (output discarded) from `settle` s after its live-hooks line, once
    every hook is attached or given up on, until SIGTERM when the block ends. Yields its Popen."""
    with tempfile.TemporaryFile(mode="w+") as err:
        agent = subprocess.Popen([binary, "debug", "--json"], stdout=subprocess.DEVNULL,
                                 stderr=err)
        try:
            deadline = time.monotonic() + 10
            while True:
                err.seek(0)
                if "live hooks:" in err.read():
                    break
                if agent.poll() is not None:
                    sys.exit(f"{binary} exited at start")
                if time.monotonic() > deadline:
                    sys.exit(f"{binary} printed no live-hooks line in 10 s")
                time.sleep(0.01)
            time.sleep(settle)
            yield agent
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait()


def hold_stats():
    """bpf(BPF_ENABLE_STATS): run-time stats stay on while the returned fd is open."""
    libc = ctypes.CDLL(None, use_errno=True)
    attr = ctypes.c_uint32(BPF_STATS_RUN_TIME)
    fd = libc.syscall(SYS_BPF_X86_64, BPF_ENABLE_STATS, ctypes.byref(attr), ctypes.sizeof(attr))
    if fd < 0:
        sys.exit(f"bench.py: BPF_ENABLE_STATS: {os.strerror(ctypes.get_errno())}")
    print("holding", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


def foreign_progs(pid):
    ids = owned_prog_ids(pid) if pid != "-" else set()
    return sum(1 for p in all_progs() if p.get("type") in TRACING_TYPES and p.get("id") not in ids)


def counters(obj):
    """AgentStats counters: [{"name":..,"value":..}] in proto JSON, or a plain {name: value}."""
    if isinstance(obj, dict):
        return {k: int(v) for k, v in obj.items()}
    return {c.get("name", "?"): int(c.get("value", 0)) for c in obj or []}


def agent_summary(paths):
    """The agent's final counters: its last `stats` JSON object if one reached the file (stdout is
    /dev/null in the bench, so usually not), else its summary line on stderr, which reads
    `summary: events exec=N exit=N fork=N; drops exec=N ... (total N); evicted proc_exited=N ...`.
    Also the `live hooks:` line, so the report says which hooks were measured."""
    stats = summary_line = hooks = None
    for path in paths:
        try:
            text = read(path)
        except OSError:
            continue
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if obj.get("type") == "stats":
                    stats = obj.get("stats", obj)
            elif "live hooks:" in line:
                hooks = line.split("live hooks:", 1)[1].strip()
            elif re.search(r"\bevents?\b", line) and re.search(r"\bdrops?\b", line):
                summary_line = line
    if stats is not None:
        out = {"events": counters(stats.get("events")), "drops": counters(stats.get("drops")),
               "source": "stats"}
    elif summary_line is not None:
        out = parse_summary_line(summary_line)
    else:
        return None
    out["hooks"] = hooks
    return out


def parse_summary_line(line):
    """Each ';'-separated part is a heading word followed by name=value pairs."""
    out = {"events": {}, "drops": {}, "source": "summary line"}
    pair = re.compile(r"([\w./-]+)=(\d+)")
    for part in line.split(";"):
        part = part.split(":", 1)[1] if part.lstrip().startswith("summary:") else part
        words = part.split()
        if not words:
            continue
        head = words[0].rstrip(":").lower()
        key = "events" if head.startswith("event") else "drops" if head.startswith("drop") \
            else head
        out[key] = {k: int(v) for k, v in pair.findall(part)}
    return out


def record(args):
    """record WORKLOAD RATE RUN CONFIG LOOP_JSON [BEFORE AFTER SUMMARY FOREIGN AGENT_RC]"""
    workload, rate, run, config, loop = args[:5]
    rec = {"workload": workload, "rate": int(rate), "run": int(run), "config": config,
           "phase": os.environ.get("BENCH_PHASE", "main"),
           "kind": os.environ.get("BENCH_KIND", "ghostwatch"), "loop": json.loads(loop)}
    if len(args) > 5:
        before, after, summary, foreign, rc = args[5:10]
        rec["agent"] = {"before": json.loads(before), "after": json.loads(after),
                        "summary": json.loads(summary), "foreign_progs": int(foreign),
                        "exit_status": int(rc)}
    print(json.dumps(rec, separators=(",", ":")))


# ---- report -------------------------------------------------------------------------------------

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec=".1f", none="–"):
    return none if x is None else format(x, spec)


def agent_metrics(rec):
    a = rec["agent"]
    b, e = a["before"], a["after"]
    loop = rec["loop"]
    wall = loop["wall_s"]
    cpu_ns = e["cpu_ns"] - b["cpu_ns"]
    summary = a["summary"] or {}
    events = sum(summary.get("events", {}).values()) if summary else None
    drops = sum(summary.get("drops", {}).values()) if summary else None
    progs = {}
    for pid_, pe in e["progs"].items():
        pb = b["progs"].get(pid_, {"run_time_ns": 0, "run_cnt": 0})
        runs = pe["run_cnt"] - pb["run_cnt"]
        progs[pe["name"]] = (pe["run_time_ns"] - pb["run_time_ns"], runs)
    # No run count moving at all means the stats were off: unknown, not 0. One program idle in a
    # workload (the network object's sendmsg6 under a TCP loop) is not: it cost nothing.
    stats_seen = any(r > 0 for _, r in progs.values())
    bpf_ns = sum(t for t, r in progs.values() if r > 0) if stats_seen else None
    return {
        "cpu_pct": 100.0 * cpu_ns / 1e9 / wall,
        "cpu_ticks_pct": 100.0 * (e["cpu_ticks_us"] - b["cpu_ticks_us"]) / 1e6 / wall,
        "us_per_event": cpu_ns / 1e3 / events if events else None,
        "us_per_op": cpu_ns / 1e3 / loop["ops"] if loop["ops"] else None,
        "events": events,
        "drops": drops,
        "bpf_progs": {n: (t / r if r else None) for n, (t, r) in progs.items()},
        "bpf_us_per_op": bpf_ns / 1e3 / loop["ops"] if bpf_ns is not None and loop["ops"]
        else None,
        "rss_kib": e.get("rss_hwm_kib"),
        "foreign": a["foreign_progs"],
    }


def slowdown_cell(ratios):
    """Median of the per-round ratios; with 4 rounds or more, their middle half too, since one
    round's ratio on this shared host says little (BENCHMARKS.md)."""
    if len(ratios) < 4:
        return fmt(med(ratios), ".3f")
    q1, _, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    return f"{fmt(med(ratios), '.3f')} ({q1:.3f}–{q3:.3f})"


def round_key(rec):
    return rec.get("phase", "main"), rec["run"]


def baselines(recs, workload, rate):
    """The no-agent runs of a workload and rate, by (phase, round)."""
    return {round_key(r): r for r in recs
            if (r["workload"], r["rate"], r["config"]) == (workload, rate, "baseline")}


def cpu_per_op(rec):
    return rec["loop"]["cpu_total_us"] / max(rec["loop"]["ops"], 1)


def paired_ratio(rec, other):
    """Loop CPU per op of rec over other's, run in the same round: the machine is shared, so the
    ratio within one round is what means something."""
    if not other or not other["loop"]["cpu_total_us"] or not rec["loop"]["ops"]:
        return None
    return cpu_per_op(rec) / cpu_per_op(other)


def side_by_side(recs):
    """The table BENCHMARKS.md keeps: each tool's loop slowdown against the loop alone in the same
    round, and today's agent against the baseline ref's in the same round."""
    head = ["workload", "rate/s", "tool", "achieved/s", "loop CPU µs/op",
            "slowdown (middle half)", f"against {AGAINST}", "tool CPU % of a core", "drops",
            "rounds"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    keys = list(dict.fromkeys((r["workload"], r["rate"]) for r in recs))
    configs = list(dict.fromkeys(r["config"] for r in recs if r["config"] != "baseline"))
    for workload, rate in keys:
        base = baselines(recs, workload, rate)
        main = [b for k, b in base.items() if k[0] == "main"] or list(base.values())
        if main:
            out.append(f"| {workload} | {rate} | no tool | "
                       f"{fmt(med([b['loop']['achieved_rate'] for b in main]), '.0f')} | "
                       f"{fmt(med([cpu_per_op(b) for b in main]), '.1f')} | 1 | – | – | – | "
                       f"{len(main)} |")
        gw_base = {round_key(r): r for r in recs
                   if (r["workload"], r["rate"], r["config"]) == (workload, rate, AGAINST)}
        for config in configs:
            runs = [r for r in recs
                    if (r["workload"], r["rate"], r["config"]) == (workload, rate, config)]
            if not runs:
                continue
            ratios = [x for x in (paired_ratio(r, base.get(round_key(r))) for r in runs)
                      if x is not None]
            ghostwatch = runs[0].get("kind", "ghostwatch") == "ghostwatch"
            against = [x for x in (paired_ratio(r, gw_base.get(round_key(r))) for r in runs)
                       if x is not None] if ghostwatch and config != AGAINST else []
            cpu = [agent_metrics(r)["cpu_pct"] for r in runs]
            drops = [agent_metrics(r)["drops"] for r in runs] if ghostwatch else []
            out.append(f"| {workload} | {rate} | {config} | "
                       f"{fmt(med([r['loop']['achieved_rate'] for r in runs]), '.0f')} | "
                       f"{fmt(med([cpu_per_op(r) for r in runs]), '.1f')} | "
                       f"{slowdown_cell(ratios)} | "
                       f"{slowdown_cell(against) if against else '–'} | "
                       f"{fmt(med(cpu), '.2f')} | "
                       f"{fmt(sum(d for d in drops if d is not None), '.0f') if drops else '–'} | "
                       f"{len(runs)} |")
    out.append("")
    out.append("Slowdown: median over rounds of the loop's CPU per op (its own and its children's) "
               "with the tool attached over the loop alone in the same round, the middle half of "
               f"the rounds' ratios in brackets. Against {AGAINST}: the same ratio of today's agent "
               f"to the {AGAINST} configuration in the same round (ghostwatch only). Drops: summed "
               "over the rounds.")
    return "\n".join(out)


def report(path):
    recs = [json.loads(line) for line in open(path) if line.strip()]
    print(side_by_side(recs))
    print()
    print("Every column, every configuration:")
    print()
    keys = []
    for r in recs:
        k = (r["workload"], r["rate"])
        if k not in keys:
            keys.append(k)
    configs = []
    for r in recs:
        if r["config"] != "baseline" and r["config"] not in configs:
            configs.append(r["config"])

    rows = []
    notes = set()
    foreign = []  # tracing programs loaded by other people during each agent run
    for workload, rate in keys:
        base = baselines(recs, workload, rate)
        base_cpu = med([r["loop"]["cpu_total_us"] / max(r["loop"]["ops"], 1)
                        for r in base.values()])
        if base:
            rows.append([workload, str(rate), "no agent", fmt(med([r["loop"]["achieved_rate"]
                                                                   for r in base.values()])),
                         fmt(base_cpu), "1.00", "–", "–", "–", "–", "–", "–", "–", "–", "–", "–",
                         fmt(med([r["loop"]["late_ticks"] for r in base.values()]), ".0f")])
        for config in configs:
            runs = [r for r in recs
                    if (r["workload"], r["rate"], r["config"]) == (workload, rate, config)]
            if not runs:
                continue
            ratios, ms = [], []
            for r in runs:
                m = agent_metrics(r)
                ms.append(m)
                ratio = paired_ratio(r, base.get(round_key(r)))
                if ratio is not None:
                    ratios.append(ratio)
                foreign.append(m["foreign"])
                if r.get("kind", "ghostwatch") != "ghostwatch":
                    continue  # a peer prints no ghostwatch summary and exits on SIGTERM
                if r["agent"]["exit_status"] != 0:
                    notes.add(f"{config}: the agent exited with status "
                              f"{r['agent']['exit_status']} in round {r['run']} at {rate}/s")
                if r["agent"]["summary"] and r["agent"]["summary"].get("hooks"):
                    notes.add(f"{config}: live hooks {r['agent']['summary']['hooks']}")
                if r["agent"]["summary"] is None:
                    notes.add(f"{config}: no event/drop summary could be parsed from the agent")
            progs = sorted({n for m in ms for n in m["bpf_progs"]})
            bpf = ", ".join(f"{n} {fmt(med([m['bpf_progs'].get(n) for m in ms]), '.0f')}"
                            for n in progs if med([m["bpf_progs"].get(n) for m in ms]))
            bpf = bpf or "–"  # the stats were off, or no program ran
            cpu = [m["cpu_pct"] for m in ms]
            rows.append([
                workload, str(rate), config,
                fmt(med([r["loop"]["achieved_rate"] or None for r in runs])),
                fmt(med([r["loop"]["cpu_total_us"] / r["loop"]["ops"] if r["loop"]["ops"]
                         else None for r in runs])),
                slowdown_cell(ratios),
                f"{fmt(med(cpu), '.2f')} ({fmt(min(cpu), '.2f')}–{fmt(max(cpu), '.2f')})",
                fmt(med([m["cpu_ticks_pct"] for m in ms]), ".1f"),
                fmt(med([m["us_per_event"] for m in ms]), ".2f"),
                fmt(med([m["us_per_op"] for m in ms]), ".3f"),
                fmt(med([m["events"] for m in ms]), ".0f"),
                fmt(med([m["drops"] for m in ms]), ".0f"),
                bpf,
                fmt(med([m["bpf_us_per_op"] for m in ms]), ".2f"),
                fmt(med([m["bpf_us_per_op"] for m in ms]) and base_cpu and
                    100.0 * med([m["bpf_us_per_op"] for m in ms]) / base_cpu, ".1f"),
                fmt(med([m["rss_kib"] for m in ms]) and med([m["rss_kib"] for m in ms]) / 1024,
                    ".1f"),
                fmt(med([r["loop"]["late_ticks"] for r in runs]), ".0f"),
            ])
    head = ["workload", "target/s", "config", "achieved/s", "loop CPU µs/op",
            "loop slowdown (middle half of rounds)", "agent CPU % of a core (min–max)", "same from stat ticks",
            "agent CPU µs/event", "agent CPU µs/op",
            "events", "drops", "BPF ns/run per program", "BPF µs/op", "BPF % of op cost", "agent RSS MiB",
            "late ticks"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    runs = len({r["run"] for r in recs})
    out.append("")
    out.append(f"Medians of {runs} rounds; each round runs every configuration back to back, and "
               "the slowdown is the ratio of loop CPU per op (own + children) with the agent to "
               "without it in the same round; BPF % of op cost is the agent's BPF run time per op over "
               "the no-agent loop CPU per op, a steadier estimate of the same slowdown. Agent CPU is schedstat run time (ns) over the "
               "loop's wall time; the stat-ticks column is the 10 ms-granular utime+stime "
               "cross-check.")
    if any(foreign):
        out.append(f"Note: other people's tracing programs loaded during the agent runs: "
                   f"{min(foreign)}–{max(foreign)} (they may hook the same paths; this host is "
                   f"shared).")
    for n in sorted(notes):
        out.append(f"Note: {n}.")
    print("\n".join(out))


def bpf_memlock(pid):
    """Bytes the kernel charges for the BPF maps and programs PID holds (fdinfo's memlock), each
    map or program once however many fds point at it."""
    seen = {}
    fddir = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(fddir):
        try:
            info = read(f"{fddir}/{fd}")
        except OSError:
            continue
        ident = re.search(r"^(map_id|prog_id):\s*(\d+)", info, re.M)
        lock = re.search(r"^memlock:\s*(\d+)", info, re.M)
        if ident and lock and not re.search(r"^link_type:", info, re.M):
            seen[(ident.group(1), ident.group(2))] = int(lock.group(1))
    return sum(seen.values())


def fixed(pid):
    """What a tool costs by being there: resident memory, locked BPF memory, CPU so far, and the
    voluntary context switches of all its threads (each one a sleep it was woken from)."""
    status = read(f"/proc/{pid}/status")
    field = lambda name: int(re.search(rf"^{name}:\s*(\d+)", status, re.M).group(1))
    vcsw = nvcsw = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            t = read(f"/proc/{pid}/task/{tid}/status")
        except OSError:
            continue
        vcsw += int(re.search(r"^voluntary_ctxt_switches:\s*(\d+)", t, re.M).group(1))
        nvcsw += int(re.search(r"^nonvoluntary_ctxt_switches:\s*(\d+)", t, re.M).group(1))
    return {"rss_kib": field("VmRSS"), "hwm_kib": field("VmHWM"), "memlock": bpf_memlock(pid),
            "cpu_ns": cpu_of(pid)[0], "vcsw": vcsw, "nvcsw": nvcsw,
            "threads": len(os.listdir(f"/proc/{pid}/task"))}


def fixed_costs_medians(text):
    """The median row of bench/fixed_costs.sh's table, by its header's column names."""
    head = med_row = None
    for line in (text or "").splitlines():
        words = line.split()
        if words and words[0] == "run":
            head = words
        elif words and words[0] == "median" and head:
            med_row = words
    if not head or not med_row:
        return {}
    return {h: v for h, v in zip(head[1:], med_row[1:])}


def fixed_report(path):
    recs = [json.loads(line) for line in open(path) if line.strip()]
    head = ["tool", "start-up to ready, ms wall", "CPU by then, ms", "RSS MiB", "locked BPF MiB",
            "idle wakeups/s", "idle CPU % of a core", "threads"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in recs:
        a, b, ready = r["idle_after"], r["idle_before"], r["ready"]
        secs = r["idle_s"]
        out.append(f"| {r['tool']} | {r['startup_ms']:.0f} | {ready['cpu_ns'] / 1e6:.0f} | "
                   f"{a['rss_kib'] / 1024:.1f} | {a['memlock'] / 2**20:.1f} | "
                   f"{(a['vcsw'] - b['vcsw']) / secs:.1f} | "
                   f"{100.0 * (a['cpu_ns'] - b['cpu_ns']) / 1e9 / secs:.3f} | {a['threads']} |")
    out.append("")
    out.append("Start-up: from launch to the tool's ready line (ghostwatch's `live hooks:`, a "
               "peer's first output line, its header). RSS and locked BPF memory (fdinfo memlock "
               "of the maps and programs it holds) at the end of the idle window. Idle wakeups: "
               f"voluntary context switches of all its threads over {recs[0]['idle_s'] if recs else 0} s "
               "with no bench load (this host is shared: other people's processes still run and "
               "are still seen).")
    sh = {r["tool"]: fixed_costs_medians(r.get("fixed_costs_sh")) for r in recs}
    if any(sh.values()):
        out.append("")
        out.append("`bench/fixed_costs.sh` (each agent started afresh, medians):")
        out.append("")
        out.append("| tool | start-up ms | CPU ms | locked BPF KiB | RSS KiB |")
        out.append("|---|---|---|---|---|")
        for tool, m in sh.items():
            if m:
                out.append(f"| {tool} | {m.get('startup_ms', '?')} | {m.get('cpu_ms', '?')} | "
                           f"{m.get('memlock_kib', '?')} | {m.get('rss_kib', '?')} |")
    for r in recs:
        if r.get("fixed_costs_sh"):
            out.append("")
            out.append(f"`GW={r['binary']} bench/fixed_costs.sh`:")
            out.append("")
            out.append("```")
            out.append(r["fixed_costs_sh"].rstrip())
            out.append("```")
    return "\n".join(out)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "snapshot":
        print(json.dumps(snapshot(args[0]), separators=(",", ":")))
    elif cmd == "foreign-progs":
        print(foreign_progs(args[0]))
    elif cmd == "agent-summary":
        print(json.dumps(agent_summary(args)))
    elif cmd == "record":
        record(args)
    elif cmd == "report":
        report(args[0])
    elif cmd == "fixed":
        print(json.dumps(fixed(args[0]), separators=(",", ":")))
    elif cmd == "fixed-report":
        print(fixed_report(args[0]))
    elif cmd == "hold-stats":
        hold_stats()
    else:
        sys.exit(f"bench.py: unknown command {cmd}")


if __name__ == "__main__":
    main()
