#!/usr/bin/env bash
# The sanitizer pass (docs/reliability.md, "Sanitizers"): builds wfo and its tests with ASan
# and UBSan (g++, -DWFO_SANITIZE=ON) in ./build-asan, then runs the whole test suite (every
# unit test, the corpus replays of the fuzz targets, every end-to-end suite; not the opt-in
# soaks) against the instrumented binary; then, under TSan (./build-tsan), the store's unit
# tests and the e2e suites that drive wfo's CLI threads. Any report
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
# The exclusion suite's 100 rounds take 5 min under ASan; 20 rounds exercise the same paths
# (the main suite runs all 100).
export WFO_EXCLUSION_ROUNDS="${WFO_EXCLUSION_ROUNDS:-20}"
status=0
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 900 -LE soak "$@" ||
  status=$?

# TSan for wfo's threads: the store's group-commit writer of --durability full, driven by the
# store's unit tests (tests/unit/test_store_commit.cpp) and by wfo in test_durability and
# test_torture's full-durability crash loop, and
# the CLI's two, the -v log follower (src/cli/progress.cpp) and the TTY view's ticker
# (src/cli/terminal_view.cpp), driven by the e2e suites of -v and the TTY view, and
# resume's compile of the stored workflow beside its read of the run (src/cli/cmd_resume.cpp),
# driven by test_flow_subflow (sub-workflow texts) and the resumes of the others; the e2e
# suites run against a TSan build of wfo.
tsan="${WFO_TSAN_BUILD:-$WFO_ROOT/build-tsan}"
cmake -S "$WFO_ROOT" -B "$tsan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DWFO_SANITIZE_THREAD=ON \
  -DWFO_WERROR=ON >/dev/null
cmake --build "$tsan" -j "$jobs" --target test_store wfo
export TSAN_OPTIONS="log_path=$reports/tsan:halt_on_error=1:exitcode=99"
"$tsan/tests/test_store" || status=$?
ctest --test-dir "$tsan" --output-on-failure --timeout 900 \
  -R '^e2e\.test_(cli_output|cli_tty|durability|flow_subflow|torture)$' || status=$?

# LeakSanitizer checks for leaks as a process exits, from a tracer that stops its threads.
# The crash and torture suites kill wfo with SIGKILL at random moments; one that lands during
# that check leaves a report of a single line, the tracer's "Unable to get registers from
# thread N" (the thread is gone), and no finding. Such a file is dropped with a note; any
# report with more in it still fails the pass.
for f in "$reports"/asan.*; do
  [ -e "$f" ] || continue
  if ! grep -qvE '^==[0-9]+==Unable to get registers from thread [0-9]+\.$' "$f"; then
    echo "sanitize: $(basename "$f"): a leak check cut short by a kill (no finding): $(cat "$f")" >&2
    rm -f "$f"
  fi
done
if [ -n "$(ls -A "$reports")" ]; then
  echo "sanitize: sanitizer reports:" >&2
  for f in "$reports"/*; do
    echo "--- $f" >&2
    head -80 "$f" >&2
  done
  status=1
fi
[ "$status" -eq 0 ] && echo "sanitize: ASan, UBSan and TSan: no report"
exit "$status"
