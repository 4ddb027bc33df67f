#!/usr/bin/env bash
# bench/base.sh - builds the agent at a baseline git ref, so `make bench` measures today's code and
# that ref's side by side in the same run. The ref's tree goes into $BUILD/bench-base/src (git
# archive: no worktree to clean up) and is built there with its own Makefile; the binary is
# $BUILD/bench-base/src/$BUILD/ghostwatch. A stamp naming the commit skips the build when it is
# already there. Prints the binary's path on stdout.
#
# Knobs: BENCH_BASE_REF (default 74a7b83, main before the house restructuring; any commit-ish),
# BUILD (default build).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
REF=${BENCH_BASE_REF:-74a7b83}
DIR=$BUILD/bench-base
SRC=$DIR/src
STAMP=$DIR/commit
BIN=$SRC/build/ghostwatch

commit=$(git rev-parse --verify --quiet "$REF^{commit}") ||
	{ echo "bench/base.sh: no commit '$REF' in this repository (BENCH_BASE_REF)" >&2; exit 1; }
if [[ -x $BIN && -f $STAMP && $(cat "$STAMP") == "$commit" ]]; then
	echo "$BIN"
	exit 0
fi

echo "bench/base.sh: building the baseline $REF ($commit) in $SRC" >&2
rm -rf "$SRC" "$STAMP"
mkdir -p "$SRC"
git archive "$commit" | tar -x -C "$SRC"
# The ref's Makefile versions its binary with git describe, which an archive lacks.
make -C "$SRC" -j"$(nproc)" all VERSION="${commit:0:7}" >"$DIR/build.log" 2>&1 ||
	{ echo "bench/base.sh: the baseline did not build; see $DIR/build.log" >&2; exit 1; }
echo "$commit" >"$STAMP"
echo "$BIN"
