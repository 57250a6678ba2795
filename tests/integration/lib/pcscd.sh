# shellcheck shell=bash
# A private pcscd for integration tests (source this file; needs bash, root, unshare, pcscd).
#
#   source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/pcscd.sh"
#   require_root_or_skip
#   make_test_dir dir                             # sets $dir; removed again by the exit trap
#   port=$(pick_free_port_pair)                   # PORT and PORT+1 both free
#   write_vpcd_reader_conf "$dir/reader.conf" "$port"
#   start_private_pcscd "$dir/reader.conf" "$dir/pcscd"
#   ... clients (pcsc_scan, opensc-tool, cardharness) now reach it through PCSCLITE_CSOCK_NAME ...
#   stop_private_pcscd                            # also done by the exit trap
#
# The library owns the EXIT trap: do not set your own; register background processes with
# `cleanup_pid PID` (killed before pcscd) and folders with make_test_dir. Exit 77 = skipped.
# CARDHARNESS_KEEP_TEST_DIRS=1 keeps the folders (pcscd.log, card logs) for debugging.
#
# How the isolation works (domain.md §11): pcscd 1.9.9 always serves /run/pcscd/pcscd.comm and
# ignores PCSCLITE_CSOCK_NAME, so it runs inside `unshare -m` with a private folder bind-mounted
# over /run/pcscd; clients (libpcsclite) honour PCSCLITE_CSOCK_NAME=<folder>/pcscd.comm by
# themselves. `-c <dir>` replaces /etc/reader.conf.d, and the USB driver bundles are hidden inside
# the namespace (empty tmpfs over each *.bundle) so hotplug never adds a real USB reader; set
# CARDHARNESS_PCSCD_USB=1 to keep them. Everything started here is stopped by an EXIT trap, also
# when the test fails, and a watchdog kills pcscd if the test shell dies without running traps.

CARDHARNESS_PCSCD_PID=""
CARDHARNESS_PCSCD_WATCHDOG_PID=""
CARDHARNESS_PCSCD_DIR=""
CARDHARNESS_PCSCD_LOG=""
CARDHARNESS_TEST_DIRS=()
CARDHARNESS_CLEANUP_PIDS=()
CARDHARNESS_VPCD_DRIVER=${CARDHARNESS_VPCD_DRIVER:-/usr/lib/pcsc/drivers/serial/libifdvpcd.so}
CARDHARNESS_PCSC_DRIVERS_DIR=${CARDHARNESS_PCSC_DRIVERS_DIR:-/usr/lib/pcsc/drivers}

skip_test() {
    echo "SKIPPED: $*" >&2
    exit 77
}

# Exit 77 (ctest "skipped") unless we are root and unshare, mount and pcscd are available.
require_root_or_skip() {
    [ "$(id -u)" -eq 0 ] || skip_test "needs root (private pcscd inside unshare -m)"
    local tool
    for tool in unshare mount pcscd; do
        command -v "$tool" >/dev/null 2>&1 || skip_test "$tool not found"
    done
    unshare -m --propagation private true 2>/dev/null ||
        skip_test "unshare -m is not permitted here (container without CAP_SYS_ADMIN?)"
}

# Exit 77 unless the vpcd driver (Debian vsmartcard-vpcd) is installed.
require_vpcd_or_skip() {
    [ -e "$CARDHARNESS_VPCD_DRIVER" ] || skip_test "vpcd driver not found at $CARDHARNESS_VPCD_DRIVER"
}

# Registers a PID to be killed (TERM, then KILL) by the exit trap, before pcscd is stopped.
cleanup_pid() {
    CARDHARNESS_CLEANUP_PIDS+=("$1")
}

# make_test_dir <variable>: a fresh temporary folder in <variable>, removed by the exit trap
# (not $(make_test_dir): a command substitution could not register it for removal).
make_test_dir() {
    local d
    d=$(mktemp -d "${TMPDIR:-/tmp}/cardharness-test.XXXXXX")
    CARDHARNESS_TEST_DIRS+=("$d")
    printf -v "$1" "%s" "$d"
}

_cardharness_port_in_use() {
    local port_hex
    port_hex=$(printf '%04X' "$1")
    # /proc/net/tcp{,6}: local_address is ADDR:PORT in hex; any state (LISTEN, TIME_WAIT...) counts.
    awk -v p=":$port_hex" 'NR > 1 && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# Prints a random high port P such that P and P+1 are both free (each vpcd entry opens two slots).
pick_free_port_pair() {
    local tries port
    for tries in $(seq 1 200); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        [ $((port % 2)) -eq 0 ] || port=$((port + 1))
        if ! _cardharness_port_in_use "$port" && ! _cardharness_port_in_use $((port + 1)); then
            echo "$port"
            return 0
        fi
    done
    echo "pick_free_port_pair: no free port pair found" >&2
    return 1
}

# write_vpcd_reader_conf <file> <port> [<friendly name>] [<port> ...]
# Appends one vpcd entry per port (each opens slots on PORT and PORT+1, named "<name> 0N 00"
# and "<name> 0N 01"). vpcd listens on the port; our vpcd client (or a vicc) connects to it.
write_vpcd_reader_conf() {
    local file=$1 port=$2 name=${3:-Virtual PCD}
    {
        echo "FRIENDLYNAME \"$name\""
        echo "DEVICENAME   /dev/null:$port"
        echo "LIBPATH      $CARDHARNESS_VPCD_DRIVER"
        echo
    } >>"$file"
}

# write_ifd_reader_conf <file> <friendly name> <driver .so> <device name>
# Appends an entry for any serial-style IFD handler (e.g. our own ifdcardharness driver).
write_ifd_reader_conf() {
    local file=$1 name=$2 driver=$3 device=$4
    {
        echo "FRIENDLYNAME \"$name\""
        echo "DEVICENAME   $device"
        echo "LIBPATH      $driver"
        echo
    } >>"$file"
}

# start_private_pcscd <reader.conf file> <dir> [extra pcscd options...]
# Runs pcscd -f in its own mount namespace with <dir> over /run/pcscd, waits for
# <dir>/pcscd.comm and exports PCSCLITE_CSOCK_NAME. The log is <dir>/pcscd.log.
start_private_pcscd() {
    local conf=$1 dir=$2
    shift 2
    [ -f "$conf" ] || { echo "start_private_pcscd: no such reader.conf: $conf" >&2; return 2; }
    [ -z "$CARDHARNESS_PCSCD_PID" ] || { echo "start_private_pcscd: already running" >&2; return 2; }
    mkdir -p "$dir/reader.conf.d"
    dir=$(cd "$dir" && pwd)
    cp "$conf" "$dir/reader.conf.d/reader.conf"
    rm -f "$dir/pcscd.comm" "$dir/pcscd.pid"
    CARDHARNESS_PCSCD_DIR=$dir
    CARDHARNESS_PCSCD_LOG=$dir/pcscd.log
    _cardharness_install_trap
    # /run/pcscd must exist as a mount point; an empty folder there is harmless for the host.
    mkdir -p /run/pcscd
    local hide_usb=1
    [ "${CARDHARNESS_PCSCD_USB:-0}" = 1 ] && hide_usb=0
    local debug=()
    [ "${CARDHARNESS_PCSCD_DEBUG:-1}" = 1 ] && debug=(-d)
    # shellcheck disable=SC2016
    unshare -m --propagation private bash -c '
        set -e
        dir=$1 drivers=$2 hide_usb=$3
        shift 3
        mount --bind "$dir" /run/pcscd
        if [ "$hide_usb" = 1 ]; then
            for bundle in "$drivers"/*.bundle; do
                [ -d "$bundle" ] && mount -t tmpfs -o ro,size=4k cardharness-no-usb "$bundle"
            done
        fi
        exec pcscd "$@"
    ' cardharness-pcscd "$dir" "$CARDHARNESS_PCSC_DRIVERS_DIR" "$hide_usb" \
        -f "${debug[@]}" -c "$dir/reader.conf.d" "$@" >"$CARDHARNESS_PCSCD_LOG" 2>&1 &
    CARDHARNESS_PCSCD_PID=$!
    # The watchdog ends pcscd if this shell disappears without running its traps (SIGKILL).
    (
        trap - EXIT
        while kill -0 "$$" 2>/dev/null && kill -0 "$CARDHARNESS_PCSCD_PID" 2>/dev/null; do
            sleep 1
        done
        kill -TERM "$CARDHARNESS_PCSCD_PID" 2>/dev/null || true
    ) >/dev/null 2>&1 </dev/null &
    CARDHARNESS_PCSCD_WATCHDOG_PID=$!
    local i
    for i in $(seq 1 100); do
        if [ -S "$dir/pcscd.comm" ]; then
            export PCSCLITE_CSOCK_NAME="$dir/pcscd.comm"
            return 0
        fi
        if ! kill -0 "$CARDHARNESS_PCSCD_PID" 2>/dev/null; then
            echo "start_private_pcscd: pcscd exited early; its log:" >&2
            cat "$CARDHARNESS_PCSCD_LOG" >&2
            CARDHARNESS_PCSCD_PID=""
            return 1
        fi
        sleep 0.1
    done
    echo "start_private_pcscd: $dir/pcscd.comm did not appear within 10 s; pcscd log:" >&2
    cat "$CARDHARNESS_PCSCD_LOG" >&2
    stop_private_pcscd
    return 1
}

# Stops the private pcscd (TERM, then KILL after 5 s) and unsets PCSCLITE_CSOCK_NAME.
stop_private_pcscd() {
    local pid=$CARDHARNESS_PCSCD_PID i
    CARDHARNESS_PCSCD_PID=""
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    if [ -n "$CARDHARNESS_PCSCD_WATCHDOG_PID" ]; then
        kill "$CARDHARNESS_PCSCD_WATCHDOG_PID" 2>/dev/null || true
        wait "$CARDHARNESS_PCSCD_WATCHDOG_PID" 2>/dev/null || true
        CARDHARNESS_PCSCD_WATCHDOG_PID=""
    fi
    unset PCSCLITE_CSOCK_NAME
}

# Prints the private pcscd's log (for a failing test's output).
show_pcscd_log() {
    [ -n "$CARDHARNESS_PCSCD_LOG" ] && [ -f "$CARDHARNESS_PCSCD_LOG" ] || return 0
    echo "---- pcscd log (last ${1:-60} lines) ----" >&2
    tail -n "${1:-60}" "$CARDHARNESS_PCSCD_LOG" >&2
}

# wait_for <seconds> <command...>: retries the command every 0.2 s until it succeeds.
wait_for() {
    local seconds=$1 i
    shift
    for i in $(seq 1 $((seconds * 5))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}

_cardharness_cleanup() {
    local status=$? pid
    trap - EXIT
    if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
        show_pcscd_log 80
    fi
    for pid in "${CARDHARNESS_CLEANUP_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${CARDHARNESS_CLEANUP_PIDS[@]}"; do
        local i
        for i in $(seq 1 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    stop_private_pcscd
    local d
    for d in "${CARDHARNESS_TEST_DIRS[@]}"; do
        [ "${CARDHARNESS_KEEP_TEST_DIRS:-0}" = 1 ] && { echo "kept $d" >&2; continue; }
        rm -rf "$d"
    done
    exit "$status"
}

_cardharness_install_trap() {
    trap _cardharness_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

_cardharness_install_trap
