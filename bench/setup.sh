#!/usr/bin/env bash
# Installs what the benchmark needs beyond wfo's own build (Debian 12 packages): ninja and
# make to compare with, a C compiler for the spawn floor, e2fsprogs for chattr, and
# linux-perf and valgrind to profile (optional: installed when available).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../scripts/common.sh
source "$ROOT/scripts/common.sh"
WFO_PACKAGES+=(make gcc e2fsprogs)
wfo_install_missing

optional=()
for p in linux-perf valgrind; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || optional+=("$p")
done
if [ ${#optional[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${optional[@]}" >/dev/null 2>&1 ||
    echo "bench: could not install ${optional[*]} (only needed to profile)" >&2
fi
