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
    libpcsclite-dev libusb-1.0-0-dev libumockdev-dev libsqlite3-dev libsqlitecpp-dev libfccp-dev
    libboost-test-dev libssl-dev libcli11-dev libfmt-dev nlohmann-json3-dev)
RUNTIME_PACKAGES=(pcscd libccid vsmartcard-vpcd umockdev pcsc-tools libpcsc-perl opensc openssl jq sqlite3
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

# The main job on the virtual lab: emulated My Number and Juki cards behind reader models with
# real-world quirks, served through a private pcscd and our reader driver (needs root).
main_job() {
    local bin=$1 rc=0
    if [ "$(id -u)" -ne 0 ]; then
        log "the virtual lab needs root (a private pcscd in a mount namespace): run as root"
        exit 3
    fi
    export CARDHARNESS_LAB_DIR=$PWD/results/lab
    "$bin" lab stop >/dev/null 2>&1 || true
    # The lab on USB: each lab reader an emulated USB CCID device, driven by the system's pcscd +
    # libccid + libusb (the path real readers take). `lab start` without --usb: our own driver.
    log "cardharness lab start --usb"
    local out line usb_env=()
    out=$("$bin" lab start --usb)
    trap "'$bin' lab stop >/dev/null 2>&1 || true" EXIT
    while IFS= read -r line; do
        case "$line" in
        "export PCSCLITE_CSOCK_NAME="*) export PCSCLITE_CSOCK_NAME=${line#export PCSCLITE_CSOCK_NAME=} ;;
        "export "*=*) usb_env+=("${line#export }") ;; # LD_PRELOAD, UMOCKDEV_DIR: only for `readers`
        esac
    done <<<"$out"
    log "cardharness readers   (PCSCLITE_CSOCK_NAME=$PCSCLITE_CSOCK_NAME, in the lab's USB environment)"
    env "${usb_env[@]}" "$bin" readers
    log "cardharness identify"
    "$bin" identify || true # the no-PPS lab reader cannot power its card: that is its quirk
    log "cardharness run --all   (every reader, every suite that fits its card)"
    "$bin" run --all || rc=$?
    # 1 = some reader is incompatible, as several lab readers are built to be; 2/3 are errors.
    [ "$rc" -le 1 ] || exit "$rc"
    if "$bin" report --help >/dev/null 2>&1; then
        mkdir -p reports/out
        "$bin" report --format html --latest --out reports/out/lab-report.html
        log "HTML report: $PWD/reports/out/lab-report.html"
    fi
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
    main_job build/release/bin/cardharness
    ;;
test)
    install_missing chromium fonts-noto-cjk # the HTML report is checked in a real browser
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
