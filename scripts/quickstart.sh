#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a real run: installs what is missing, builds
# wfo, and runs workflows/feature-delivery.yaml up to its first approval gate.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
wfo_install_missing
wfo_build --target wfo
wfo="$WFO_BUILD/src/cli/wfo"
cd "$WFO_ROOT"
echo
echo "== wfo run workflows/feature-delivery.yaml -p feature=login"
set +e
run_id="$("$wfo" run workflows/feature-delivery.yaml -p feature=login)"
code=$?
set -e
echo "run id: $run_id (exit $code: 3 means parked at an approval gate)"
echo
echo "== wfo status $run_id"
"$wfo" status "$run_id"
cat <<MSG

Next, as a reviewer would:
  $wfo approve $run_id --task review --comment "spec looks good"
  $wfo resume $run_id        # runs develop and test, then parks at the deploy gate (exit 3)
  $wfo approve $run_id --task deploy
  $wfo resume $run_id        # deploys; exit 0
MSG
