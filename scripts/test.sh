#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to the whole test suite: installs what is
# missing, builds wfo and its tests (warnings are errors), and runs every unit and
# end-to-end test with ctest; then (without arguments) the sanitizer pass and 60 s of each
# fuzz target (docs/reliability.md). `.ci/run` calls exactly this. Arguments go to the first
# ctest alone (e.g. `-R unit`); WFO_SANITIZE_PASS=0 or WFO_FUZZ_SECONDS=0 skips a pass.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
wfo_install_missing
wfo_build
cd "$WFO_BUILD"
# The soak (ctest -L soak) is opt-in: it runs for an hour or more.
ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" --timeout 900 -LE soak "$@"
[ $# -eq 0 ] || exit 0
if [ "${WFO_SANITIZE_PASS:-1}" != 0 ]; then "$WFO_ROOT/scripts/sanitize.sh" -LE soak; fi
if [ "${WFO_FUZZ_SECONDS:-60}" != 0 ]; then "$WFO_ROOT/tests/fuzz/run.sh"; fi
