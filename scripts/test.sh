#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to the whole test suite: installs what is
# missing, builds wfo and its tests (warnings are errors), and runs every unit and
# end-to-end test with ctest. `.ci/run` calls exactly this.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
wfo_install_missing
wfo_build
cd "$WFO_BUILD"
# The soak (ctest -L soak) is opt-in: it runs for an hour or more.
ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" --timeout 900 -LE soak "$@"
