#!/usr/bin/env python3
"""Collector throughput: batches/s and events/s from a preloaded JetStream stream to NDJSON on
disk (decode, validate, render, write, fdatasync per fetch group, ack), with one collector and
with two sharing the durable consumer. Baseline in the same run: how fast one publisher
(gw-publish, mTLS, async JetStream publish with acks) fills the stream with the same batches,
so the ratio says whether the collector keeps up with ingest on this machine.

usage: bench/collector_bench.py [--batches N] [--events N]     (needs `make all`)
Prints a markdown table for BENCHMARKS.md.
"""
import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
os.environ.setdefault("GW_COLLECTOR", str(Path(__file__).resolve().parents[1] / "build" /
                                         "ghostwatch-collector"))
import fleet_harness as fh  # noqa: E402


def preload(pki, url, hosts, batches, events):
    per_host = batches // len(hosts)
    t0 = time.monotonic()
    total_bytes = 0
    for h in hosts:
        r = fh.publish(pki, url, "gen", "--host", h, "--count", str(per_host), "--events",
                       str(events), cert_host=h, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
        total_bytes += int(re.search(r"bytes (\d+)", r.stdout).group(1))
    return time.monotonic() - t0, total_bytes, per_host * len(hosts)


def drain(tmp, pki, url, n_collectors, expect):
    cols = []
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    for i in range(n_collectors):
        c = fh.Collector(Path(tmp) / f"c{n_collectors}-{i}", pki, url, "--log-level", "info",
                         "--idle-exit", "2", "--stats-interval", "0",
                         durable=f"bench{n_collectors}")
        c.start()
        cols.append(c)
    for c in cols:
        c.proc.wait(600)
        c.logf.close()
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy, batches, events, written = 0.0, 0, 0, 0
    for c in cols:
        m = re.search(r"exit: batches=(\d+) events=(\d+).*bytes_written=(\d+).*busy_s=([\d.]+)",
                      c.log_text())
        assert m, c.log_text()[-2000:]
        batches += int(m.group(1))
        events += int(m.group(2))
        written += int(m.group(3))
        busy = max(busy, float(m.group(4)))
    assert batches == expect, (batches, expect)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return busy, batches, events, cpu, written


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=4000)
    ap.add_argument("--events", type=int, default=100)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pki = fh.make_pki(Path(tmp) / "pki")
        results = []
        # one nats-server per run: the fleet view is in the server's bucket, and a second run on
        # the same server would find every batch recorded already (repeats, nothing written)
        for n_collectors in (1, 2):
            server = fh.single_node(Path(tmp) / f"run{n_collectors}", pki)
            try:
                hosts = fh.HOSTS
                # the first collector start creates the stream (as in production)
                c = fh.Collector(Path(tmp) / f"create{n_collectors}", pki, server.url,
                                 "--idle-exit", "1", durable="create")
                c.start()
                c.proc.wait(60)
                c.logf.close()
                pub_s, wire_bytes, n = preload(pki, server.url, hosts, a.batches, a.events)
                ev = n * a.events
                results.append(drain(tmp, pki, server.url, n_collectors, n))
            finally:
                server.stop()
        one, two = results
    print(f"Collector throughput, {n} batches x {a.events} events ({ev} events, "
          f"{wire_bytes / ev:.1f} wire bytes/event for the synthetic exec/exit batches), "
          f"single nats-server with JetStream file store, mTLS, 2 shared cores\n")
    print("| stage | batches/s | events/s | CPU µs/batch | NDJSON MB/s | ratio to ingest |")
    print("|---|---|---|---|---|---|")
    print(f"| ingest baseline: 1 publisher, async JetStream publish + acks | {n / pub_s:,.0f} | "
          f"{ev / pub_s:,.0f} | - | - | 1.00 |")
    for label, (busy, b, e, cpu, written) in (("1 collector: fetch, decode, validate, NDJSON, "
                                      "fdatasync, ack", one),
                                     ("2 collectors sharing the durable consumer", two)):
        print(f"| {label} | {b / busy:,.0f} | {e / busy:,.0f} | {cpu / b * 1e6:,.0f} | "
              f"{written / busy / 1e6:,.0f} | {(b / busy) / (n / pub_s):.2f} |")


if __name__ == "__main__":
    main()
