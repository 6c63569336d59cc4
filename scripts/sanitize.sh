#!/usr/bin/env bash
# The sanitizer pass (docs/reliability.md, "Sanitizers"): builds wfo and its tests with ASan
# and UBSan (g++, -DWFO_SANITIZE=ON) in ./build-asan, then runs every unit test, the corpus
# replays of the fuzz targets, and the end-to-end suites that cover the engine's paths
# (core, signals, gates, bad input, reliability) against the instrumented binary. Any report
# fails the pass, even from a wfo whose exit code a test did not look at: reports go to
# files (log_path), which are checked at the end. scripts/test.sh runs this after the main
# suite; run it alone as `scripts/sanitize.sh [ctest args]`.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
wfo_install_missing

build="${WFO_ASAN_BUILD:-$WFO_ROOT/build-asan}"
jobs="$(nproc 2>/dev/null || echo 2)"
cmake -S "$WFO_ROOT" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DWFO_SANITIZE=ON \
  -DWFO_WERROR=ON >/dev/null
cmake --build "$build" -j "$jobs"

reports="$build/sanitizer-reports"
rm -rf "$reports"
mkdir -p "$reports"
export ASAN_OPTIONS="log_path=$reports/asan:exitcode=99:detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="log_path=$reports/ubsan:halt_on_error=1:print_stacktrace=1:exitcode=99"
export WFO_SANITIZED=1  # tests that measure memory skip themselves
suites='^(unit\..*|fuzz\..*|e2e\.test_(core|signals|gates|bad_input|reliability_.*))$'
status=0
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 900 -R "$suites" "$@" ||
  status=$?
if [ -n "$(ls -A "$reports")" ]; then
  echo "sanitize: reports from ASan/UBSan:" >&2
  for f in "$reports"/*; do
    echo "--- $f" >&2
    head -80 "$f" >&2
  done
  status=1
fi
[ "$status" -eq 0 ] && echo "sanitize: ASan and UBSan: no report"
exit "$status"
