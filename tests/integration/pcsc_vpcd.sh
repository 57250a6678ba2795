#!/usr/bin/env bash
# The PC/SC stack end to end, without hardware: a private pcscd with one vpcd entry (two slots),
# tiny cards served by our vpcd client (vpcd_echo_card), then the real outside tools (pcsc_scan,
# opensc-tool, scriptor) and our own backend (pcsc_probe) must see the same readers, ATRs and
# answers; warm/cold reset, card removal during a transmit and reinsertion are checked too.
set -euo pipefail
source "${CARDHARNESS_SOURCE_DIR:?}/tests/integration/lib/pcscd.sh"
require_root_or_skip
require_vpcd_or_skip
tools=${CARDHARNESS_TOOLS_DIR:?}
for t in vpcd_echo_card pcsc_probe; do
    [ -x "$tools/$t" ] || skip_test "$tools/$t is not built"
done
for t in jq pcsc_scan opensc-tool scriptor; do
    command -v "$t" >/dev/null || skip_test "$t not found"
done

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
expect_eq() { # <what> <expected> <actual>
    [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
    echo "ok: $1"
}
expect_match() { # <what> <regex> <text>
    grep -Eq -- "$2" <<<"$3" || fail "$1: expected /$2/ in: $3"
    echo "ok: $1"
}

make_test_dir dir
probe=$tools/pcsc_probe
echo_card=$tools/vpcd_echo_card
select_aid="00 A4 04 00 07 F0 43 48 45 43 48 4F"
echo_atr="3B 85 81 31 FE 45 43 48 45 43 48 CB" # T=1 contact ATR, no smartcard_list entry
juki_atr="3B E0 00 FF 81 31 FE 45 14"

# No pcscd behind the socket: our backend reports an environment problem (exit code 3).
rc=0
PCSCLITE_CSOCK_NAME=$dir/absent/pcscd.comm "$probe" list >/dev/null 2>"$dir/absent.err" || rc=$?
expect_eq "no pcscd -> exit 3" 3 "$rc"
expect_match "no pcscd message" "SCARD_E_NO_SERVICE" "$(cat "$dir/absent.err")"

port=$(pick_free_port_pair)
write_vpcd_reader_conf "$dir/reader.conf" "$port" "Virtual PCD"
start_private_pcscd "$dir/reader.conf" "$dir/pcscd"
slot0="Virtual PCD 00 00"
slot1="Virtual PCD 00 01"

"$echo_card" --vpcd "127.0.0.1:$port" 2>"$dir/card0.log" &
cleanup_pid $!
"$echo_card" --vpcd "127.0.0.1:$((port + 1))" --atr "$juki_atr" --delay-ms 1500 2>"$dir/card1.log" &
slow_card=$!
cleanup_pid "$slow_card"
"$probe" wait-card "$slot0" --timeout-ms 15000 || fail "no card in $slot0 after 15 s"
"$probe" wait-card "$slot1" --timeout-ms 15000 || fail "no card in $slot1 after 15 s"

# pcsc-tools: readers and cards.
scan_readers=$(timeout 10 pcsc_scan -r 2>&1)
expect_match "pcsc_scan -r lists slot 0" "0: $slot0" "$scan_readers"
expect_match "pcsc_scan -r lists slot 1" "1: $slot1" "$scan_readers"
scan_cards=$(timeout 10 pcsc_scan -c -n 2>&1 | tr -d '\r')
expect_match "pcsc_scan -c shows the echo ATR" "ATR: $echo_atr" "$scan_cards"
expect_match "pcsc_scan -c shows the Juki ATR" "ATR: $juki_atr" "$scan_cards"

# OpenSC: reader list with card presence, ATR, APDUs.
opensc_list=$(opensc-tool -l 2>&1)
expect_match "opensc-tool -l: card in slot 0" "^0 +Yes +.*$slot0" "$opensc_list"
expect_eq "opensc-tool -a" "3b:85:81:31:fe:45:43:48:45:43:48:cb" "$(opensc-tool -r 0 -a 2>&1 | tail -n 1)"
opensc_apdu=$(opensc-tool -r 0 -s "$select_aid" -s "80 10 00 00 02 CA FE" 2>&1)
expect_match "opensc-tool -s echo" "CA FE" "$opensc_apdu"

# scriptor: a script of APDUs, including a 258-byte response (Le = 00).
scriptor_out=$(printf '%s\n' "$select_aid" "80 10 00 00 03 01 02 03" "80 CA 00 00 00" "00 B0 00 00 01" |
    scriptor -r "$slot0" 2>&1)
expect_match "scriptor select" "< 90 00" "$scriptor_out"
expect_match "scriptor echo" "< 01 02 03 90 00" "$scriptor_out"
expect_match "scriptor 256 bytes" "F0 F1 F2 F3 F4 F5 F6 F7 F8 F9 FA FB FC FD FE FF" "$scriptor_out"
expect_match "scriptor unknown INS" "< 6D 00" "$scriptor_out"

# Our backend: reader list with state, ATR, and the attribute queries vpcd does not model.
list=$("$probe" list)
expect_eq "backend: two readers" 2 "$(jq length <<<"$list")"
expect_eq "backend: slot 0 name" "$slot0" "$(jq -r '.[0].name' <<<"$list")"
expect_eq "backend: slot 0 present" true "$(jq -r '.[0].state.present' <<<"$list")"
expect_eq "backend: slot 0 ATR" "$echo_atr" "$(jq -r '.[0].atr' <<<"$list")"
expect_eq "backend: slot 1 ATR" "$juki_atr" "$(jq -r '.[1].atr' <<<"$list")"
expect_eq "backend: slot 0 protocol" "T=1" "$(jq -r '.[0].protocol' <<<"$list")"
expect_eq "backend: vendor name unsupported by vpcd, kept as a failure" "SCARD_E_UNSUPPORTED_FEATURE" \
    "$(jq -r '.[0].failures[] | select(.query == "SCARD_ATTR_VENDOR_NAME") | .code_name' <<<"$list")"
expect_eq "backend: no features from vpcd" null "$(jq -r '.[0].features' <<<"$list")"


# `cardharness readers` says what a vpcd reader is (no USB device), not "USB ?:? maker """.
readers_text=$("$CARDHARNESS" readers)
expect_match "readers: vpcd slot named as a virtual reader" \
    "virtual reader \(vsmartcard vpcd\): no USB device" "$readers_text"
grep -qF 'USB ?:?' <<<"$readers_text" && fail "readers still prints USB ?:? for vpcd: $readers_text"
readers_json=$("$CARDHARNESS" readers --json)
expect_eq "readers --json: kind vpcd" "vpcd vpcd" \
    "$(jq -r '[.readers[] | select(.name | startswith("Virtual PCD")) | .kind] | join(" ")' <<<"$readers_json")"
expect_match "readers --json: kind_note_ja" "仮想リーダー" \
    "$(jq -r '.readers[0].kind_note_ja' <<<"$readers_json")"
expect_eq "readers --json: existing keys kept" "true" \
    "$(jq -r '.readers[0] | has("source") and has("join") and has("usb") and has("contactless")' <<<"$readers_json")"
# Our backend: transmit exact bytes (Lc 255, Le 256) and warm/cold reset.
data255=$(for i in $(seq 1 255); do printf '%02X' $((i % 256)); done)
out=$("$probe" transmit "$slot0" "$select_aid" "801000 00FF$data255" "80CA000000" "80CA000001" --reset warm)
expect_eq "backend: select" "90 00" "$(jq -r '.responses[0]' <<<"$out")"
expect_eq "backend: echo 255 bytes + SW" 257 "$(jq -r '.responses[1] | split(" ") | length' <<<"$out")"
expect_eq "backend: Le=00 gives 256 bytes + SW (258)" 258 \
    "$(jq -r '.responses[2] | split(" ") | length' <<<"$out")"
expect_eq "backend: Le=01" "00 90 00" "$(jq -r '.responses[3]' <<<"$out")"
expect_eq "backend: ATR after warm reset" "$echo_atr" "$(jq -r '.atr_after_reset' <<<"$out")"
out=$("$probe" transmit "$slot0" "$select_aid" --reset cold --exclusive)
expect_eq "backend: ATR after cold reset" "$echo_atr" "$(jq -r '.atr_after_reset' <<<"$out")"

# Card removal while a (1.5 s) command is in flight: a typed transport failure, not a hang.
(sleep 0.5 && kill -TERM "$slow_card") &
rc=0
out=$("$probe" transmit "$slot1" "80 10 00 00 02 CA FE") || rc=$?
echo "$out"
wait $! || true
expect_eq "removal during transmit -> exit 1" 1 "$rc"
expect_match "removal during transmit -> transport failure" \
    '"failure": "(card_removed|communication_error|reader_gone)"' "$out"
"$probe" wait-removal "$slot1" --timeout-ms 10000 || fail "$slot1 still shows a card"
state=$("$probe" list | jq -r '.[1].state.empty')
expect_eq "slot 1 empty after removal" true "$state"

# Reinsertion: a new card on the same slot is seen again.
"$echo_card" --vpcd "127.0.0.1:$((port + 1))" 2>>"$dir/card1.log" &
cleanup_pid $!
"$probe" wait-card "$slot1" --timeout-ms 15000 || fail "no card in $slot1 after reinsertion"
out=$("$probe" transmit "$slot1" "$select_aid")
expect_eq "reinserted card answers" "90 00" "$(jq -r '.responses[0]' <<<"$out")"

echo "pcsc_vpcd: all checks passed"
