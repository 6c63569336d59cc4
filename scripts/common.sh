# Shared by scripts/quickstart.sh and scripts/test.sh: install what is missing (Debian 12
# packages only), then configure and build wfo in ./build.
set -euo pipefail

WFO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WFO_BUILD="${WFO_BUILD:-$WFO_ROOT/build}"

# Everything wfo needs to build, test and run its example workflows.
WFO_PACKAGES=(
  g++ cmake ninja-build pkg-config
  libcli11-dev libyaml-dev libsqlitecpp-dev libsqlite3-dev libspdlog-dev libfmt-dev
  doctest-dev nlohmann-json3-dev libssl-dev libre2-dev
  python3 sqlite3 graphviz googletest libxml2-utils procps
  clang-19 libclang-rt-19-dev
  # the CLI's e2e tests: shells for completions, man page linters, promtool, pseudo-terminals
  bash-completion zsh fish mandoc groff prometheus tmux bsdutils
)

wfo_install_missing() {
  local missing=()
  for p in "${WFO_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "wfo: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

wfo_build() {
  local jobs
  jobs="$(nproc 2>/dev/null || echo 2)"
  cmake -S "$WFO_ROOT" -B "$WFO_BUILD" -G Ninja -DCMAKE_BUILD_TYPE="${WFO_BUILD_TYPE:-RelWithDebInfo}" \
    -DWFO_WERROR=ON "$@" >/dev/null
  cmake --build "$WFO_BUILD" -j "$jobs"
}
