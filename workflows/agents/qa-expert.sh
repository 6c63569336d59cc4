#!/bin/sh
# QA agent: runs what the developer built and checks it serves every path of the spec.
set -eu
out="$("$WFO_INPUT_IMPL")"
for path in $(grep -E '^  /' "$WFO_INPUT_SPEC" | tr -d ' :'); do
  echo "$out" | grep -q "handled $path" || { echo "qa-expert: $path is not handled" >&2; exit 1; }
  echo "qa-expert: $path ok"
done
echo "$out" > "$(dirname "$WFO_INPUT_IMPL")/qa-report.txt"
