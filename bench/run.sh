#!/usr/bin/env bash
# The benchmark of issue 7, from a clean clone: installs what it needs (Debian packages),
# builds wfo (RelWithDebInfo, in build-bench/) and the spawn floor, then runs bench.py.
# Opt-in: never part of ctest. Arguments go to bench.py, e.g. `bench/run.sh --quick` or
# `bench/run.sh --only compare --reps 9`. Results: Markdown on stdout; see docs/benchmarks.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${WFO_BENCH_BUILD:-$ROOT/build-bench}"
JOBS="${WFO_BENCH_JOBS:-2}"

"$ROOT/bench/setup.sh"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" --target wfo -j "$JOBS" >/dev/null
mkdir -p "$BUILD/bench"
cc -O2 -o "$BUILD/bench/spawn_floor" "$ROOT/bench/spawn_floor.c"
cc -O2 -o "$BUILD/bench/durable_floor" "$ROOT/bench/durable_floor.c" -lsqlite3

exec python3 "$ROOT/bench/bench.py" --wfo "$BUILD/src/cli/wfo" --floor "$BUILD/bench/spawn_floor" \
  --durable-floor "$BUILD/bench/durable_floor" \
  --out "$ROOT/bench/out" "$@"
