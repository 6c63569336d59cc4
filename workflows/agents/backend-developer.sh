#!/bin/sh
# Backend-developer agent: reads the spec the designer wrote and builds a handler for each
# path in it. With flaky=1 its first attempt fails with exit 75 (a transient error, as a
# rate-limited model API gives), which the workflow's retry policy retries.
set -eu
spec="$WFO_INPUT_SPEC"
[ -f "$spec" ] || { echo "backend-developer: no spec at $spec" >&2; exit 1; }
if [ "${WFO_INPUT_FLAKY:-0}" = 1 ] && [ "$WFO_ATTEMPT" = 1 ]; then
  echo "backend-developer: rate limit, try again later" >&2
  exit 75
fi
impl="$(dirname "$spec")/handlers.sh"
{
  echo "#!/bin/sh"
  echo "# generated from $spec"
  grep -E '^  /' "$spec" | tr -d ' :' | while read -r path; do
    echo "echo 'handled $path'"
  done
} > "$impl"
chmod +x "$impl"
echo "backend-developer: built $impl from $spec"
echo "impl_path=$impl" >> "$WFO_OUTPUT"
