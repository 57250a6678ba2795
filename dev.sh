#!/usr/bin/env bash
# cardharness developer entry point.
#   ./dev.sh run    install what is missing, build, and run the main job on the virtual lab
#   ./dev.sh test   the same set-up, then every test through ctest (preset ci), the unit tests
#                   again under ASan + UBSan (dev-unit), and each fuzz target for a bounded time
#   ./dev.sh setup  only install what is missing and build
#   ./dev.sh package  the Debian package (CPack): prints the path of
#                   build/<preset>/cardharness_<version>_amd64.deb as its last line (preset
#                   release; $CARDHARNESS_PACKAGE_PRESET=ci packages the CI build instead)
#   ./dev.sh bench  build release and run every benchmark in bench/ (table of ratios; root for the lab)
#   ./dev.sh format clang-format every C++ file in place
set -euo pipefail
cd "$(dirname "$0")"

# Debian 12 packages: to build, then to run and test on real stacks (pcscd, vpcd, umockdev...).
BUILD_PACKAGES=(g++ cmake ninja-build pkg-config git ca-certificates
    libpcsclite-dev libusb-1.0-0-dev libumockdev-dev libsqlite3-dev libsqlitecpp-dev libfccp-dev
    libboost-test-dev libssl-dev libcli11-dev libfmt-dev nlohmann-json3-dev libpqxx-dev
    help2man dpkg-dev file # man page from --help; dpkg-shlibdeps (+ file) for CPack's Depends
    clang libclang-rt-14-dev) # clang + its runtimes (libFuzzer, ASan, UBSan): presets dev, fuzz
RUNTIME_PACKAGES=(pcscd libccid vsmartcard-vpcd umockdev pcsc-tools libpcsc-perl opensc openssl jq sqlite3
    util-linux procps postgresql
    poppler-utils) # pdftoppm, pdftotext, pdfinfo: the certificate page printed to PDF (tests)

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

# ccache, when installed, makes the three builds of ./dev.sh test mostly cache hits.
if command -v ccache >/dev/null 2>&1; then
    export CMAKE_C_COMPILER_LAUNCHER=${CMAKE_C_COMPILER_LAUNCHER:-ccache}
    export CMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER:-ccache}
fi

build() { # configure preset [build preset]
    local preset=$1 build_preset=${2:-$1}
    log "configuring and building (preset $build_preset)"
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$build_preset" -j "$(nproc)"
}

# The main job on the virtual lab: emulated My Number and Juki cards behind reader models with
# real-world quirks, as emulated USB CCID readers under a private pcscd with the system's libccid
# (needs root); every reader gets every card it can take (--matrix).
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
    log "cardharness run --all --matrix   (every reader with every card: My Number and Juki, contact and contactless)"
    "$bin" run --all --matrix || rc=$?
    # 1 = some reader is incompatible, as several lab readers are built to be; 2/3 are errors.
    [ "$rc" -le 1 ] || exit "$rc"
    if "$bin" report --help >/dev/null 2>&1; then
        mkdir -p reports/out
        "$bin" report --format html --latest --out reports/out/lab-report.html
        log "HTML report: $PWD/reports/out/lab-report.html"
    fi
}

# Runs every benchmark of a build tree (bench/README.md) and prints the table of their RESULT
# lines. Exit 1 when a benchmark failed to run; a missed goal is shown, not an error (a ratio on
# a shared machine is a measurement, not a verdict).
run_benchmarks() {
    local dir=$1/bench b name out rc failed=0
    local rows=()
    for b in "$dir"/bench_*; do
        [ -x "$b" ] || continue
        name=$(basename "$b")
        log "$name"
        rc=0
        out=$("$b" 2>&1) || rc=$?
        grep -v '^RESULT' <<<"$out" >&2 || true
        case "$rc" in
        0) while IFS= read -r line; do rows+=("$line"); done < <(grep '^RESULT' <<<"$out" || true) ;;
        77) rows+=("$(printf 'RESULT\t%s\t-\t-\t-\t-\tskipped\t-' "$name")") ;;
        *)
            rows+=("$(printf 'RESULT\t%s\t-\t-\t-\t-\tFAILED (exit %s)\t-' "$name" "$rc")")
            failed=1
            ;;
        esac
    done
    printf '\n%-36s %12s %12s %-4s %8s  %-16s %s\n' benchmark candidate baseline unit ratio goal met
    local tag bname cand base unit ratio goal met
    for line in "${rows[@]}"; do
        IFS=$'\t' read -r tag bname cand base unit ratio goal met <<<"$line"
        printf '%-36s %12s %12s %-4s %8s  %-16s %s\n' "$bname" "$cand" "$base" "$unit" "$ratio" "$goal" "$met"
    done
    return "$failed"
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
    # chromium + CJK fonts: the HTML report is checked in a real browser.
    install_missing chromium fonts-noto-cjk
    rc=0
    build ci
    # CI: the package test installs and removes the .deb on this machine (skipped without this).
    export CARDHARNESS_PACKAGE_TEST=1
    log "running every test (ctest, preset ci)"
    ctest --preset ci -j "$(nproc)" || rc=1
    build dev dev-unit
    log "unit tests under AddressSanitizer + UndefinedBehaviorSanitizer (preset dev-unit)"
    # The PIN property test runs 2000 sequences in the ci build above; 400 under the sanitizers
    # (about 10 times slower) keep this step short.
    CARDHARNESS_PROPERTY_SEQUENCES=400 ctest --preset dev-unit -j "$(nproc)" || rc=1
    build fuzz
    log "fuzzing each libFuzzer target on its seed corpus (preset fuzz)"
    ctest --preset fuzz -j "$(nproc)" || rc=1
    exit "$rc"
    ;;
package)
    install_missing
    preset=${CARDHARNESS_PACKAGE_PRESET:-release}
    build "$preset"
    log "packaging (cpack -G DEB in build/$preset)"
    rm -f "build/$preset"/cardharness_*_amd64.deb
    (cd "build/$preset" && cpack -G DEB >&2)
    debs=("$PWD/build/$preset"/cardharness_*_amd64.deb)
    [ -f "${debs[0]}" ] || { log "cpack made no cardharness_*_amd64.deb"; exit 1; }
    log "install it with: apt-get install ${debs[0]}"
    echo "${debs[0]}"
    ;;
bench)
    install_missing valgrind # callgrind: bench_runner_apdu's instructions per row
    build release
    run_benchmarks build/release
    ;;
format)
    git ls-files '*.cpp' '*.hpp' | xargs clang-format -i
    ;;
*)
    echo "usage: ./dev.sh run|test|setup|bench|package|format" >&2
    exit 2
    ;;
esac
