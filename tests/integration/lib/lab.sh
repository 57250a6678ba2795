# shellcheck shell=bash
# Virtual lab for integration tests (source this file; needs bash, root, unshare, pcscd).
#
#   source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
#   lab_require_or_skip                 # exit 77 unless root, pcscd, unshare, the driver, the CLI
#   lab_start [--lab FILE]              # own short temp dir; exports PCSCLITE_CSOCK_NAME, LAB_DIR,
#                                       # CARDHARNESS_STATE_DIR ($LAB_DIR/state)
#   ... outside tools and ours reach the lab readers through pcscd ...
#   (the EXIT trap runs `lab stop`, kills leftovers by pid and removes the dir, also on failure)
#
# Each test gets its own lab dir, lab socket, pcscd and /run/pcscd bind mount, so labs of tests
# running in parallel never meet.

LAB_DIR=""
LAB_PID=""
LAB_PCSCD_PID=""
LAB_TOOLS_DIR=${CARDHARNESS_TOOLS_DIR:-}

lab_skip() {
    echo "SKIPPED: $*" >&2
    exit 77
}

lab_fail() {
    echo "FAIL: $*" >&2
    exit 1
}

lab_require_or_skip() {
    [ "$(id -u)" -eq 0 ] || lab_skip "needs root (private pcscd inside a mount namespace)"
    local tool
    for tool in pcscd unshare jq; do
        command -v "$tool" >/dev/null 2>&1 || lab_skip "$tool not found"
    done
    unshare -m --propagation private true 2>/dev/null || lab_skip "unshare -m is not permitted here"
    [ -n "${CARDHARNESS:-}" ] && [ -x "$CARDHARNESS" ] || lab_skip "CARDHARNESS binary not set or not built"
    [ -n "${CARDHARNESS_IFD_DRIVER:-}" ] && [ -e "$CARDHARNESS_IFD_DRIVER" ] ||
        lab_skip "reader driver not built (CARDHARNESS_IFD_DRIVER=${CARDHARNESS_IFD_DRIVER:-})"
    export CARDHARNESS_IFD_DRIVER
}

# lab_require_usb_or_skip: also what `lab start --usb` needs (umockdev's preload, the CCID driver).
lab_require_usb_or_skip() {
    lab_require_or_skip
    local lib found=""
    for lib in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
        [ -e "$lib/libumockdev-preload.so.0" ] && found=1
    done
    [ -n "$found" ] || lab_skip "umockdev's preload library not installed (apt-get install umockdev)"
    [ -e /usr/lib/pcsc/drivers/ifd-ccid.bundle/Contents/Linux/libccid.so ] ||
        lab_skip "the CCID driver is not installed (apt-get install libccid)"
}

lab_cleanup() {
    local rc=$?
    if [ -n "$LAB_DIR" ]; then
        if [ -f "$LAB_DIR/state.json" ]; then
            LAB_PID=$(jq -r '.pid // empty' "$LAB_DIR/state.json" 2>/dev/null || true)
            LAB_PCSCD_PID=$(jq -r '.pcscd_pid // empty' "$LAB_DIR/state.json" 2>/dev/null || true)
            timeout 20 "$CARDHARNESS" lab stop --dir "$LAB_DIR" >/dev/null 2>&1 || true
        fi
        local pid
        for pid in $LAB_PCSCD_PID $LAB_PID; do
            if [ -n "$pid" ] && [ "$pid" -gt 0 ] && ! lab_process_gone "$pid"; then
                kill -TERM "$pid" 2>/dev/null || true
                sleep 0.5
                kill -KILL "$pid" 2>/dev/null || true
            fi
        done
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
            echo "--- lab.log" >&2
            tail -n 40 "$LAB_DIR/lab.log" >&2 2>/dev/null || true
            echo "--- pcscd.log" >&2
            tail -n 40 "$LAB_DIR/pcscd.log" >&2 2>/dev/null || true
        fi
        rm -rf "$LAB_DIR"
    fi
    exit "$rc"
}

# lab_start [lab start options...]: starts a lab in a fresh short folder (Unix socket paths are
# limited to 107 bytes) and exports PCSCLITE_CSOCK_NAME. With --usb, the USB environment the lab
# prints (LD_PRELOAD, UMOCKDEV_DIR) goes to the array LAB_USB_ENV, never exported: run a client
# that should see the emulated USB devices as `env "${LAB_USB_ENV[@]}" cmd`.
LAB_USB_ENV=()
lab_start() {
    LAB_DIR=$(mktemp -d /tmp/chlab.XXXXXX)
    trap lab_cleanup EXIT
    # Station state (station key, remembered failed PINs) of this test only.
    export CARDHARNESS_STATE_DIR=$LAB_DIR/state
    local out line
    out=$(timeout 150 "$CARDHARNESS" lab start --dir "$LAB_DIR" "$@") || lab_fail "lab start failed"
    PCSCLITE_CSOCK_NAME=""
    while IFS= read -r line; do
        case "$line" in
        "export PCSCLITE_CSOCK_NAME="*) PCSCLITE_CSOCK_NAME=${line#export PCSCLITE_CSOCK_NAME=} ;;
        "export "*=*) LAB_USB_ENV+=("${line#export }") ;;
        esac
    done <<<"$out"
    [ -n "$PCSCLITE_CSOCK_NAME" ] || lab_fail "lab start printed no PCSCLITE_CSOCK_NAME: $out"
    [ -S "$PCSCLITE_CSOCK_NAME" ] || lab_fail "no pcscd socket at $PCSCLITE_CSOCK_NAME"
    export PCSCLITE_CSOCK_NAME LAB_DIR
}

# lab_process_gone PID: true when the process has ended. An ended process whose parent has not
# reaped it yet (a zombie: the lab process is a daemon, init reaps it when it gets to it) counts
# as gone: it runs nothing and holds no socket.
lab_process_gone() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
    [ -z "$state" ] || [ "${state#Z}" != "$state" ]
}

# The PC/SC reader name of a lab slot (from lab status).
lab_reader() {
    "$CARDHARNESS" lab status --dir "$LAB_DIR" --json |
        jq -er --arg s "$1" '.slots[] | select(.slot == $s) | .pcsc_reader'
}

# Hex of an ASCII string, packed ("1234" -> 31323334).
ascii_hex() {
    printf '%s' "$1" | od -An -tx1 | tr -d ' \n'
}

# APDUs of the JPKI application (domain.md §2-§4).
JPKI_SELECT=00A4040C0AD392F000260100000001
EF_AUTH_CERT=00A4020C02000A
# DigestInfo for SHA-256 of 32 zero bytes (the content does not matter to the reader).
DIGEST_INFO=3031300D060960864801650304020105000420$(printf '%064d' 0)
SIGN_APDU=802A008033${DIGEST_INFO}00
