#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.cpp) with clang, ASan and UBSan, then runs
# each for WFO_FUZZ_SECONDS (default 60), side by side, starting from the seed corpus in
# tests/fuzz/corpus/<target>/. New inputs go to the build folder, never into the repo.
# Exits 1 when a target crashed, leaked, hung (10 s per input) or failed to run; the input
# that did it is printed: add it to tests/fuzz/corpus/<target>/ once fixed (every such file
# is replayed by ctest as fuzz.<target>).
#
#   tests/fuzz/run.sh                        # build in ./build-fuzz, 60 s per target
#   WFO_FUZZ_SECONDS=3600 tests/fuzz/run.sh  # a longer hunt
#   WFO_FUZZ_TARGETS=expr tests/fuzz/run.sh  # one target
#
# Compiler: clang++-19 (Debian 12: clang-19, libclang-rt-19-dev). Older clang defines
# __cpp_concepts below 202002, which hides std::expected in libstdc++ 12's <expected>.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${WFO_FUZZ_BUILD:-$root/build-fuzz}"
seconds="${WFO_FUZZ_SECONDS:-60}"
targets=(${WFO_FUZZ_TARGETS:-loader expr})
cxx="${WFO_FUZZ_CXX:-clang++-19}"

if ! command -v "$cxx" >/dev/null; then
  echo "fuzz: $cxx not found: install clang-19 and libclang-rt-19-dev (scripts/common.sh)" >&2
  exit 1
fi

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DWFO_FUZZ=ON \
  -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" >/dev/null
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target "${targets[@]/#/fuzz_}"

declare -A pids
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  mkdir -p "$corpus" "$build/artifacts"
  dict=()
  [ -f "$root/tests/fuzz/$t.dict" ] && dict=("-dict=$root/tests/fuzz/$t.dict")
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=16384 -print_final_stats=1 "${dict[@]}" \
    -artifact_prefix="$build/artifacts/$t-" "$corpus" "$root/tests/fuzz/corpus/$t" \
    >"$build/fuzz-$t.log" 2>&1 &
  pids[$t]=$!
done

failed=0
for t in "${targets[@]}"; do
  if wait "${pids[$t]}"; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/fuzz-$t.log")
    cov=$(grep -o 'cov: [0-9]*' "$build/fuzz-$t.log" | tail -1)
    echo "fuzz: $t: $runs inputs in ${seconds} s, $cov, no crash"
  else
    failed=1
    echo "fuzz: $t: FAILED; the end of $build/fuzz-$t.log:" >&2
    grep -v '^#\|^"' "$build/fuzz-$t.log" | tail -60 >&2
    ls "$build/artifacts/$t-"* 2>/dev/null | sed 's/^/fuzz: input: /' >&2 || true
  fi
done
exit "$failed"
