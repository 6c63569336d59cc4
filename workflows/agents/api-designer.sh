#!/bin/sh
# API-designer agent: writes an API spec for a feature and hands its path on as an output.
set -eu
feature="" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --feature) feature="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "api-designer: unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
spec="$out/api-$feature.yaml"
cat > "$spec" <<SPEC
openapi: 3.0.0
info: {title: $feature, version: "1.0"}
paths:
  /$feature:
    post:
      summary: perform $feature
      responses: {"200": {description: ok}}
SPEC
echo "api-designer: wrote $spec (attempt $WFO_ATTEMPT)"
echo "spec_path=$spec" >> "$WFO_OUTPUT"
