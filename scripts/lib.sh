# Shared by scripts/demo and scripts/test: install what the build needs, then build.
# Idempotent: packages already installed are not fetched again.
set -euo pipefail

CERTLAB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian 12 packages: build tools, libraries, and what the tests run.
CERTLAB_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libusb-1.0-0-dev libserialport-dev libspdlog-dev libyaml-cpp-dev
  doctest-dev libsqlite3-dev libssl-dev libsystemd-dev nlohmann-json3-dev libcli11-dev
  sqlite3 python3 procps openssl
  umockdev libumockdev-dev libavahi-client-dev avahi-daemon avahi-utils dbus-daemon iproute2
  clang-14 libclang-rt-14-dev
  prometheus
  chromium chromium-driver systemd
  python3-jsonschema python3-yaml libxml2-utils
)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_packages() {
  local missing=()
  for p in "${CERTLAB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    log "packages: all ${#CERTLAB_PACKAGES[@]} present"
    return
  fi
  log "installing: ${missing[*]}"
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# build <dir> <build-type> [targets...]
build() {
  local dir="$1" type="$2"
  shift 2
  export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
  # Relative paths in the cache key, so every clone shares one cache; PCH-safe.
  export CCACHE_BASEDIR="$CERTLAB_ROOT"
  export CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
  log "configuring $dir ($type)"
  cmake -S "$CERTLAB_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" >/dev/null
  log "building"
  cmake --build "$dir" --parallel "$(nproc)" ${1:+--target "$@"}
}
