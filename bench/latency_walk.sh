#!/bin/bash
# The latency walk's cost (BENCHMARKS.md "Remote-operation latency walk"): one iter/tcp walk of
# bpf/latency.bpf.o over N open loopback TCP connections (2N sockets), none watched, read 5 times.
# Run as root under the shared BPF lock: flock /tmp/gw-e2e.lock bench/latency_walk.sh [N]
set -euo pipefail
N=${1:-5000}
cd "$(dirname "$0")/.."
PIN=/sys/fs/bpf/gw_latency_walk_bench
READY=$(mktemp -u)
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
rm -f "$PIN"
python3 - "$N" "$READY" <<'PY' &
import resource, socket, sys, time
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
n, ready = int(sys.argv[1]), sys.argv[2]
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(4096)
keep = []
for i in range(n):
    c = socket.create_connection(l.getsockname())
    s, _ = l.accept()
    keep += [c, s]
open(ready, "w").write("1")
time.sleep(60)
PY
HOLDER=$!
trap 'kill $HOLDER 2>/dev/null; rm -f "$PIN" "$READY"' EXIT
for _ in $(seq 300); do
	[[ -e $READY ]] && break
	kill -0 $HOLDER 2>/dev/null || { echo "latency_walk: the connection holder failed" >&2; exit 1; }
	sleep 0.2
done
[[ -e $READY ]] || { echo "latency_walk: connections not up in 60 s" >&2; exit 1; }
bpftool iter pin build/bpf/latency.bpf.o "$PIN"
echo "sockets: $(($(ss -tan | wc -l) - 1))"
for i in 1 2 3 4 5; do
	s=$(date +%s%N)
	cat "$PIN" >/dev/null
	e=$(date +%s%N)
	echo "walk $i: $(((e - s) / 1000)) us"
done
