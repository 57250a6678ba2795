#!/usr/bin/env bash
# cardharness developer entry point.
#   ./dev.sh run    install what is missing, build, and run the main job on the virtual lab
#   ./dev.sh test   the same set-up, then every test through ctest
#   ./dev.sh setup  only install what is missing and build
#   ./dev.sh format clang-format every C++ file in place
set -euo pipefail
cd "$(dirname "$0")"

# Debian 12 packages: to build, then to run and test on real stacks (pcscd, vpcd, umockdev...).
BUILD_PACKAGES=(g++ cmake ninja-build pkg-config git ca-certificates
    libpcsclite-dev libusb-1.0-0-dev libsqlite3-dev libsqlitecpp-dev libfccp-dev
    libboost-test-dev libssl-dev libcli11-dev libfmt-dev nlohmann-json3-dev)
RUNTIME_PACKAGES=(pcscd libccid vsmartcard-vpcd umockdev pcsc-tools opensc openssl jq sqlite3
    util-linux procps)

log() { printf '==> %s\n' "$*" >&2; }

install_missing() {
    local missing=() pkg
    for pkg in "${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        log "missing Debian packages: ${missing[*]}"
        log "install them as root (apt-get install ${missing[*]}) or run this script as root"
        exit 3
    fi
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {
    local preset=$1
    log "configuring and building (preset $preset)"
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset" -j "$(nproc)"
}

cmd=${1:-}
case "$cmd" in
setup)
    install_missing
    build release
    ;;
run)
    install_missing
    build release
    bin=build/release/bin/cardharness
    log "cardharness readers"
    "$bin" readers
    ;;
test)
    install_missing
    build ci
    log "running every test (ctest)"
    ctest --preset ci -j "$(nproc)"
    ;;
format)
    git ls-files '*.cpp' '*.hpp' | xargs clang-format -i
    ;;
*)
    echo "usage: ./dev.sh run|test|setup|format" >&2
    exit 2
    ;;
esac
