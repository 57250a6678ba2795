#!/usr/bin/env bash
# `cardharness emulate` end to end: emulated My Number and Juki cards served to vpcd slots of a
# private pcscd; OpenSC (a real JPKI client) binds its jpki driver and lists the certificates,
# our backend reads the token EF 0006. Also usage errors (exit 2), no vpcd (exit 3), and a clean
# exit on SIGTERM (card removed).
set -euo pipefail
source "${CARDHARNESS_SOURCE_DIR:?}/tests/integration/lib/pcscd.sh"
require_root_or_skip
require_vpcd_or_skip
cardharness=${CARDHARNESS:?}
probe=${CARDHARNESS_TOOLS_DIR:?}/pcsc_probe
[ -x "$cardharness" ] || skip_test "$cardharness is not built"
[ -x "$probe" ] || skip_test "$probe is not built"
for t in jq opensc-tool pkcs15-tool; do
    command -v "$t" >/dev/null || skip_test "$t not found"
done
"$cardharness" emulate --help >/dev/null 2>&1 || skip_test "cardharness has no emulate command"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
expect_eq() {
    [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
    echo "ok: $1"
}
expect_match() {
    grep -Eq -- "$2" <<<"$3" || fail "$1: expected /$2/ in: $3"
    echo "ok: $1"
}

make_test_dir dir
rc=0
"$cardharness" emulate --card no-such-card --vpcd 127.0.0.1:35963 2>/dev/null || rc=$?
expect_eq "unknown profile -> exit 2" 2 "$rc"
rc=0
"$cardharness" emulate --card mynumber --vpcd 127.0.0.1:0 2>/dev/null || rc=$?
expect_eq "bad port -> exit 2" 2 "$rc"
expect_match "profiles listed" "^juki$" "$("$cardharness" emulate --list)"

port=$(pick_free_port_pair)
rc=0
"$cardharness" emulate --card mynumber --vpcd "127.0.0.1:$port" --connect-timeout 1 -q || rc=$?
expect_eq "nobody listening -> exit 3" 3 "$rc"

write_vpcd_reader_conf "$dir/reader.conf" "$port" "Emulated"
start_private_pcscd "$dir/reader.conf" "$dir/pcscd"
slot0="Emulated 00 00"
slot1="Emulated 00 01"
"$cardharness" emulate --card mynumber --vpcd "127.0.0.1:$port" 2>"$dir/mynumber.log" &
mynumber=$!
cleanup_pid "$mynumber"
"$cardharness" emulate --card juki --vpcd "127.0.0.1:$((port + 1))" 2>"$dir/juki.log" &
cleanup_pid $!
# The first use of the emulator may generate its test PKI (a few seconds).
"$probe" wait-card "$slot0" --timeout-ms 60000 || fail "no My Number card in $slot0"
"$probe" wait-card "$slot1" --timeout-ms 60000 || fail "no Juki card in $slot1"

list=$("$probe" list)
expect_eq "My Number ATR" "3B DA 13 FF 81 31 FB 46 80 12 39 2F 31 C1 73 C6 01 C0 3B" \
    "$(jq -r '.[0].atr' <<<"$list")"
expect_eq "Juki ATR" "3B E0 00 FF 81 31 FE 45 14" "$(jq -r '.[1].atr' <<<"$list")"

jpki="00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"
token() { # <reader> -> token string of EF 0006 (printable bytes only, padding removed)
    local hex byte
    hex=$("$probe" transmit "$1" "$jpki" "00 A4 02 0C 02 00 06" "00 B0 00 00 20" |
        jq -r '.responses[2]' | sed 's/ 90 00$//')
    for byte in $hex; do
        [ $((16#$byte)) -gt 32 ] && [ $((16#$byte)) -lt 127 ] && printf "\\x$byte"
    done
    return 0
}
expect_eq "My Number token" "JPKIAPICCTOKEN2" "$(token "$slot0")"
expect_eq "Juki token" "JPKIAPICCTOKEN" "$(token "$slot1")"

# OpenSC, a real JPKI client, recognises both emulated cards.
expect_eq "opensc driver (My Number)" "jpki" "$(opensc-tool -r 0 -n 2>/dev/null | tail -n 1)"
expect_eq "opensc driver (Juki)" "jpki" "$(opensc-tool -r 1 -n 2>/dev/null | tail -n 1)"
certs=$(pkcs15-tool -r 0 --list-certificates 2>&1)
expect_match "pkcs15-tool lists the authentication certificate" "User Authentication Certificate" "$certs"

# SIGTERM = card removal: the command exits 0 and the reader becomes empty.
kill -TERM "$mynumber"
rc=0
wait "$mynumber" || rc=$?
expect_eq "emulate exits 0 on SIGTERM" 0 "$rc"
"$probe" wait-removal "$slot0" --timeout-ms 10000 || fail "$slot0 still shows a card"
echo "ok: card removed"
echo "emulate_vpcd: all checks passed"
